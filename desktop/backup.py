"""Snapshots of the notes database in the data folder's backups/, and putting one back.

    backups = Backups(paths.database_file(data), paths.backups_dir(data))
    backups.take()                       # a snapshot now; its entry
    backups.list()                       # newest first, each checked
    backups.restore_into(store, name)    # the running app: its notes kept first
    backups.restore_file(path_or_None)   # no store open: command line, start screen
    AutoBackups(backups).start()         # one now, then one every few hours
    AutoBackups(backups).start(after=ev) # the first once `ev` is set (the page is up)

A snapshot is taken with SQLite's online backup API from a read-only connection
of its own. The store keeps its database in WAL mode, where a reader never blocks
the writer, so saves go on while it copies (about 0.3 s for 10,000 notes) and the
copy is one consistent moment. It is written under a hidden temporary name,
switched to one self-contained file (DELETE journal mode), checked with
integrity_check, flushed to disk, and only then renamed: a file under a backup's
name is always a whole, checked copy. Names sort by time (UTC, to the
millisecond). The newest KEEP good ones stay, and the newest of each of the
DAYS latest days; a backup that fails its check is never counted as one of them.

A restore never loses the notes it replaces: they become a "before-restore"
backup first (a damaged file that cannot be read is moved aside instead, under
a name that says so), so a restore can itself be undone.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypedDict

from desktop import db_check
from desktop.store import Store, StoreError, now_ms

log = logging.getLogger(__name__)

KEEP = 7
DAYS = 7
_DAY_MS = 24 * 60 * 60 * 1000
AUTO_INTERVAL_S = 4 * 60 * 60
# How long the first automatic backup waits for its go-ahead at most.
FIRST_WAIT_S = 30.0
# A temporary file older than this was left by a backup that was cut short.
_STALE_PART_S = 60 * 60
_BUSY_TIMEOUT_S = 5.0

Kind = Literal["auto", "manual", "before-restore"]
_STAMP = "%Y-%m-%dT%H-%M-%S"
_NAME = re.compile(
    r"margin-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d)\.(\d{3})Z-(auto|manual|before-restore)\.sqlite3"
)
_PART_SUFFIX = ".part"


class BackupError(StoreError):
    """A backup or restore that could not be done; `message` is for people."""

    def __init__(self, message: str) -> None:
        super().__init__("backup", message)


class Backup(TypedDict):
    name: str
    created: int  # ms since the Unix epoch (UTC)
    kind: Kind
    size: int  # bytes
    notes: int | None  # notes outside the trash; None when it cannot be read
    good: bool
    problem: str | None  # why it is not good, in plain words


class Restored(TypedDict):
    restored: str  # the file put back
    notes: int
    kept: Backup | None  # the notes it replaced, as a backup
    set_aside: str | None  # or the damaged file it replaced, moved to this name


def backup_name(created_ms: int, kind: Kind) -> str:
    when = datetime.fromtimestamp(created_ms // 1000, UTC).strftime(_STAMP)
    return f"margin-{when}.{created_ms % 1000:03d}Z-{kind}.sqlite3"


def parse_name(name: str) -> tuple[int, Kind] | None:
    """(created ms, kind) of a backup's file name; None for any other name."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    when = datetime.strptime(match[1], _STAMP).replace(tzinfo=UTC)
    kind: Kind = match[3]  # type: ignore[assignment]  # the pattern allows only these
    return int(when.timestamp()) * 1000 + int(match[2]), kind


