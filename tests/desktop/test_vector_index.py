"""desktop/vector_index.py: sign codes, the scan and its filters, and changes in place."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from desktop.search import RERANK_DEPTH
from desktop.vector_index import VectorIndex, sign_codes


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def hamming_order(vectors: np.ndarray, ids: list[int], query: np.ndarray) -> list[int]:
    """The scan's answer, worked out the slow way: bit by bit, ties by id."""
    bits = vectors > 0
    distance = (bits != (query > 0)).sum(axis=1)
    return [ids[i] for i in sorted(range(len(ids)), key=lambda i: (distance[i], ids[i]))]


def test_sign_codes_hold_one_bit_per_dimension() -> None:
    vectors = np.zeros((2, 512), np.float32)
    vectors[0, 0] = 1.0
    vectors[1, 511] = 0.5
    vectors[1, 0] = -1.0
    codes = sign_codes(vectors)
    assert codes.shape == (2, 8) and codes.dtype == np.uint64
    assert [int(np.bitwise_count(row).sum()) for row in codes] == [1, 1]
    assert not (codes[0] & codes[1]).any()


def test_nearest_is_the_hamming_order_with_ties_by_id(rng: np.random.Generator) -> None:
    vectors = unit(rng.standard_normal((500, 512)))
    # Duplicates make ties, which must come out by id.
    vectors[100:110] = vectors[5]
    ids = list(range(1000, 1500))
    index = VectorIndex(capacity=4)
    index.put(ids, [0] * len(ids), vectors)
    assert len(index) == 500
    for q in (0, 5, 250):
        assert index.nearest(vectors[q], 40) == hamming_order(vectors, ids, vectors[q])[:40]
    assert index.nearest(vectors[0], 1000) == hamming_order(vectors, ids, vectors[0])
    assert index.nearest(vectors[0], 0) == []


def test_true_neighbours_survive_the_scan(rng: np.random.Generator) -> None:
    """Clustered vectors (members at cosine ~0.5, as sentences of one topic): the
    exact top 10 by cosine lies within the scan's top RERANK_DEPTH."""
    centres = unit(rng.standard_normal((200, 512)))
    noise = 0.045 * rng.standard_normal((20_000, 512))
    vectors = unit(centres[rng.integers(0, 200, 20_000)] + noise)
    index = VectorIndex()
    index.put(list(range(20_000)), [0] * 20_000, vectors)
    found = []
    for q in rng.integers(0, 20_000, 50):
        exact = set(np.argsort(-(vectors @ vectors[q]))[:10].tolist())
        found.append(len(exact & set(index.nearest(vectors[q], RERANK_DEPTH))) / 10)
    assert np.mean(found) >= 0.98


def test_filters_by_time_by_id_set_and_exclusion(rng: np.random.Generator) -> None:
    vectors = unit(rng.standard_normal((100, 512)))
    ids = list(range(1, 101))
    updated = [1000 * i for i in ids]
    index = VectorIndex()
    index.put(ids, updated, vectors)
    query = vectors[0]
    everything = hamming_order(vectors, ids, query)

    assert index.nearest(query, 100, updated_from=20_000, updated_to=30_000) == [
        i for i in everything if 20 <= i <= 30
    ]
    assert index.nearest(query, 5, updated_from=95_000) == [i for i in everything if i >= 95][:5]
    assert index.nearest(query, 100, updated_to=3_000) == [i for i in everything if i <= 3]
    among = {2, 4, 8, 16, 32, 64, 999}
    assert index.nearest(query, 100, among=among) == [i for i in everything if i in among]
    assert index.nearest(query, 100, among=among, updated_from=10_000) == [
        i for i in everything if i in among and i >= 10
    ]
    assert index.nearest(query, 3, exclude=1) == [i for i in everything if i != 1][:3]
    assert index.nearest(query, 100, among=set()) == []
    assert index.nearest(query, 100, updated_from=10**9) == []


def test_put_replaces_and_remove_keeps_the_others_findable(rng: np.random.Generator) -> None:
    vectors = unit(rng.standard_normal((50, 512)))
    ids = list(range(1, 51))
    index = VectorIndex(capacity=2)
    index.put(ids, ids, vectors)

    # Replacing note 7's vector: it is found by the new one, not the old.
    index.put([7], [700], -vectors[7:8])
    assert index.nearest(-vectors[7], 1) == [7]
    assert index.nearest(vectors[7], 1) != [7]
    assert index.nearest(-vectors[7], 1, updated_from=700) == [7]
    assert len(index) == 50

    # Removing rows from the middle and the end moves the last rows into their
    # places; every other note must still be found by its own vector.
    index.remove([1, 25, 50, 12345])
    assert len(index) == 47
    assert 25 not in index and 7 in index
    for i in ids:
        if i in (1, 25, 50, 7):
            continue
        assert index.nearest(vectors[i - 1], 1) == [i]
        assert index.nearest(vectors[i - 1], 1, updated_from=i, updated_to=i) == [i]
    index.remove(list(range(1, 51)))
    assert len(index) == 0
    assert index.nearest(vectors[0], 10) == []
    index.put([3], [3], vectors[2:3])
    assert index.nearest(vectors[0], 10) == [3]


def test_changes_and_scans_from_many_threads(rng: np.random.Generator) -> None:
    vectors = unit(rng.standard_normal((400, 512)))
    index = VectorIndex()
    errors: list[BaseException] = []

    def writer(part: int) -> None:
        try:
            for i in range(part, 400, 4):
                index.put([i], [i], vectors[i : i + 1])
                if i % 3 == 0:
                    index.remove([i])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def reader() -> None:
        try:
            for i in range(200):
                index.nearest(vectors[i], 10, updated_from=10)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kept = [i for i in range(400) if i % 3]
    assert len(index) == len(kept)
    for i in kept:
        assert index.nearest(vectors[i], 1) == [i]
