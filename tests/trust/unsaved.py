"""What the disk-full and read-only tests look at: the banner, the editor's typing,
and the database file itself (read beside the running app, never through it)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path

from tests.app.harness import AppProcess

NOT_SAVED_JS = "document.getElementById('save-status').dataset.state === 'failed'"
BANNER_HIDDEN_JS = "document.getElementById('save-banner').hidden"
CLOSE_OFFERED_JS = "!document.getElementById('save-banner-close').hidden"


def banner_up_js(code: str) -> str:
    return (
        "(b => !b.hidden && b.dataset.code === "
        f"{json.dumps(code)})(document.getElementById('save-banner'))"
    )


def banner_text(app: AppProcess) -> str:
    return app.eval("document.getElementById('save-banner').textContent")


def close_is_refused(app: AppProcess) -> None:
    """Closes the window as its close button would, with typing not saved: the window
    stays (past the app's wait for the page), and the banner says why."""
    app.call("close_window")
    app.wait_for(CLOSE_OFFERED_JS)
    time.sleep(1.5)
    assert "stayed open" in banner_text(app)


def type_at_end_of_body(app: AppProcess, text: str) -> None:
    app.eval(
        "(b => { b.focus(); b.setSelectionRange(b.value.length, b.value.length); return true; })"
        "(document.getElementById('body'))"
    )
    app.type_text(text)


def stored_notes(db: Path) -> dict[int, tuple[str, str]]:
    """Every live note's (title, body) as the file holds them, once PRAGMA
    integrity_check says ok. With no writes waiting in the -wal file it is read as
    immutable, needing no -shm file (which a full disk or a read-only folder could not
    hold); that also leaves the folder exactly as it was."""
    wal = db.with_name(db.name + "-wal")
    immutable = not wal.exists() or wal.stat().st_size == 0
    uri = db.as_uri() + ("?mode=ro&immutable=1" if immutable else "?mode=ro")
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = conn.execute("SELECT id, title, body FROM notes WHERE deleted IS NULL").fetchall()
    return {note_id: (title, body) for note_id, title, body in rows}
