"""Sentence vectors in Python, the same ones the webview computes.

    from ml.embed import embed
    vectors = embed(["Buy milk", "Kauf Milch"])   # (2, 512) float32, unit rows

It runs ml.encoder's network with the weights exactly as the shipped TF.js model
holds them (quantised and dequantised the same way), the same token table
lookup, and ml.tokenize's tokenizer and long-note policy, so a vector made here
matches the app's to cosine >= 0.9999 (tests/webui/test_encoder_parity.py).

Vectors are cached in .cache/embeddings.sqlite, keyed by model id and the text's
SHA-256: asking again for the same texts is a lookup. The first uncached call
imports TensorFlow and loads the weights (about 15 s).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from functools import cache
from pathlib import Path

import numpy as np

from ml import build_encoder, encoder, tokenize

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "embeddings.sqlite"


@cache
def model_id() -> str:
    """The id of the model these vectors come from (as in the webview's manifest)."""
    return build_encoder.model_id(encoder.check_source())


@cache
def _network() -> encoder.Network:
    src = encoder.load_source()
    return encoder.Network(src.table, build_encoder.shipped_dense(src.dense), src.eps)


def _compute(texts: Sequence[str], batch_size: int) -> np.ndarray:
    network = _network()
    owner: list[int] = []
    rows: list[list[int]] = []
    for i, text in enumerate(texts):
        for ids in tokenize.chunk(tokenize.encode(text)):
            owner.append(i)
            rows.append(ids)
    # Batches of similar lengths, so little of the work is padding.
    order = sorted(range(len(rows)), key=lambda r: len(rows[r]))
    sums = np.zeros((len(texts), encoder.EMB_DIM), np.float64)
    for start in range(0, len(order), batch_size):
        part = order[start:start + batch_size]
        vectors = network([rows[r] for r in part])
        np.add.at(sums, [owner[r] for r in part], vectors)
    return (sums / np.linalg.norm(sums, axis=1, keepdims=True)).astype(np.float32)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _batches(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def embed(texts: Sequence[str], batch_size: int = 64, use_cache: bool = True) -> np.ndarray:
    """Vectors (len(texts), 512) float32, L2-normalised, for notes' texts.

    batch_size: token rows per forward pass (a long text is several rows).
    use_cache: read and fill .cache/embeddings.sqlite.
    """
    texts = list(texts)
    if not use_cache:
        return _compute(texts, batch_size) if texts else np.zeros((0, encoder.EMB_DIM), np.float32)
    mid = model_id()
    digests = [_digest(t) for t in texts]
    found: dict[str, np.ndarray] = {}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(CACHE, timeout=60)) as db:
        db.execute("CREATE TABLE IF NOT EXISTS vectors (model_id TEXT, sha256 TEXT, "
                   "vector BLOB, PRIMARY KEY (model_id, sha256)) WITHOUT ROWID")
        for part in _batches(sorted(set(digests))):
            marks = ",".join("?" * len(part))
            query = f"SELECT sha256, vector FROM vectors WHERE model_id = ? AND sha256 IN ({marks})"
            for sha, blob in db.execute(query, [mid, *part]):
                found[sha] = np.frombuffer(blob, np.float32)
        todo = {d: t for d, t in zip(digests, texts, strict=True) if d not in found}
        if todo:
            fresh = _compute(list(todo.values()), batch_size)
            found.update(zip(todo, fresh, strict=True))
            with db:
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                               [(mid, d, found[d].tobytes()) for d in todo])
    out = np.zeros((len(texts), encoder.EMB_DIM), np.float32)
    for i, d in enumerate(digests):
        out[i] = found[d]
    return out
