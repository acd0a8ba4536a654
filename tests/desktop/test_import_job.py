"""The import runner: progress, cancelling, resuming after a cancel or a crash, and
paths it cannot import."""

from __future__ import annotations

from pathlib import Path

from desktop.imports.job import ImportRun
from desktop.store import Store


def make_notes(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"note {i:04}.md").write_text(f"Note number {i} #batch{i % 3}\n")
    return folder


def test_a_cancelled_import_resumes_where_it_stopped(store: Store, tmp_path: Path) -> None:
    folder = make_notes(tmp_path / "notes", 120)
    run = ImportRun(store, folder, batch=10)
    # Cancel as soon as the first batch is in (listeners hear each commit).
    store.watch(lambda ids: run.cancel())
    cancelled = run.run()
    assert cancelled["state"] == "cancelled"
    first = cancelled["imported"]
    assert 10 <= first < 30
    assert cancelled["done"] == first and cancelled["total"] == 120
    assert cancelled["rate"] > 0 and cancelled["seconds_left"] is None

    resumed = ImportRun(store, folder, batch=10).run()
    assert resumed["state"] == "done"
    assert resumed["job"] == cancelled["job"]
    assert resumed["resumed"] == first  # skipped without reading them again
    assert resumed["imported"] == 120  # over both runs
    assert resumed["duplicates"] == 0
    assert resumed["done"] == resumed["total"] == 120
    assert len(store.list_notes(limit=1000)) == 120
    assert {t["name"] for t in store.list_tags()} == {"batch0", "batch1", "batch2"}

    # Finished: the next import of the folder is a new one, and finds only duplicates.
    again = ImportRun(store, folder).run()
    assert again["job"] != cancelled["job"]
    assert (again["imported"], again["duplicates"], again["resumed"]) == (0, 120, 0)


def test_an_import_cut_short_resumes_in_a_new_session(tmp_path: Path) -> None:
    folder = make_notes(tmp_path / "notes", 50)
    database = tmp_path / "notes.db"
    store = Store(database)
    # The app closes mid-import: the store goes away after the first batch.
    store.watch(lambda ids: store.close())
    stopped = ImportRun(store, folder, batch=10).run()
    assert stopped["state"] == "failed"
    assert "the store is closed" in stopped["problem"]

    store = Store(database)
    kept = len(store.list_notes(limit=1000))
    assert kept == 10
    resumed = ImportRun(store, folder, batch=10).run()
    assert (resumed["state"], resumed["resumed"], resumed["imported"]) == ("done", 10, 50)
    assert len(store.list_notes(limit=1000)) == 50
    store.close()


def test_paths_it_cannot_import_fail_with_a_reason(store: Store, tmp_path: Path) -> None:
    missing = ImportRun(store, tmp_path / "nowhere").run()
    assert missing["state"] == "failed" and "does not exist" in missing["problem"]
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG")
    unsupported = ImportRun(store, picture).run()
    assert unsupported["state"] == "failed" and "not something Margin imports" in unsupported[
        "problem"]
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = ImportRun(store, empty).run()
    assert (nothing["state"], nothing["total"], nothing["imported"]) == ("done", 0, 0)
