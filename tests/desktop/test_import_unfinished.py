"""Imports that stopped before their end, as the app offers them (job.unfinished),
resumed by their job or discarded (Store.resume_import, Store.discard_import)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from desktop.imports.job import ImportRun, unfinished
from desktop.store import NotFound, Store
from tests.desktop.test_import_job import make_notes


def cancelled_after_a_batch(store: Store, folder: Path) -> dict:
    run = ImportRun(store, folder, batch=10)
    store.watch(lambda ids: run.cancel())
    return run.run()


def test_offers_say_where_each_import_stopped(store: Store, tmp_path: Path) -> None:
    crashed = make_notes(tmp_path / "crashed", 30)
    cancelled = cancelled_after_a_batch(store, make_notes(tmp_path / "cancelled", 40))
    # Begun and never ended, as a crash leaves it.
    job = store.begin_import(str(crashed.resolve()), "folder")["id"]
    offers = unfinished(store)
    # The one cut short comes first, though the cancelled one is older.
    assert offers[0] == {
        "job": job, "path": str(crashed.resolve()), "state": "stopped",
        "done": 0, "imported": 0, "total": 30, "missing": False,
    }
    assert offers[1] == {
        "job": cancelled["job"], "path": cancelled["path"], "state": "cancelled",
        "done": cancelled["done"], "imported": cancelled["imported"], "total": 40,
        "missing": False,
    }
    assert len(offers) == 2
    # The running one is left out; a gone folder is said to be gone, with no total.
    assert [offer["job"] for offer in unfinished(store, running=job)] == [cancelled["job"]]
    shutil.rmtree(crashed)
    assert unfinished(store)[0] == {**offers[0], "total": None, "missing": True}


def test_resuming_a_job_finishes_it_and_discarding_keeps_its_notes(
    store: Store, tmp_path: Path
) -> None:
    first = make_notes(tmp_path / "first", 40)
    cancelled = cancelled_after_a_batch(store, first)
    resumed = ImportRun(store, first, job=cancelled["job"]).run()
    assert (resumed["state"], resumed["job"]) == ("done", cancelled["job"])
    assert (resumed["imported"], resumed["resumed"]) == (40, cancelled["done"])
    assert unfinished(store) == []
    with pytest.raises(NotFound):
        store.resume_import(cancelled["job"])  # done: nothing to resume
    with pytest.raises(NotFound):
        store.discard_import(cancelled["job"])

    second = tmp_path / "second"
    second.mkdir()
    for i in range(30):
        (second / f"other {i:02}.md").write_text(f"Another note, number {i}\n")
    kept = cancelled_after_a_batch(store, second)
    store.discard_import(kept["job"])
    assert unfinished(store) == []
    assert len(store.list_notes(limit=1000)) == 40 + kept["imported"]
    # Imported again, the folder is a new job (nothing done before) that skips the
    # kept notes by content.
    again = ImportRun(store, second).run()
    assert (again["state"], again["resumed"]) == ("done", 0)
    assert (again["imported"], again["duplicates"]) == (30 - kept["imported"], kept["imported"])
    assert len(store.list_notes(limit=1000)) == 70
