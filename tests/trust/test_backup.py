"""Backups on real SQLite files: snapshots equal the database, the newest 7 good ones are
kept, damaged ones never count as good, a restore keeps the notes it replaces, and the
`margin backup` / `margin restore` commands."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from desktop import migrations, paths
from desktop.app import InstanceLock
from desktop.backup import DAYS, KEEP, AutoBackups, BackupError, Backups, parse_name
from desktop.search import Search
from desktop.store import VECTOR_DIMENSIONS, Store
from tests.conftest import ROOT
from tests.desktop.clock import DAY_MS
from tests.desktop.clock import Clock as SettableClock
from tests.trust.broken_db import (
    BREAKERS,
    NO_FILE_OVERRIDE,
    fails_integrity_check,
    file_state,
    make_notes,
    titles_in,
)

MODEL = "test-model"
# Mode 000 stops only a process without root's powers: a subprocess, under NO_FILE_OVERRIDE.
IN_PROCESS_KINDS = sorted(k for k in BREAKERS if k != "unreadable" or not NO_FILE_OVERRIDE)
TABLES = ("notes", "tags", "note_tags", "embeddings", "suggestion_feedback")


class Clock:
    """Milliseconds that move a minute per reading: backups get distinct, ordered names."""

    def __init__(self) -> None:
        self._ticks = itertools.count()

    def __call__(self) -> int:
        return 1_790_000_000_000 + next(self._ticks) * 60_000


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.fixture
def backups(data: Path) -> Backups:
    return Backups(paths.database_file(data), paths.backups_dir(data), clock=Clock())


@pytest.fixture
def store(data: Path) -> Iterator[Store]:
    make_notes(paths.database_file(data), ["Alpha", "Beta", "Gamma"])
    opened = Store(paths.database_file(data))
    yield opened
    opened.close()


def rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(db.as_uri() + "?mode=ro", uri=True)) as conn:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in TABLES}


def add_filler(db: Path, count: int) -> None:
    """Notes in one transaction (the store's would take one each): about 2 kB apiece."""
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        migrations.register_functions(conn)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO notes (title, body, created, updated, content_hash)"
            " VALUES (?, ?, 0, 0, '')",
            ((f"Filler {i}", f"filler words {i} " * 120) for i in range(count)),
        )
        conn.execute("COMMIT")


def unit_vector(seed: int) -> bytes:
    vector = np.random.default_rng(seed).standard_normal(VECTOR_DIMENSIONS).astype("<f4")
    return (vector / np.linalg.norm(vector)).astype("<f4").tobytes()


# ---------------------------------------------------------------- snapshots