class Backups:
    """The backups of one database file; safe to use from several threads."""

    def __init__(
        self,
        database: Path,
        folder: Path,
        *,
        keep: int = KEEP,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.database = database
        self.folder = folder
        self._keep = keep
        self._clock = clock
        self._lock = threading.Lock()
        # Why the last automatic backup failed (AutoBackups), for the Backups view.
        self.auto_problem: str | None = None
        # Checks by (name, size, mtime): a backup is read through once, not per listing.
        self._checked: dict[tuple[str, int, int], db_check.Health] = {}

    # ------------------------------------------------------------ snapshots

    def take(self, kind: Kind = "manual") -> Backup:
        """A snapshot of the database now, checked, then the oldest beyond KEEP removed."""
        with self._lock:
            backup = self._take(kind)
            self._prune()
        return backup

    def list(self) -> list[Backup]:
        """Every backup in the folder, newest first."""
        with self._lock:
            return self._list()

    def newest_good(self) -> Backup | None:
        with self._lock:
            return next((b for b in self._list() if b["good"]), None)

    def path_of(self, name: str) -> Path:
        """The file of a backup by its name; refuses anything that is not one."""
        if parse_name(name) is None:
            raise BackupError(f"“{name}” is not the name of a Margin backup.")
        path = self.folder / name
        if not path.is_file():
            raise BackupError(f"There is no backup called {name}.")
        return path

    # ------------------------------------------------------------ restoring

    def restore_into(self, store: Store, name: str) -> Restored:
        """Puts backup `name` into the running app's open store (its notes kept first).

        The store copies it in with SQLite's backup API in one transaction, so the
        app's connection, search index and listeners carry on (see Store.replace_with).
        """
        with self._lock:
            source = self.path_of(name)
            notes = _checked_source(source)
            # Even a damaged current database is kept: it may be all there is.
            kept = self._take("before-restore", keep_damaged=True)
            store.replace_with(source)
            self._prune()
        log.info("restored %s into the open store; kept %s", name, kept["name"])
        return {"restored": name, "notes": notes, "kept": kept, "set_aside": None}

    def restore_file(self, source: Path | None = None) -> Restored:
        """Puts a backup (default: the newest good one) in place while no store is open.

        A sound current database is kept as a before-restore backup and replaced
        through the store; one that fails its check (or is from a newer Margin) is
        never written to: it is moved aside with its -wal and -shm files, as
        margin-set-aside-<time>.sqlite3 beside it.
        """
        with self._lock:
            if source is None:
                newest = next((b for b in self._list() if b["good"]), None)
                if newest is None:
                    raise BackupError(f"There is no good backup in {self.folder}.")
                source = self.folder / newest["name"]
            notes = _checked_source(source)
            kept: Backup | None = None
            set_aside: Path | None = None
            if not self.database.exists():
                _put_in_place(source, self.database)
            elif db_check.diagnose(self.database).problem is None:
                kept = self._take("before-restore")
                store = Store(self.database)
                try:
                    store.replace_with(source)
                finally:
                    store.close()
            else:
                set_aside = _set_aside(self.database, self._clock())
                _put_in_place(source, self.database)
            self._prune()
        log.info("restored %s; kept %s, set aside %s", source, kept, set_aside)
        return {
            "restored": source.name,
            "notes": notes,
            "kept": kept,
            "set_aside": set_aside.name if set_aside else None,
        }

    # ------------------------------------------------------------ inside the lock

    def _take(self, kind: Kind, *, keep_damaged: bool = False) -> Backup:
        if not self.database.exists():
            raise BackupError(f"There is no notes database at {self.database} to back up.")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._remove_stale_parts()
        created = self._clock()
        while (self.folder / backup_name(created, kind)).exists():
            created += 1
        final = self.folder / backup_name(created, kind)
        part = self.folder / f".{final.name}{_PART_SUFFIX}"
        try:
            _copy_database(self.database, part)
            health = db_check.diagnose(part)
            if health.problem is not None and not keep_damaged:
                raise BackupError(
                    "The backup was not kept, as it failed its check: "
                    + health.problem["message"]
                )
            part.replace(final)
            _flush_folder(self.folder)
        except OSError as exc:
            raise BackupError(f"Could not write a backup in {self.folder}: {exc}") from exc
        finally:
            part.unlink(missing_ok=True)
        backup = self._entry(final, health)
        log.info("backup %s: %s notes, %d bytes", final.name, backup["notes"], backup["size"])
        return backup

    def _list(self) -> list[Backup]:
        if not self.folder.is_dir():
            return []
        paths = sorted(
            (path for path in self.folder.iterdir() if parse_name(path.name)), reverse=True
        )
        return [self._entry(path) for path in paths]

    def _entry(self, path: Path, health: db_check.Health | None = None) -> Backup:
        stat = path.stat()
        key = (path.name, stat.st_size, stat.st_mtime_ns)
        if health is not None:
            self._checked[key] = health
        elif key in self._checked:
            health = self._checked[key]
        else:
            health = self._checked[key] = db_check.diagnose(path)
        parsed = parse_name(path.name)
        assert parsed is not None
        return {
            "name": path.name,
            "created": parsed[0],
            "kind": parsed[1],
            "size": stat.st_size,
            "notes": health.notes,
            "good": health.problem is None,
            "problem": health.problem["message"] if health.problem else None,
        }

    def _prune(self) -> None:
        """Keeps the newest KEEP good backups, and the newest good one of each of the
        DAYS latest days that have one, so that a day of restarts (a backup each)
        does not push out yesterday's. Damaged ones go only once there are KEEP good
        ones and they are older than the oldest good one kept."""
        listed = self._list()
        good = [backup for backup in listed if backup["good"]]
        kept = good[: self._keep]
        days: set[int] = set()
        for backup in good:
            day = backup["created"] // _DAY_MS
            if day not in days and len(days) < DAYS:
                days.add(day)
                if backup not in kept:
                    kept.append(backup)
        if len(good) < self._keep:
            return
        oldest = min(backup["created"] for backup in kept)
        for backup in listed:
            if backup in kept or (not backup["good"] and backup["created"] > oldest):
                continue
            (self.folder / backup["name"]).unlink(missing_ok=True)
            log.info("removed old backup %s", backup["name"])

    def _remove_stale_parts(self) -> None:
        cutoff = time.time() - _STALE_PART_S
        for part in self.folder.glob(f".margin-*{_PART_SUFFIX}"):
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
            except OSError:
                pass  # another process's, still being written, or gone already


class AutoBackups:
    """A backup now (the database opened fine), then one every `interval_s`, on a
    daemon thread. Failures are logged and kept in Backups.auto_problem."""

    def __init__(self, backups: Backups, interval_s: float = AUTO_INTERVAL_S) -> None:
        self._backups = backups
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, after: threading.Event | None = None) -> None:
        """Backs up now, or once `after` is set (at most FIRST_WAIT_S later).

        The window waits with its first backup until its page is up: a copy of many
        notes takes a core for a second, which a start on two cores feels, and
        nothing can change the notes before the page is there to change them."""
        self._thread = threading.Thread(
            target=self._run, args=(after,), name="auto-backup", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the timer; waits (up to `timeout`) for a backup under way to finish."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, after: threading.Event | None) -> None:
        if after is not None:
            deadline = time.monotonic() + FIRST_WAIT_S
            while not after.wait(0.05) and time.monotonic() < deadline:
                if self._stopped.is_set():
                    return
        while True:
            try:
                self._backups.take("auto")
                self._backups.auto_problem = None
            except BackupError as exc:
                self._backups.auto_problem = exc.message
                log.warning("automatic backup failed: %s", exc.message)
            except Exception:
                self._backups.auto_problem = "The automatic backup failed. Details are in the log."
                log.exception("automatic backup failed")
            if self._stopped.wait(self._interval_s):
                return


def _checked_source(source: Path) -> int:
    """The live notes in a file about to be restored; refuses one that is not sound."""
    if not source.is_file():
        raise BackupError(f"There is no file {source}.")
    health = db_check.diagnose(source)
    if health.problem is not None:
        raise BackupError(f"{source.name} cannot be restored. {health.problem['message']}")
    assert health.notes is not None
    return health.notes


def _copy_database(source: Path, target: Path) -> None:
    """A consistent copy of `source` (through its WAL, if any) as one self-contained,
    flushed file at `target`, a name nobody else uses."""
    target.unlink(missing_ok=True)
    try:
        reader = sqlite3.connect(source.as_uri() + "?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_S)
        try:
            writer = sqlite3.connect(target, isolation_level=None)
            try:
                reader.backup(writer)
                writer.execute("PRAGMA journal_mode = DELETE")
            finally:
                writer.close()
        finally:
            reader.close()
    except sqlite3.Error as exc:
        raise BackupError(f"Could not copy {source.name}: {exc}") from exc
    with open(target, "rb+") as file:
        os.fsync(file.fileno())


def _put_in_place(source: Path, database: Path) -> None:
    """Copies `source` to `database`, which does not exist: whole, or not at all."""
    part = database.with_name(f".{database.name}{_PART_SUFFIX}")
    try:
        _copy_database(source, part)
        part.replace(database)
        _flush_folder(database.parent)
    finally:
        part.unlink(missing_ok=True)


def _set_aside(database: Path, now: int) -> Path:
    """Moves a database that must not be written, with its journal files, to a name
    beside it that says so; returns the new path of the database file."""
    when = datetime.fromtimestamp(now // 1000, UTC).strftime(_STAMP)
    aside = database.with_name(f"margin-set-aside-{when}.{now % 1000:03d}Z.sqlite3")
    # The journal files go first: left behind, SQLite would apply them to the new file.
    for suffix in ("-wal", "-shm", "-journal"):
        companion = database.with_name(database.name + suffix)
        if companion.exists():
            companion.replace(aside.with_name(aside.name + suffix))
    database.replace(aside)
    _flush_folder(database.parent)
    log.warning("moved the database that could not be used to %s", aside)
    return aside


def _flush_folder(folder: Path) -> None:
    """Makes a rename in `folder` survive a power cut (POSIX; Windows has no such call)."""
    if os.name == "nt":
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
