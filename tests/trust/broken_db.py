"""Notes databases for the backup tests: sound ones with known notes, and each kind of
broken one the app must never overwrite."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from desktop import migrations
from desktop.store import Store

# Runs a command without the root powers that ignore file permissions, so that a
# file with mode 000 really cannot be read (the tests may run as root).
NO_FILE_OVERRIDE = (
    ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
)


def make_notes(db: Path, titles: list[str]) -> list[int]:
    """A database at `db` holding one tagged note per title; their ids."""
    store = Store(db)
    try:
        ids = []
        for title in titles:
            note = store.create_note(title=title, body=f"The body of {title}.")
            store.add_tag(note["id"], "kept")
            ids.append(note["id"])
        return ids
    finally:
        store.close()


def titles_in(db: Path) -> list[str]:
    with closing(sqlite3.connect(db.as_uri() + "?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT title FROM notes WHERE deleted IS NULL ORDER BY id")
        return [row[0] for row in rows]


def random_bytes(db: Path) -> None:
    db.write_bytes(os.urandom(64 * 1024))


def not_sqlite(db: Path) -> None:
    db.write_text("# My notes\n\nThis is a Markdown file, saved over the database.\n")


def truncated(db: Path) -> None:
    """A sound database with its second half cut off (a full disk, an unfinished copy)."""
    make_notes(db, [f"Note {i}" for i in range(60)])
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])


def fails_integrity_check(db: Path) -> None:
    """A database SQLite reads without complaint until integrity_check: the roots of
    two indexes swapped, so the live-notes index holds nothing (the trash's, empty)."""
    make_notes(db, [f"Note {i}" for i in range(20)])
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
        roots = dict(conn.execute(
            "SELECT name, rootpage FROM sqlite_master WHERE name IN "
            "('notes_live_by_updated', 'notes_trash_by_deleted')"
        ))
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        conn.execute("PRAGMA writable_schema = ON")
        for name, other in (("notes_live_by_updated", "notes_trash_by_deleted"),
                            ("notes_trash_by_deleted", "notes_live_by_updated")):
            conn.execute("UPDATE sqlite_master SET rootpage = ? WHERE name = ?",
                         (roots[other], name))
        conn.execute(f"PRAGMA schema_version = {version + 1}")


def newer_schema(db: Path) -> None:
    """A sound database written by a Margin that knows one more migration."""
    make_notes(db, ["From the future"])
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute(f"PRAGMA user_version = {migrations.LATEST_VERSION + 1}")


def unreadable(db: Path) -> None:
    """A sound database nobody may read (mode 000); see NO_FILE_OVERRIDE."""
    make_notes(db, ["Locked away"])
    db.chmod(0)


BREAKERS: dict[str, Callable[[Path], None]] = {
    "not_sqlite": not_sqlite,
    "random_bytes": random_bytes,
    "truncated": truncated,
    "damaged": fails_integrity_check,
    "too_new": newer_schema,
    "unreadable": unreadable,
}
# What db_check calls each (random bytes are "not an SQLite file" too).
KINDS = {name: "not_sqlite" if name == "random_bytes" else name for name in BREAKERS}


def file_state(db: Path) -> dict[str, bytes]:
    """The bytes of the database and its journal files (read as root can)."""
    state = {}
    for suffix in ("", "-wal", "-journal"):
        path = db.with_name(db.name + suffix)
        if path.exists():
            state[suffix] = path.read_bytes() if os.access(path, os.R_OK) else _read_as_root(path)
    return state


def _read_as_root(path: Path) -> bytes:
    mode = path.stat().st_mode
    path.chmod(0o600)
    try:
        return path.read_bytes()
    finally:
        path.chmod(mode)
