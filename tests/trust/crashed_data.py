"""Reading what a killed app left on disk, without changing it.

The database and its WAL are copied before anything opens them: opening the real
files would replay and checkpoint the WAL, and the app's own start after the
crash would then never meet the files as the crash left them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from desktop import paths
from desktop.store import content_hash


def copy_database(data: Path, into: Path) -> Path:
    """A copy of the data dir's database as the crash left it (the WAL-index in
    -shm is rebuilt from the WAL on open, as after a reboot)."""
    into.mkdir(parents=True)
    source = paths.database_file(data)
    target = into / source.name
    shutil.copy2(source, target)
    wal = source.with_name(source.name + "-wal")
    if wal.exists():
        shutil.copy2(wal, target.with_name(target.name + "-wal"))
    return target


def integrity(db: Path) -> list[str]:
    """PRAGMA integrity_check's lines and any foreign key violations; ["ok"] if sound."""
    with closing(sqlite3.connect(db)) as conn:
        lines = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    return lines + [f"foreign key: {row}" for row in broken]


def live_notes(db: Path) -> dict[int, dict[str, Any]]:
    """Live notes by id: title, body, and whether the stored hash is their content's."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT id, title, body, content_hash FROM notes WHERE deleted IS NULL"
        ).fetchall()
    return {
        note_id: {"title": title, "body": body, "hash_ok": stored == content_hash(title, body)}
        for note_id, title, body, stored in rows
    }


def import_items(db: Path) -> dict[str, str]:
    """Items of the (one) import job recorded so far, with their outcome."""
    with closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("SELECT item, outcome FROM import_items"))


def import_job_states(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return [state for (state,) in conn.execute("SELECT state FROM import_jobs ORDER BY id")]


def journal(path: Path) -> list[dict[str, Any]]:
    """The app's journal of answered saves (desktop/control.py journal_saves).

    A last line without its newline was cut by the kill before its write ended, so
    its answer never left for the page: it is no acknowledgement.
    """
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]
