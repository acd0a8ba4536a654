"""ml/table_codec.py: length-limited canonical Huffman codes, and the token table's
file decoding back to exactly the source's codes, whole and row by row."""

from __future__ import annotations

import heapq
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml import build_encoder, encoder, table_codec


def huffman_cost(counts: list[int]) -> int:
    """Total bits of an unlimited Huffman code: the sum of its merged weights."""
    heap = [c for c in counts if c > 0]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost


def kraft(lengths: np.ndarray) -> float:
    return sum(2.0 ** -int(n) for n in lengths if n)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 10**6), min_size=table_codec.SYMBOLS,
                max_size=table_codec.SYMBOLS).filter(lambda c: sum(c) > 0))
def test_lengths_are_optimal_complete_and_limited(counts: list[int]) -> None:
    lengths = table_codec.limited_lengths(np.array(counts))
    used = sum(c > 0 for c in counts)
    assert [bool(n) for n in lengths] == [c > 0 for c in counts]
    assert lengths.max() <= table_codec.MAX_BITS
    if used > 1:
        assert kraft(lengths) == 1.0
        # Huffman's code is optimal without a limit: nothing beats it.
        assert int((np.array(counts) * lengths).sum()) >= huffman_cost(counts)
    unlimited = table_codec.limited_lengths(np.array(counts), max_bits=40)
    assert int((np.array(counts) * unlimited).sum()) == (huffman_cost(counts) if used > 1
                                                        else sum(counts))


def test_a_skewed_count_is_held_to_the_limit() -> None:
    # Fibonacci counts: Huffman alone would give the rarest symbols 63-bit codes.
    fib = [1, 1]
    while len(fib) < table_codec.SYMBOLS:
        fib.append(fib[-1] + fib[-2])
    lengths = table_codec.limited_lengths(np.array(fib))
    assert lengths.max() == table_codec.MAX_BITS and kraft(lengths) == 1.0


def test_canonical_codes_are_prefix_free_and_ordered() -> None:
    lengths = table_codec.limited_lengths(np.arange(table_codec.SYMBOLS) ** 3)
    codes = table_codec.canonical_codes(lengths)
    words = sorted(format(int(codes[s]), f"0{lengths[s]}b") for s in np.flatnonzero(lengths))
    assert all(not b.startswith(a) for a, b in zip(words, words[1:], strict=False))


@pytest.mark.parametrize("chunks", [1, 3])
def test_small_tables_round_trip(chunks: int) -> None:
    rng = np.random.default_rng(7)
    codes = np.minimum(rng.geometric(0.3, size=(50, 9)) - 1, 63).astype(np.uint8)
    codes[::chunks] = 5  # a chunk with a single symbol, when chunks > 1
    table = table_codec.encode(codes, chunks, rows_per_block=7)
    np.testing.assert_array_equal(table_codec.decode(table.data, table.lengths, 50, 9), codes)
    ids = np.array([49, 0, 17, 17, 3])
    np.testing.assert_array_equal(
        table_codec.decode(table.data, table.lengths, 50, 9, ids), codes[ids])


@pytest.fixture(scope="module")
def source_codes() -> np.ndarray:
    return encoder.load_source().table.codes


def test_the_built_file_decodes_to_the_source_codes(source_codes: np.ndarray) -> None:
    build_encoder.main([])
    manifest = json.loads((build_encoder.OUT / "manifest.json").read_text())["table"]
    data = (build_encoder.OUT / manifest["file"]).read_bytes()
    assert manifest["format"] == table_codec.FORMAT and len(data) == manifest["bytes"]
    lengths = np.array(manifest["code_lengths"], np.uint8)
    decoded = table_codec.decode(data, lengths, manifest["rows"], manifest["dim"])
    assert table_codec.codes_sha256(decoded) == manifest["codes_sha256"]
    np.testing.assert_array_equal(decoded, source_codes)
    # About 2.8 bits a code where the source spends 8.
    assert len(data) < 0.37 * source_codes.size


def test_encoding_is_deterministic(source_codes: np.ndarray) -> None:
    first = table_codec.encode(source_codes[:3000], encoder.TABLE_CHUNKS)
    again = table_codec.encode(source_codes[:3000], encoder.TABLE_CHUNKS, rows_per_block=1000)
    assert first.data == again.data
    np.testing.assert_array_equal(first.lengths, again.lengths)
