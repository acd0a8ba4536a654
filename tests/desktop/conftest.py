"""Fixtures for tests of the plain Python modules: a real store in a temp folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.store import Store
from tests.desktop.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "notes.db"


@pytest.fixture
def store(db_path: Path, clock: Clock) -> Iterator[Store]:
    opened = Store(db_path, clock=clock)
    yield opened
    opened.close()
