"""When the notes database cannot be opened at start: what happened, and the way back.

The app checks the database read-only before the store opens it
(desktop/db_check.py). If it is damaged, unreadable, not a database or from a
newer Margin, the window shows a start screen (webui/views/startProblem.js)
instead of the notes, through StartApi: the problem in plain words and the
newest good backup. Restoring it moves the file aside (never deleting or
repairing it) and opens the notes in the same window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypedDict

from desktop import db_check, validate
from desktop.api import _bridge
from desktop.backup import Backups, Restored
from desktop.store import StoreError

log = logging.getLogger(__name__)


class StartProblem(TypedDict):
    # db_check's kinds, or "cannot_open" when the store failed on a sound file.
    kind: str
    message: str
    database: str
    # Whether putting a backup in place can help (not for a folder Margin cannot write).
    restorable: bool


def problem_at_start(backups: Backups) -> StartProblem | None:
    """What keeps the database from being opened, found without writing to it."""
    database = backups.database
    if not database.exists():
        return None  # the first start: the store makes a new one
    if database.stat().st_size == 0:
        # Also what a first start cut short leaves; only with backups is it a loss.
        if backups.newest_good() is None:
            return None
        return _problem("truncated", "It is empty (0 bytes), though there are backups.", backups)
    problem = db_check.diagnose(database).problem
    return None if problem is None else _problem(problem["kind"], problem["message"], backups)


def store_failed(error: StoreError, backups: Backups) -> StartProblem:
    """A sound file the store could not open (a read-only folder, say): a backup won't help."""
    return {
        "kind": "cannot_open",
        "message": error.message,
        "database": str(backups.database),
        "restorable": False,
    }


def _problem(kind: str, message: str, backups: Backups) -> StartProblem:
    return {"kind": kind, "message": message, "database": str(backups.database),
            "restorable": True}


class StartApi:
    """The js_api of the start screen; once a backup is restored, `on_restored()` opens
    the notes and gives the window the full api (desktop/app.py)."""

    def __init__(
        self, problem: StartProblem, backups: Backups, on_restored: Callable[[], None]
    ) -> None:
        self._problem = problem
        self._backups = backups
        self._on_restored = on_restored

    @_bridge
    def start_problem(self) -> Any:
        """The problem, with the newest good backup it could be replaced by (or None)."""
        newest = self._backups.newest_good() if self._problem["restorable"] else None
        return {**self._problem, "backup": newest}

    @_bridge
    def restore_at_start(self, name: Any) -> Any:
        """Moves the database aside, puts backup `name` in its place, opens the notes."""
        if not self._problem["restorable"]:
            raise StoreError("invalid", "A backup cannot help with this problem.")
        done: Restored = self._backups.restore_file(
            self._backups.path_of(validate.backup_name(name))
        )
        log.warning("start problem %s: restored %s", self._problem["kind"], name)
        self._on_restored()
        return done
