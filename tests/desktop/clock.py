"""A settable clock for Store(clock=...), so tests move time without sleeping."""

from __future__ import annotations

START_MS = 1_700_000_000_000
DAY_MS = 24 * 60 * 60 * 1000


class Clock:
    def __init__(self) -> None:
        self.now = START_MS

    def __call__(self) -> int:
        return self.now
