"""What backups cost on a database of `--notes` notes, each with a 512-d vector.

    .venv/bin/python bench/backup.py [--notes 10000] [--runs 3]

Times (medians, seconds): the read-only check at start (db_check.diagnose, with
integrity_check), a snapshot (Backups.take: copy, check, rename), the longest a save
waited while a snapshot was taken, a restore into the open store (before-restore
snapshot + copy in + search index kept in step) and listing 7 backups afresh.
Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop import db_check, migrations  # noqa: E402
from desktop.backup import KEEP, Backups  # noqa: E402
from desktop.search import Search  # noqa: E402
from desktop.store import Store, content_hash, now_ms  # noqa: E402

MODEL = "bench-model"


def fill(database: Path, notes: int) -> None:
    """`notes` notes of about 600 characters with a vector each, in one transaction."""
    Store(database).close()
    rng = np.random.default_rng(0)
    with closing(sqlite3.connect(database, isolation_level=None)) as conn:
        migrations.register_functions(conn)
        conn.execute("BEGIN")
        now = now_ms()
        for i in range(notes):
            title, body = f"Note {i}", f"Words of note {i} about things. " * 20
            digest = content_hash(title, body)
            note_id = conn.execute(
                "INSERT INTO notes (title, body, created, updated, content_hash)"
                " VALUES (?, ?, ?, ?, ?)", (title, body, now, now, digest)).lastrowid
            vector = rng.standard_normal(512).astype("<f4")
            conn.execute("INSERT INTO embeddings VALUES (?, ?, ?, ?)",
                         (note_id, MODEL, digest, (vector / np.linalg.norm(vector)).tobytes()))
        conn.execute("COMMIT")


def longest_save_during(store: Store, work: Callable[[], object]) -> tuple[float, float]:
    """(seconds `work` took, the longest a save waited meanwhile)."""
    waits: list[float] = []
    stop = threading.Event()

    def keep_saving() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            store.create_note(title="During", body="a backup")
            waits.append(time.perf_counter() - started)

    writer = threading.Thread(target=keep_saving)
    writer.start()
    time.sleep(0.05)
    started = time.perf_counter()
    work()
    took = time.perf_counter() - started
    stop.set()
    writer.join()
    return took, max(waits)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "margin.sqlite3"
        fill(database, args.notes)
        checks, snapshots, waits, restores, listings = [], [], [], [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            assert db_check.diagnose(database).problem is None
            checks.append(time.perf_counter() - started)
        store = Store(database)
        search = Search(store, MODEL)
        search.start()
        search.wait_ready()
        backups = Backups(database, Path(tmp) / "backups")
        for _ in range(args.runs):
            took, waited = longest_save_during(store, backups.take)
            snapshots.append(took)
            waits.append(waited)
        for _ in range(KEEP):
            backups.take()
        for _ in range(args.runs):
            name = backups.list()[-1]["name"]
            started = time.perf_counter()
            backups.restore_into(store, name)
            restores.append(time.perf_counter() - started)
            listings.append(timed_fresh_listing(database, backups.folder))
        size = backups.list()[0]["size"]
        store.close()
    print(json.dumps({
        "notes": args.notes,
        "database_mb": round(size / 1e6, 1),
        "backup_mb": round(size / 1e6, 1),
        "check_at_start_s": round(statistics.median(checks), 3),
        "snapshot_s": round(statistics.median(snapshots), 3),
        "longest_save_wait_during_snapshot_s": round(max(waits), 3),
        "restore_into_open_store_s": round(statistics.median(restores), 3),
        "list_7_backups_fresh_s": round(statistics.median(listings), 3),
    }))


def timed_fresh_listing(database: Path, folder: Path) -> float:
    """Listing as a new process would: every backup checked once."""
    started = time.perf_counter()
    Backups(database, folder).list()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
