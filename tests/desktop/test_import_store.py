"""The store's side of imports, exports and bulk changes: jobs and their items,
deduplication, kept times and origins, and one transaction for many notes."""

from __future__ import annotations

import base64
import sqlite3
import struct
from pathlib import Path

import pytest

from desktop import migrations, validate
from desktop.store import ImportedNote, Invalid, NotFound, Store, content_hash
from tests.desktop.test_store_migrations import T0, make_version_1_database

NOW = 1_700_000_000_000


@pytest.fixture
def store(tmp_path: Path):
    store = Store(tmp_path / "notes.db", clock=lambda: NOW)
    yield store
    store.close()


def imported(title: str, body: str = "", **fields) -> ImportedNote:
    note: ImportedNote = {
        "title": title,
        "body": body,
        "source_url": None,
        "created": T0,
        "updated": T0 + 1,
        "tags": [],
        "front_matter": None,
        "feedback": [],
    }
    note.update(fields)  # type: ignore[typeddict-item]
    return note


def entry(item: str, note: ImportedNote | None = None, reason: str | None = None) -> dict:
    return {"item": item, "note": note, "reason": reason}


def test_an_import_keeps_times_origins_front_matter_and_feedback(store: Store) -> None:
    job = store.begin_import("/vault", "folder")
    assert job == {"id": job["id"], "source": "/vault", "format": "folder", "resumed": False,
                   "done": []}
    note = imported(
        "Lisbon",
        "Trams",
        source_url="https://example.org/lx",
        tags=[
            {"name": "travel", "origin": "user", "added": T0 + 2},
            {"name": "  city   trips ", "origin": "accepted", "added": T0 + 3},
        ],
        front_matter="aliases:\n- lx\n",
        feedback=[{"tag": "food", "state": "rejected", "source": "tagger", "confidence": 0.4,
                   "at": T0 + 4}],
    )
    assert store.record_import(job["id"], [entry("lisbon.md", note)]) == ["imported"]
    [exported] = store.export_notes()
    assert exported == {
        "id": exported["id"],
        "title": "Lisbon",
        "body": "Trams",
        "source_url": "https://example.org/lx",
        "created": T0,
        "updated": T0 + 1,
        "content_hash": content_hash("Lisbon", "Trams"),
        "tags": [
            {"name": "travel", "origin": "user", "added": T0 + 2},
            {"name": "city trips", "origin": "accepted", "added": T0 + 3},
        ],
        "front_matter": "aliases:\n- lx\n",
        "feedback": [{"tag": "food", "state": "rejected", "source": "tagger",
                      "confidence": 0.4, "at": T0 + 4}],
    }
    assert store.export_note(exported["id"]) == exported
    # Imported notes are ordinary notes: listed by their own time, searchable, embeddable.
    assert store.list_notes("tram")[0]["updated"] == T0 + 1
    assert [job["id"] for job in store.notes_needing_embedding("m")] == [exported["id"]]


def test_duplicates_failures_and_refused_notes_are_recorded_per_item(store: Store) -> None:
    existing = store.create_note("Same", "text")
    job = store.begin_import("/in.json", "json")
    outcomes = store.record_import(job["id"], [
        entry("a", imported("Same", "text")),  # a live note has this content
        entry("b", imported("New", "text")),
        entry("c", imported("New", "text")),  # the same as b, earlier in the batch
        entry("d", reason="not UTF-8 text"),
        entry("e", imported("Bad tag", tags=[{"name": " ", "origin": "user", "added": 1}])),
        entry("f", imported("Bad origin", tags=[{"name": "x", "origin": "robot", "added": 1}])),
        entry("g", imported("Bad time", created="yesterday")),
        entry("b", imported("Again", "b")),  # an item this job has done
    ])
    assert outcomes == ["duplicate", "imported", "duplicate", "failed", "failed", "failed",
                        "failed", "done"]
    tally = store.import_tally(job["id"])
    assert (tally["imported"], tally["duplicates"], tally["failed"]) == (1, 2, 4)
    assert tally["failures"] == [
        {"item": "d", "reason": "not UTF-8 text"},
        {"item": "e", "reason": "a tag name needs at least one visible character"},
        {"item": "f", "reason": "a tag origin must be one of user, accepted"},
        {"item": "g", "reason": "created must be a time in milliseconds"},
    ]
    assert len(store.list_notes()) == 2
    # A note in the trash is no duplicate: importing it again brings the text back.
    store.delete_note(existing["id"])
    assert store.record_import(job["id"], [entry("h", imported("Same", "text"))]) == ["imported"]
    with pytest.raises(NotFound):
        store.record_import(job["id"] + 1, [entry("x", imported("X"))])


