"""What is wrong with a notes database file, found without writing to it.

Opening a damaged file with the store would write to it (WAL mode, migrations,
the trash purge) and could make it worse, so the app, the command line and the
backups check a file here first, through a read-only connection: it must be
readable, an SQLite file, whole, pass SQLite's integrity check (about 0.1 s for
10,000 notes), have a schema version this app knows, and be Margin's.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Literal, NamedTuple, TypedDict

from desktop import migrations

# The first 16 bytes of every SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_BYTES = 100
_CUT_OFF = "It is cut off: the end of the file is missing."

ProblemKind = Literal["unreadable", "not_sqlite", "truncated", "damaged", "too_new", "foreign"]


class Problem(TypedDict):
    """What is wrong, as a stable `kind` and a `message` in plain words."""

    kind: ProblemKind
    message: str


class Health(NamedTuple):
    """A file's problem (None if it is sound) and its live notes (None if unknown)."""

    problem: Problem | None
    notes: int | None


def diagnose(path: Path) -> Health:
    """Checks the database at `path` (which must exist) without writing anything.

    No process may be writing to it meanwhile (see _check_contents). Only a file
    whose -wal holds changes is opened read-only the usual way, which may add a
    -shm file beside it; its own bytes are never written.
    """
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            header = file.read(_HEADER_BYTES)
    except PermissionError:
        return _sick("unreadable", "Margin is not allowed to read it (permission denied).")
    except OSError as exc:
        return _sick("unreadable", f"It cannot be read: {exc.strerror or exc}.")
    if not header.startswith(SQLITE_MAGIC):
        if size < len(SQLITE_MAGIC) and SQLITE_MAGIC.startswith(header):
            return _sick("truncated", f"It is cut off: only {size} bytes are left.")
        return _sick("not_sqlite", "It is not a database: its contents are something else.")
    cut_off = _short_of(header, size)
    try:
        return _check_contents(path, cut_off)
    except sqlite3.Error as exc:
        if cut_off:
            return _sick("truncated", _CUT_OFF)
        return _sick("damaged", f"It is damaged: SQLite cannot read it ({exc}).")


def _check_contents(path: Path, cut_off: bool) -> Health:
    # With no writes waiting in a -wal file, the file alone is the database: read as
    # immutable it needs no -shm file, which a read-only folder or a full disk could
    # not hold (and a sound file would then look damaged).
    wal = path.with_name(path.name + "-wal")
    immutable = not wal.exists() or wal.stat().st_size == 0
    conn = sqlite3.connect(path.as_uri() + ("?mode=ro&immutable=1" if immutable else "?mode=ro"),
                           uri=True)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        errors = [row[0] for row in conn.execute("PRAGMA integrity_check(5)")]
        if errors != ["ok"]:
            if cut_off:
                return _sick("truncated", _CUT_OFF)
            return _sick("damaged", f"It is damaged: SQLite's check found {errors[0]}.")
        if version > migrations.LATEST_VERSION:
            return _sick(
                "too_new",
                f"It was written by a newer version of Margin (its format {version}; this "
                f"Margin knows up to {migrations.LATEST_VERSION}). Update Margin to open it.",
            )
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version == 0:
            if tables:
                return _sick("foreign", "It is an SQLite database, but not one of Margin's.")
            return Health(None, 0)  # a new, empty file: the store will set it up
        notes = conn.execute("SELECT count(*) FROM notes WHERE deleted IS NULL").fetchone()[0]
        return Health(None, notes)
    finally:
        conn.close()


def _short_of(header: bytes, size: int) -> bool:
    """Whether the file is shorter than its header says (page size times page count)."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count is only valid while its version number matches the change counter.
    counted = len(header) == _HEADER_BYTES and header[92:96] == header[24:28]
    return len(header) < _HEADER_BYTES or (counted and size < page_size * pages)


def _sick(kind: ProblemKind, message: str) -> Health:
    return Health({"kind": kind, "message": message}, None)