def test_a_snapshot_holds_exactly_what_the_database_holds(store: Store, backups: Backups):
    note = store.create_note(title="With a vector", body="and a tag")
    store.put_embedding(note["id"], unit_vector(1), MODEL, note["content_hash"])
    store.accept_suggestion(note["id"], "travel", "default", 0.9)

    backup = backups.take()

    path = backups.folder / backup["name"]
    assert rows(path) == rows(backups.database)
    assert backup["good"] and backup["notes"] == 4 and backup["kind"] == "manual"
    assert backup["size"] == path.stat().st_size
    assert parse_name(backup["name"]) == (backup["created"], "manual")
    # One self-contained file: no journal beside it, no temporary file left.
    with closing(sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert sorted(p.name for p in backups.folder.iterdir()) == [backup["name"]]


def test_saves_go_on_while_a_snapshot_is_taken(store: Store, backups: Backups):
    add_filler(backups.database, 5000)
    saved: list[int] = []
    stop = threading.Event()

    def keep_saving() -> None:
        while not stop.is_set():
            saved.append(store.create_note(title="During", body="a backup")["id"])

    writer = threading.Thread(target=keep_saving)
    writer.start()
    try:
        time.sleep(0.05)
        before = len(saved)
        backup = backups.take()
        during = len(saved) - before
    finally:
        stop.set()
        writer.join()
    # The snapshot is one consistent moment: a whole number of saves, all intact.
    assert backup["good"]
    assert 5003 + before <= backup["notes"] <= 5003 + before + during
    assert during > 0, "no save completed while the snapshot was taken"


def test_the_newest_seven_are_kept(store: Store, backups: Backups):
    taken = [backups.take("auto")["name"] for _ in range(KEEP + 3)]

    assert [b["name"] for b in backups.list()] == taken[::-1][:KEEP]
    assert sorted(p.name for p in backups.folder.iterdir()) == sorted(taken[-KEEP:])


def test_a_day_of_restarts_does_not_push_out_the_days_before(store: Store, data: Path):
    clock = SettableClock()
    backups = Backups(paths.database_file(data), paths.backups_dir(data), clock=clock)
    midnight = (clock.now // DAY_MS + 1) * DAY_MS
    taken: dict[int, list[str]] = {}
    for day in range(DAYS + 3):
        # A start a day, each with its backup; the last day, many starts.
        for start in range(2 if day < DAYS + 2 else KEEP + 3):
            clock.now = midnight + day * DAY_MS + start * 60_000
            taken.setdefault(day, []).append(backups.take("auto")["name"])

    last = DAYS + 2
    older_days = [taken[day][-1] for day in range(last - 1, last - DAYS, -1)]
    assert [b["name"] for b in backups.list()] == taken[last][::-1][:KEEP] + older_days
    assert len(older_days) == DAYS - 1


def test_names_sort_by_time_and_say_what_made_them(backups: Backups):
    from desktop.backup import backup_name

    names = [backup_name(ms, "auto") for ms in (999, 1_000, 59_999, 1_790_000_000_001)]
    assert names == sorted(names)
    assert names[-1] == "margin-2026-09-21T14-13-20.001Z-auto.sqlite3"
    assert parse_name("margin-2026-09-21T14-13-20.001Z-before-restore.sqlite3") == (
        1_790_000_000_001, "before-restore")
    for other in ("margin.sqlite3", "../margin-2026-09-21T14-13-20.001Z-auto.sqlite3",
                  ".margin-2026-09-21T14-13-20.001Z-auto.sqlite3.part"):
        assert parse_name(other) is None


def test_a_backup_that_fails_its_check_is_not_counted_as_good(
    store: Store, backups: Backups, data: Path
):
    for _ in range(KEEP):
        backups.take("auto")
    # The newest backup is found damaged later (a bad disk block, say).
    newest = backups.list()[0]
    damaged = backups.folder / newest["name"]
    damaged.unlink()
    fails_integrity_check(damaged)

    listed = backups.list()
    assert [b["good"] for b in listed] == [False] + [True] * (KEEP - 1)
    assert "damaged" in listed[0]["problem"]
    assert backups.newest_good() == listed[1]

    # Two more backups: still seven good ones, and the damaged one is no backup.
    backups.take("auto")
    backups.take("auto")
    listed = backups.list()
    assert sum(b["good"] for b in listed) == KEEP
    assert damaged.exists()  # newer than the oldest good one kept: left to look at

    # Restoring picks the newest good backup, never the damaged one.
    store.close()
    done = backups.restore_file()
    assert done["restored"] == listed[0]["name"]


def test_a_snapshot_of_a_damaged_database_is_refused_and_not_kept(data: Path, backups: Backups):
    fails_integrity_check(backups.database)
    with pytest.raises(BackupError, match="failed its check"):
        backups.take()
    assert list(backups.folder.iterdir()) == []


def test_automatic_backups_at_start_and_then_on_a_timer(store: Store, backups: Backups):
    auto = AutoBackups(backups, interval_s=0.2)
    auto.start()
    try:
        deadline = time.monotonic() + 20
        while len(backups.list()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        auto.stop()
    listed = backups.list()
    assert len(listed) >= 3 and {b["kind"] for b in listed} == {"auto"}
    assert backups.auto_problem is None
    count = len(list(backups.folder.iterdir()))
    time.sleep(0.5)
    assert len(list(backups.folder.iterdir())) == count, "backups went on after stop()"


def test_the_first_automatic_backup_waits_for_its_go_ahead(store: Store, backups: Backups):
    page_up = threading.Event()
    auto = AutoBackups(backups, interval_s=60)
    auto.start(after=page_up)
    try:
        time.sleep(0.4)
        assert backups.list() == []
        page_up.set()
        deadline = time.monotonic() + 10
        while not backups.list() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [b["kind"] for b in backups.list()] == ["auto"]
    finally:
        auto.stop()


def test_closing_before_the_go_ahead_takes_no_backup(store: Store, backups: Backups):
    auto = AutoBackups(backups, interval_s=60)
    auto.start(after=threading.Event())
    auto.stop()
    assert backups.list() == []
    assert backups.auto_problem is None


def test_a_failed_automatic_backup_is_kept_for_the_view_to_show(data: Path, backups: Backups):
    auto = AutoBackups(backups, interval_s=60)
    auto.start()  # no database to back up
    auto.stop()
    assert backups.auto_problem is not None
    assert backups.auto_problem.startswith("There is no notes database")


# ---------------------------------------------------------------- restoring


def test_restore_into_the_open_store_keeps_the_notes_it_replaces(store: Store, backups: Backups):
    search = Search(store, MODEL)
    search.start()
    kept = store.create_note(title="Before the backup", body="tram to Belém")
    store.put_embedding(kept["id"], unit_vector(1), MODEL, kept["content_hash"])
    backup = backups.take()
    later = store.create_note(title="After the backup", body="ferry to Cacilhas")
    store.put_embedding(later["id"], unit_vector(2), MODEL, later["content_hash"])
    store.delete_note(kept["id"])
    assert search.wait_ready(10)
    before = rows(backups.database)

    done = backups.restore_into(store, backup["name"])

    assert rows(backups.database) == rows(backups.folder / backup["name"])
    assert done["notes"] == 4 and done["set_aside"] is None
    # What was replaced is a backup now, and restoring it undoes the restore.
    assert done["kept"] is not None and done["kept"]["kind"] == "before-restore"
    assert rows(backups.folder / done["kept"]["name"]) == before
    # Search follows: the restored note by meaning and words, the replaced one gone.
    by_meaning = [i for i, _ in search.nearest(np.frombuffer(unit_vector(1), "<f4"), 5)]
    assert kept["id"] in by_meaning and later["id"] not in by_meaning
    assert [r["id"] for r in search.query(None, "ferry", limit=5)] == []
    assert [r["id"] for r in search.query(None, "Belém", limit=5)] == [kept["id"]]
    # And the store works on: writes land in the restored database.
    store.create_note(title="After the restore")
    assert titles_in(backups.database)[-1] == "After the restore"

    backups.restore_into(store, done["kept"]["name"])
    assert rows(backups.database)["notes"] == before["notes"]


def test_restore_refuses_names_that_are_not_backups(store: Store, backups: Backups):
    backups.take()
    for name in ("margin.sqlite3", "../margin.sqlite3",
                 "margin-2020-01-01T00-00-00.000Z-auto.sqlite3"):
        with pytest.raises(BackupError):
            backups.restore_into(store, name)
    assert len(backups.list()) == 1


@pytest.mark.parametrize("kind", IN_PROCESS_KINDS)
def test_restore_sets_a_broken_database_aside_untouched(kind: str, data: Path, backups: Backups):
    make_notes(backups.database, ["Good one", "Good two"])
    backups.take()
    backups.database.unlink()
    BREAKERS[kind](backups.database)
    # A killed app's journal belongs to the broken file: it goes along with it.
    wal = backups.database.with_name("margin.sqlite3-wal")
    wal.write_bytes(b"not for the restored file")
    before = file_state(backups.database)

    done = backups.restore_file()

    assert done["kept"] is None
    aside = data / done["set_aside"]
    assert aside.name.startswith("margin-set-aside-")
    assert file_state(aside) == before
    assert titles_in(backups.database) == ["Good one", "Good two"]
    assert not wal.exists()


def test_restore_without_a_database_puts_the_backup_in_place(data: Path, backups: Backups):
    make_notes(backups.database, ["Only"])
    backups.take()
    backups.database.unlink()
    done = backups.restore_file()
    assert done["kept"] is None and done["set_aside"] is None
    assert titles_in(backups.database) == ["Only"]


# ---------------------------------------------------------------- the command line


def margin(data: Path, *args: str, wrapper: list[str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*(wrapper or []), sys.executable, "-m", "desktop", "--data-dir", str(data), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


def test_margin_backup_and_restore(data: Path):
    db = paths.database_file(data)
    make_notes(db, ["First"])
    made = margin(data, "backup")
    assert made.returncode == 0, made.stderr
    first = Path(made.stdout.strip())
    assert first.parent == paths.backups_dir(data) and titles_in(first) == ["First"]

    make_notes(db, ["Second"])
    second = Path(margin(data, "backup").stdout.strip())
    make_notes(db, ["Third"])

    # By default the newest good backup; the notes it replaced become a backup.
    restored = margin(data, "restore")
    assert restored.returncode == 0, restored.stderr
    assert titles_in(db) == ["First", "Second"]
    assert f"Restored {second.name}" in restored.stdout
    kept = Path(restored.stdout.split("kept as ")[1].strip())
    assert titles_in(kept) == ["First", "Second", "Third"]

    # A backup by its name, or any file by its path.
    assert margin(data, "restore", first.name).returncode == 0
    assert titles_in(db) == ["First"]
    assert margin(data, "restore", str(kept)).returncode == 0
    assert titles_in(db) == ["First", "Second", "Third"]


def test_margin_restore_is_refused_while_the_app_holds_the_data_folder(data: Path):
    db = paths.database_file(data)
    make_notes(db, ["Mine"])
    assert margin(data, "backup").returncode == 0
    lock = InstanceLock(paths.lock_file(data))
    assert lock.acquire()
    try:
        refused = margin(data, "restore")
    finally:
        lock.release()
    assert refused.returncode == 1
    assert "Margin is open with the data folder" in refused.stderr
    assert len(list(paths.backups_dir(data).iterdir())) == 1


def test_margin_restore_without_backups_says_so(data: Path):
    make_notes(paths.database_file(data), ["Alone"])
    refused = margin(data, "restore")
    assert refused.returncode == 1 and "no good backup" in refused.stderr
    assert titles_in(paths.database_file(data)) == ["Alone"]


@pytest.mark.parametrize("kind", sorted(BREAKERS))
def test_commands_leave_a_broken_database_as_it_is(kind: str, data: Path, tmp_path: Path):
    db = paths.database_file(data)
    BREAKERS[kind](db)
    before = file_state(db)
    wrapper = NO_FILE_OVERRIDE if kind == "unreadable" else None

    backed_up = margin(data, "backup", wrapper=wrapper)
    exported = margin(data, "export", "--format", "json", str(tmp_path / "out"), wrapper=wrapper)

    assert backed_up.returncode == 1 and exported.returncode == 1
    assert "margin restore" in exported.stderr
    assert file_state(db) == before
    assert not paths.backups_dir(data).exists() or not any(paths.backups_dir(data).iterdir())


def test_margin_restore_sets_an_unreadable_database_aside(data: Path):
    db = paths.database_file(data)
    make_notes(db, ["Readable"])
    assert margin(data, "backup").returncode == 0
    db.unlink()
    BREAKERS["unreadable"](db)
    before = file_state(db)

    restored = margin(data, "restore", wrapper=NO_FILE_OVERRIDE)

    assert restored.returncode == 0, restored.stderr
    [aside] = data.glob("margin-set-aside-*.sqlite3")
    assert file_state(aside) == before
    assert titles_in(db) == ["Readable"]


def test_a_file_with_another_page_size_restores_into_the_open_store(
    store: Store, backups: Backups, tmp_path: Path
):
    other = tmp_path / "older.sqlite3"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("VACUUM")
    make_notes(other, ["From a smaller page size"])
    store.replace_with(other)
    assert [n["title"] for n in store.list_notes()] == ["From a smaller page size"]
    store.create_note(title="Written after")
    with closing(sqlite3.connect(backups.database)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