def test_an_unfinished_import_resumes_and_a_finished_one_starts_again(store: Store) -> None:
    first = store.begin_import("/vault", "folder")
    store.record_import(first["id"], [entry("a.md", imported("A")), entry("b.md", reason="bad")])
    store.finish_import(first["id"], "cancelled")
    again = store.begin_import("/vault", "folder")
    assert again["id"] == first["id"] and again["resumed"]
    assert sorted(again["done"]) == ["a.md", "b.md"]
    # Another source, or another format of it, is another job.
    assert store.begin_import("/vault", "markdown")["id"] != first["id"]
    assert store.begin_import("/other", "folder")["id"] != first["id"]
    store.finish_import(first["id"], "done")
    fresh = store.begin_import("/vault", "folder")
    assert fresh["id"] != first["id"] and not fresh["resumed"] and fresh["done"] == []
    with pytest.raises(Invalid):
        store.finish_import(fresh["id"], "running")  # type: ignore[arg-type]


def test_bulk_tagging_deleting_and_undoing(store: Store) -> None:
    ids = [store.create_note(f"n{i}", tags=["keep"])["id"] for i in range(1200)]
    trashed = ids[5]
    store.delete_note(trashed)
    assert store.add_tag_to_notes([*ids, 10**9], "Batch") == 1199
    assert store.add_tag_to_notes(ids[:3], "batch", origin="accepted") == 3
    assert {t["name"]: t["origin"] for t in store.get_note(ids[0])["tags"]} == {
        "keep": "user", "Batch": "user"}
    assert store.list_tags() == [{"name": "Batch", "count": 1199}, {"name": "keep", "count": 1199}]
    assert store.remove_tag_from_notes(ids[:1000], "BATCH") == 999
    assert store.remove_tag_from_notes(ids, "no such tag") == 0
    assert store.list_tags()[0] == {"name": "Batch", "count": 200}

    assert store.delete_notes([ids[0], ids[1], trashed, 10**9]) == [ids[0], ids[1]]
    assert len(store.list_notes(limit=2000)) == 1197
    assert store.undo_delete_notes([ids[1], ids[0], trashed, ids[2]]) == sorted(
        [ids[0], ids[1], trashed])
    assert store.get_note(ids[0])["tags"][0]["name"] == "keep"
    with pytest.raises(Invalid):
        store.delete_notes("12")  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        store.add_tag_to_notes([True], "x")


def test_a_version_1_file_upgrades_and_finds_its_notes_by_content(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    make_version_1_database(path)
    store = Store(path, clock=lambda: NOW)
    assert store.schema_version() == migrations.LATEST_VERSION
    job = store.begin_import("/again", "folder")
    outcomes = store.record_import(job["id"], [
        entry("lisbon.md", imported("Lisbon trip", "Trams and tiles")),  # note 1, live
        entry("idea.md", imported("Old idea", "Compost bins")),  # note 2, in the trash
    ])
    assert outcomes == ["duplicate", "imported"]
    store.close()
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT 1 FROM notes WHERE content_hash = ? AND deleted IS NULL",
            ("x",),
        ).fetchall()
        assert "notes_live_by_hash" in str(plan)
        # Front matter and import records go with their note and job.
        conn.execute("PRAGMA foreign_keys = ON")
        migrations.register_functions(conn)
        conn.execute("INSERT INTO note_front_matter VALUES (1, 'a: 1')")
        conn.execute("DELETE FROM notes WHERE id = 1")
        assert conn.execute("SELECT count(*) FROM note_front_matter").fetchone()[0] == 0
        conn.execute("DELETE FROM import_jobs")
        assert conn.execute("SELECT count(*) FROM import_items").fetchone()[0] == 0


def test_many_vectors_are_kept_in_one_call(store: Store) -> None:
    notes = [store.create_note(f"n{i}") for i in range(3)]
    store.delete_note(notes[2]["id"])
    unit = struct.pack("<512f", 1.0, *[0.0] * 511)
    changed = [False]
    store.watch(lambda ids: changed.__setitem__(0, ids))
    kept = store.put_embeddings("m", [
        (notes[0]["id"], unit, notes[0]["content_hash"]),
        (notes[1]["id"], unit, "0" * 64),  # its text changed since
        (notes[2]["id"], unit, notes[2]["content_hash"]),  # in the trash
        (10**9, unit, "0" * 64),
    ])
    assert kept == [True, False, None, None]
    assert changed[0] == [notes[0]["id"]]  # one write, heard once
    assert store.get_embedding(notes[0]["id"])["vector"] == unit
    with pytest.raises(Invalid):
        store.put_embeddings("m", [(notes[0]["id"], b"short", notes[0]["content_hash"])])
    with pytest.raises(NotFound):
        store.put_embedding(10**9, unit, "m", "0" * 64)

    b64 = base64.b64encode(unit).decode()
    item = {"id": 1, "content_hash": "a" * 64, "vector": b64}
    assert validate.embedding_items([item]) == [(1, unit, "a" * 64)]
    for bad in ([{**item, "extra": 1}], [{**item, "vector": "AAAA"}], [item] * 257, item):
        with pytest.raises(validate.ValidationError):
            validate.embedding_items(bad)
