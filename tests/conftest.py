"""Shared fixtures. `app_factory` starts the real app (see tests/app/harness.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# `tests.app.harness` must be one module for every importer (bench/ too), however
# pytest was started.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.app.harness import AppProcess  # noqa: E402


class AppFactory:
    """Starts apps on demand and stops every one of them at teardown."""

    def __init__(self) -> None:
        self._apps: list[AppProcess] = []

    def __call__(self, data_dir: Path | str | None = None, **options: Any) -> AppProcess:
        app = AppProcess(data_dir, **options)
        self._apps.append(app)
        return app.start()

    def close_all(self) -> None:
        for app in reversed(self._apps):
            app.cleanup()
        self._apps.clear()


@pytest.fixture
def app_factory() -> Iterator[AppFactory]:
    """Apps that live for one test: `app = app_factory()` or `app_factory(data_dir)`."""
    factory = AppFactory()
    yield factory
    factory.close_all()


@pytest.fixture(scope="module")
def module_app_factory() -> Iterator[AppFactory]:
    """Apps shared by the tests of one module (start them in a module-scoped fixture)."""
    factory = AppFactory()
    yield factory
    factory.close_all()
