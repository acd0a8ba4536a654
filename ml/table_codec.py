"""The token table's file: its 6-bit codes Huffman-coded, each row addressable alone.

The source stores 128,010 x 512 codes of 6 bits one per byte (65.5 MB), but they
carry 2.8 bits each once every chunk (row r is in chunk r % 17, the source's own
quantisation groups) has its own code: so each chunk gets a canonical Huffman
code over the 64 symbols, at most MAX_BITS long, and the file is

    offsets  uint32 little-endian [rows]: where each row's bits start in the stream
    stream   the rows' codewords in row order, most significant bit first,
             followed by PAD zero bytes

so a reader decodes just the rows it needs with one table lookup per code
(webui/worker/token_table.js; `decode` here). The code lengths go in the manifest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

SYMBOLS = 64
# Longest codeword. A decoder peeks this many bits and looks them up in a table of
# 2**MAX_BITS entries per chunk; 12 bits cost nothing measurable over unlimited codes.
MAX_BITS = 12
# A reader peeks three bytes from a codeword's first byte; these keep the peek at
# the last codeword inside the file.
PAD = 2
FORMAT = "huffman-rows-1"


@dataclass(frozen=True)
class EncodedTable:
    data: bytes  # the file: offsets, then the stream
    lengths: np.ndarray  # (chunks, SYMBOLS) uint8 code length per symbol, 0 = unused


def limited_lengths(counts: np.ndarray, max_bits: int = MAX_BITS) -> np.ndarray:
    """Optimal code lengths of at most max_bits for symbol counts (package-merge)."""
    used = [int(s) for s in np.flatnonzero(counts)]
    lengths = np.zeros(len(counts), np.uint8)
    if len(used) > 1 << max_bits:
        raise ValueError(f"{len(used)} symbols do not fit codes of {max_bits} bits")
    if len(used) == 1:
        lengths[used] = 1
        return lengths
    leaves = sorted((int(counts[s]), (s,)) for s in used)
    items = leaves
    for _ in range(max_bits - 1):
        # Pairs of neighbours; an odd last item is not packaged.
        pairs = zip(items[0:-1:2], items[1::2], strict=True)
        packages = [(a[0] + b[0], a[1] + b[1]) for a, b in pairs]
        items = sorted(leaves + packages, key=lambda item: item[0])
    for _, symbols in items[: 2 * len(used) - 2]:
        for s in symbols:
            lengths[s] += 1
    return lengths


def canonical_codes(lengths: np.ndarray) -> np.ndarray:
    """Canonical codewords for the lengths: shorter first, then by symbol."""
    codes = np.zeros(len(lengths), np.uint32)
    code, previous = 0, 0
    for s in sorted(np.flatnonzero(lengths), key=lambda s: (lengths[s], s)):
        code <<= int(lengths[s]) - previous
        previous = int(lengths[s])
        codes[s] = code
        code += 1
    return codes


def lookup(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per chunk, the symbol and code length for every MAX_BITS-bit peek."""
    chunks = lengths.shape[0]
    symbol = np.zeros((chunks, 1 << MAX_BITS), np.uint8)
    length = np.zeros((chunks, 1 << MAX_BITS), np.uint8)
    for c in range(chunks):
        codes = canonical_codes(lengths[c])
        for s in np.flatnonzero(lengths[c]):
            free = MAX_BITS - int(lengths[c, s])
            span = slice(int(codes[s]) << free, (int(codes[s]) + 1) << free)
            symbol[c, span] = s
            length[c, span] = lengths[c, s]
    return symbol, length


def encode(codes: np.ndarray, chunks: int, rows_per_block: int = 8192) -> EncodedTable:
    """The file for a (rows, dim) uint8 table whose row r belongs to chunk r % chunks."""
    rows = codes.shape[0]
    chunk = np.arange(rows) % chunks
    lengths = np.stack([
        limited_lengths(np.bincount(codes[c::chunks].ravel(), minlength=SYMBOLS))
        for c in range(chunks)
    ])
    codewords = np.stack([canonical_codes(lengths[c]) for c in range(chunks)]).astype(np.uint64)
    row_bits = lengths[chunk[:, None], codes].sum(axis=1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(row_bits)])
    total = int(starts[-1])
    if total >= 1 << 32:
        raise ValueError("table too large for 32-bit bit offsets")
    # 32-bit words, each codeword ORed in where it starts. Codewords never overlap,
    # so a sum is the OR, and bincount sums exactly (float64, below 2**53).
    words = np.zeros(total // 32 + 2, np.uint64)
    for first in range(0, rows, rows_per_block):
        block = slice(first, min(first + rows_per_block, rows))
        size = lengths[chunk[block, None], codes[block]].astype(np.int64)
        pos = (starts[block, None] + np.cumsum(size, axis=1) - size).ravel()
        word = pos >> 5
        end = (pos & 31) + size.ravel()
        # The codeword placed at the top of a 64-bit window starting at `word`:
        # its high half goes into `word`, its low half into the next word.
        window = codewords[chunk[block, None], codes[block]].ravel() << (64 - end).astype(np.uint64)
        base = int(word[0])
        span = int(word[-1]) - base + 2
        at = word - base
        words[base : base + span] += np.bincount(
            at, weights=(window >> np.uint64(32)).astype(np.float64), minlength=span
        ).astype(np.uint64)
        words[base : base + span] += np.bincount(
            at + 1, weights=(window & np.uint64(0xFFFFFFFF)).astype(np.float64), minlength=span
        ).astype(np.uint64)
    stream = words.astype(">u4").tobytes()[: (total + 7) // 8] + bytes(PAD)
    offsets = starts[:-1].astype("<u4").tobytes()
    return EncodedTable(offsets + stream, lengths)


def decode(data: bytes, lengths: np.ndarray, rows: int, dim: int,
           ids: np.ndarray | None = None) -> np.ndarray:
    """The (len(ids), dim) uint8 codes of rows `ids` (all rows by default), all rows
    decoded side by side one symbol at a time."""
    chunks = lengths.shape[0]
    ids = np.arange(rows) if ids is None else np.asarray(ids, np.int64)
    offsets = np.frombuffer(data, "<u4", count=rows)
    stream = np.frombuffer(data, np.uint8, offset=4 * rows).astype(np.uint32)
    # The three bytes from each byte on, as one number: one gather per peek.
    windows = stream[:-2] << 16 | stream[1:-1] << 8 | stream[2:]
    symbol, length = (part.ravel() for part in lookup(lengths))
    base = (ids % chunks) << MAX_BITS
    pos = offsets[ids].astype(np.int64)
    out = np.empty((len(ids), dim), np.uint8)
    for k in range(dim):
        shift = (24 - MAX_BITS - (pos & 7)).astype(np.uint32)
        at = base + (windows[pos >> 3] >> shift & ((1 << MAX_BITS) - 1))
        out[:, k] = symbol[at]
        pos += length[at]
    return out


def codes_sha256(codes: np.ndarray) -> str:
    """SHA-256 of the codes as bytes, row after row (what a reader checks)."""
    return hashlib.sha256(np.ascontiguousarray(codes, np.uint8).tobytes()).hexdigest()
