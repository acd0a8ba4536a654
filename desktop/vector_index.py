"""Notes' vectors in memory as sign bits, for finding a query's nearest notes fast.

A 512-d float32 vector is 2 KiB; its signs are 64 bytes. The Hamming distance
between sign bits tracks the angle between vectors closely enough that the
nearest notes by cosine are almost always among the nearest few hundred by
Hamming distance, so the caller re-ranks those exactly with the float32 vectors
it keeps elsewhere (the store). 100,000 notes take about 8 MB here, where a
float32 matrix would take 205 MB; bench/search.py measures what it costs in recall.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence

import numpy as np

DIMENSIONS = 512
_WORDS = DIMENSIONS // 64
# A distance no code reaches (512 bits differ at most): marks rows filtered out.
_FAR = np.uint16(DIMENSIONS + 1)


def sign_codes(vectors: np.ndarray) -> np.ndarray:
    """(n, 512) float vectors -> (n, 8) uint64: one bit per dimension, set when > 0."""
    return np.packbits(vectors > 0, axis=1).view(np.uint64)


class VectorIndex:
    """Sign codes of note vectors with each note's id and `updated` time; thread-safe.

    Codes are held one 64-bit word per row of an (8, capacity) array, so the scan
    XORs and counts eight long contiguous rows (several times faster than eight
    words per note).
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._lock = threading.Lock()
        self._codes = np.zeros((_WORDS, capacity), np.uint64)
        self._ids = np.zeros(capacity, np.int64)
        self._updated = np.zeros(capacity, np.int64)
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, note_id: object) -> bool:
        return note_id in self._row

    def put(self, ids: Sequence[int], updated: Sequence[int], vectors: np.ndarray) -> None:
        """Add notes, or replace what is held for notes already here."""
        if not len(ids):
            return
        codes = sign_codes(vectors)
        with self._lock:
            rows = []
            for note_id in ids:
                row = self._row.get(note_id)
                if row is None:
                    row = len(self._row)
                    if row == len(self._ids):
                        self._grow()
                    self._row[note_id] = row
                    self._ids[row] = note_id
                rows.append(row)
            self._codes[:, rows] = codes.T
            self._updated[rows] = updated

    def remove(self, ids: Collection[int]) -> None:
        """Forget these notes; ids not held are ignored."""
        with self._lock:
            for note_id in ids:
                row = self._row.pop(note_id, None)
                if row is None:
                    continue
                last = len(self._row)
                if row != last:
                    moved = int(self._ids[last])
                    self._row[moved] = row
                    self._ids[row] = moved
                    self._codes[:, row] = self._codes[:, last]
                    self._updated[row] = self._updated[last]

    def nearest(
        self,
        query: np.ndarray,
        count: int,
        *,
        among: Collection[int] | None = None,
        updated_from: int | None = None,
        updated_to: int | None = None,
        exclude: int | None = None,
    ) -> list[int]:
        """Ids of up to `count` notes nearest to `query` by sign code, nearest first.

        `among` keeps only those notes (ids not held are ignored);
        `updated_from`/`updated_to` bound their `updated` time (inclusive);
        `exclude` leaves one note out. Of notes at equal distance, lower ids come
        first, so equal queries give equal answers.
        """
        code = sign_codes(np.asarray(query, np.float32).reshape(1, DIMENSIONS))[0]
        with self._lock:
            size = len(self._row)
            if size == 0 or count <= 0:
                return []
            distance = np.bitwise_count(self._codes[0, :size] ^ code[0]).astype(np.uint16)
            for word in range(1, _WORDS):
                distance += np.bitwise_count(self._codes[word, :size] ^ code[word])
            keep = self._filter(size, among, updated_from, updated_to, exclude)
            if keep is not None:
                distance[~keep] = _FAR
                count = min(count, int(keep.sum()))
            if count == 0:
                return []
            ids = self._ids[:size]
            if count < size:
                # The distance at which `count` rows are reached; of the rows at
                # exactly that distance, the lowest ids get in.
                cut = int(np.searchsorted(np.cumsum(np.bincount(distance)), count))
                inside = np.flatnonzero(distance < cut)
                tied = np.flatnonzero(distance == cut)
                tied = tied[np.argsort(ids[tied], kind="stable")[: count - len(inside)]]
                rows = np.concatenate([inside, tied])
            else:
                rows = np.arange(size)
            order = np.lexsort((ids[rows], distance[rows]))
            return ids[rows[order]].tolist()

    def _filter(
        self,
        size: int,
        among: Collection[int] | None,
        updated_from: int | None,
        updated_to: int | None,
        exclude: int | None,
    ) -> np.ndarray | None:
        """The rows the filters keep, None when there are no filters."""
        keep = None
        if updated_from is not None or updated_to is not None:
            when = self._updated[:size]
            keep = np.ones(size, bool)
            if updated_from is not None:
                keep &= when >= updated_from
            if updated_to is not None:
                keep &= when <= updated_to
        if among is not None:
            wanted = np.zeros(size, bool)
            wanted[[self._row[i] for i in among if i in self._row]] = True
            keep = wanted if keep is None else keep & wanted
        if exclude is not None and exclude in self._row:
            if keep is None:
                keep = np.ones(size, bool)
            keep[self._row[exclude]] = False
        return keep

    def _grow(self) -> None:
        capacity = 2 * len(self._ids)
        codes = np.zeros((_WORDS, capacity), np.uint64)
        codes[:, : self._codes.shape[1]] = self._codes
        self._codes = codes
        for name in ("_ids", "_updated"):
            old = getattr(self, name)
            new = np.zeros(capacity, old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
