"""Many threads writing at once, as pywebview's js_api calls do (one thread per call)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from desktop.store import Store

THREADS = 8
NOTES_PER_THREAD = 20
# Every thread adds the same tag in its own spelling: one tag must come out of it.
SHARED_SPELLINGS = ("Shared", "shared", "SHARED")


def run_together(work: Callable[[int], None], count: int) -> list[BaseException]:
    """Runs work(0..count-1) on threads released at the same moment; returns their errors."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # collected so the main thread can report it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    return errors


def write_notes(store: Store, n: int) -> None:
    for k in range(NOTES_PER_THREAD):
        note = store.create_note(f"thread {n} note {k}", "draft", tags=[f"thread {n}"])
        store.update_note(note["id"], body=f"final text from thread {n} number {k}")
        store.add_tag(note["id"], SHARED_SPELLINGS[n % len(SHARED_SPELLINGS)])
        store.add_tag(note["id"], f"k{k}", origin="accepted")
        # Reads interleave with the other threads' writes.
        store.list_notes("final", limit=5)
        store.list_tags()


def check_every_write(db_path: Path) -> None:
    store = Store(db_path)
    summaries = store.list_notes(limit=10_000)
    assert len(summaries) == THREADS * NOTES_PER_THREAD
    assert len(store.list_notes("final text", limit=10_000)) == THREADS * NOTES_PER_THREAD
    seen = set()
    for summary in summaries:
        note = store.get_note(summary["id"])
        n, k = (int(word) for word in note["title"].split()[1::2])
        seen.add((n, k))
        assert note["body"] == f"final text from thread {n} number {k}"
        assert {(t["name"].casefold(), t["origin"]) for t in note["tags"]} == {
            (f"thread {n}", "user"),
            ("shared", "user"),
            (f"k{k}", "accepted"),
        }
    assert len(seen) == THREADS * NOTES_PER_THREAD

    tags = {tag["name"].casefold(): tag["count"] for tag in store.list_tags()}
    assert tags == {
        "shared": THREADS * NOTES_PER_THREAD,
        **{f"thread {n}": NOTES_PER_THREAD for n in range(THREADS)},
        **{f"k{k}": THREADS for k in range(NOTES_PER_THREAD)},
    }
    store.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)")
        assert conn.execute("SELECT count(*) FROM tags").fetchone()[0] == len(tags)


def test_eight_threads_writing_through_one_store(tmp_path: Path) -> None:
    db_path = tmp_path / "notes.db"
    store = Store(db_path)
    errors = run_together(lambda n: write_notes(store, n), THREADS)
    store.close()
    assert errors == []
    check_every_write(db_path)


def test_two_stores_on_one_file_wait_for_each_other(tmp_path: Path) -> None:
    """Two connections (as two processes would have) rely on WAL and busy_timeout."""
    db_path = tmp_path / "notes.db"
    stores = [Store(db_path), Store(db_path)]
    errors = run_together(lambda n: write_notes(stores[n % 2], n), THREADS)
    for store in stores:
        store.close()
    assert errors == []
    check_every_write(db_path)
