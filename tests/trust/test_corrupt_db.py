"""A notes database that cannot be opened at start, in the real window: each kind is
left byte for byte as it was, the window says what happened in plain words, and
restoring the backup it offers moves the file aside and opens the backup's notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop import paths
from desktop.backup import Backups
from tests.app.harness import AppProcess
from tests.trust.broken_db import (
    BREAKERS,
    KINDS,
    NO_FILE_OVERRIDE,
    fails_integrity_check,
    file_state,
    make_notes,
    titles_in,
)

BACKED_UP = ["Recipe for bread", "Train times"]
START_SCREEN_JS = "document.body.dataset.startProblem"
NOTE_TITLES_JS = (
    "[...document.querySelectorAll('.note-row .note-row-title')].map(r => r.textContent)"
)
# What the start screen must say of each kind, in words a person knows.
SAYS = {
    "not_sqlite": ("not a notes database", "not a database"),
    "truncated": ("cut off", "the end of the file is missing"),
    "damaged": ("damaged", "SQLite's check found"),
    "too_new": ("newer Margin", "Update Margin to open it"),
    "unreadable": ("may not read", "permission denied"),
}


def data_with_backup(root: Path) -> Path:
    """A data folder whose newest backup holds BACKED_UP, and no database."""
    data = root / "data"
    data.mkdir()
    database = paths.database_file(data)
    make_notes(database, BACKED_UP)
    Backups(database, paths.backups_dir(data)).take()
    database.unlink()
    return data


def start_screen(app_factory, data: Path, kind: str) -> AppProcess:
    wrapper = NO_FILE_OVERRIDE if kind == "unreadable" else None
    return app_factory(data, ready_js=START_SCREEN_JS, wrapper=wrapper)


def screen_text(app: AppProcess) -> str:
    return app.eval("document.getElementById('start-problem').innerText")


@pytest.mark.parametrize("breaker", sorted(BREAKERS))
def test_a_broken_database_is_kept_and_the_offered_backup_restores(
    breaker: str, app_factory, tmp_path: Path
):
    data = data_with_backup(tmp_path)
    database = paths.database_file(data)
    BREAKERS[breaker](database)
    before = file_state(database)
    kind = KINDS[breaker]

    app = start_screen(app_factory, data, kind)

    assert app.eval(START_SCREEN_JS) == kind
    headline, detail = SAYS[kind]
    text = screen_text(app)
    assert headline in text and detail in text
    assert f"The file is {database}. Margin has not changed it." in text
    assert "with 2 notes" in text
    # A plain line for whoever started it from a terminal, and the log says it too.
    [said] = [line for line in app.output().splitlines() if "cannot open" in line]
    assert said.startswith(f"Margin cannot open its notes database {database}: ")
    assert detail in said and "Traceback" not in app.output()
    assert detail in (data / "margin.log").read_text()
    assert app.eval("document.body.dataset.ready") is None  # no notes shown
    assert file_state(database) == before

    app.eval("document.getElementById('start-restore').click()")
    app.wait_for("document.body.dataset.ready === 'true'", timeout=30)

    assert sorted(app.eval(NOTE_TITLES_JS)) == sorted(BACKED_UP)
    [aside] = data.glob("margin-set-aside-*.sqlite3")
    assert file_state(aside) == before
    assert f"moved to {aside.name}" in app.eval("document.getElementById('message').textContent")
    app.stop()
    assert titles_in(database) == BACKED_UP
    assert file_state(aside) == before


def test_without_a_backup_the_window_says_so_and_the_file_stays(app_factory, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    database = paths.database_file(data)
    fails_integrity_check(database)
    before = file_state(database)

    app = start_screen(app_factory, data, "damaged")

    assert "There is no good backup to restore" in screen_text(app)
    assert app.eval("document.getElementById('start-restore')") is None
    app.stop()
    assert file_state(database) == before
    assert sorted(p.name for p in data.iterdir() if p.name.startswith("margin.sqlite3")) == [
        "margin.sqlite3"]
