"""desktop/store.py on real SQLite files: notes, tags, vectors, trash."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
from pathlib import Path

import pytest

from desktop.store import (
    TRASH_KEEP_MS,
    Invalid,
    NotFound,
    Store,
    StoreError,
    content_hash,
    content_text,
)
from tests.desktop.clock import DAY_MS, START_MS, Clock

MODEL = "use-m-v3@test"


def vector(seed: float) -> bytes:
    return struct.pack("<512f", *(seed + i for i in range(512)))


def tag_names(note: dict) -> list[str]:
    return [tag["name"] for tag in note["tags"]]


def raw(db_path: Path) -> sqlite3.Connection:
    """A second, independent connection for looking at what is really on disk."""
    return sqlite3.connect(db_path)


def test_content_text_and_hash_are_the_embedded_text() -> None:
    assert content_text("Title", "Body") == "Title\n\nBody"
    assert content_hash("Tïtle", "Body") == hashlib.sha256("Tïtle\n\nBody".encode()).hexdigest()


def test_created_note_has_the_contract_shape_and_is_json(store: Store, clock: Clock) -> None:
    note = store.create_note("Kyoto", "Temples\nand gardens", "https://example.org/k", ["Travel"])
    assert note == {
        "id": note["id"],
        "title": "Kyoto",
        "body": "Temples\nand gardens",
        "source_url": "https://example.org/k",
        "created": START_MS,
        "updated": START_MS,
        "content_hash": content_hash("Kyoto", "Temples\nand gardens"),
        "tags": [{"name": "Travel", "origin": "user", "added": START_MS}],
    }
    assert isinstance(note["id"], int)
    assert store.get_note(note["id"]) == note
    json.dumps([note, store.list_notes(), store.list_tags()])


def test_defaults_make_an_empty_note(store: Store) -> None:
    note = store.create_note()
    assert (note["title"], note["body"], note["source_url"], note["tags"]) == ("", "", None, [])


def test_missing_note_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as caught:
        store.get_note(12345)
    assert isinstance(caught.value, StoreError)
    assert caught.value.code == "not_found"
    for call in (
        lambda: store.update_note(12345, title="x"),
        lambda: store.delete_note(12345),
        lambda: store.add_tag(12345, "x"),
        lambda: store.get_embedding(12345),
    ):
        with pytest.raises(NotFound):
            call()


def test_update_changes_only_the_given_fields(store: Store) -> None:
    note = store.create_note("Old title", "Old body", "https://a.example")
    changed = store.update_note(note["id"], title="New title")
    assert (changed["title"], changed["body"], changed["source_url"]) == (
        "New title",
        "Old body",
        "https://a.example",
    )
    assert changed["content_hash"] == content_hash("New title", "Old body")
    changed = store.update_note(note["id"], body="New body")
    assert (changed["title"], changed["body"]) == ("New title", "New body")
    assert changed["source_url"] == "https://a.example"
    cleared = store.update_note(note["id"], source_url=None)
    assert cleared["source_url"] is None
    assert cleared["content_hash"] == content_hash("New title", "New body")
    assert store.get_note(note["id"]) == cleared


def test_updated_moves_only_on_a_real_change(store: Store, clock: Clock) -> None:
    note = store.create_note("Title", "Body", "https://a.example")
    clock.now += 1000
    same = store.update_note(
        note["id"], title="Title", body="Body", source_url="https://a.example"
    )
    assert same["updated"] == START_MS
    assert store.update_note(note["id"])["updated"] == START_MS
    clock.now += 1000
    moved = store.update_note(note["id"], source_url="https://b.example")
    assert moved["updated"] == START_MS + 2000
    assert moved["created"] == START_MS


def test_list_is_newest_updated_first_with_paging(store: Store, clock: Clock) -> None:
    ids = []
    for i in range(5):
        clock.now += 10
        ids.append(store.create_note(f"note {i}")["id"])
    clock.now += 10
    store.update_note(ids[1], body="edited last")
    order = [ids[1], ids[4], ids[3], ids[2], ids[0]]
    assert [s["id"] for s in store.list_notes()] == order
    assert [s["id"] for s in store.list_notes(limit=2, offset=1)] == order[1:3]
    assert store.list_notes(limit=0) == []
    assert store.list_notes(offset=5) == []


def test_summary_has_a_one_line_snippet(store: Store) -> None:
    body = "First line\n\n  second\tline " + "word " * 100
    note = store.create_note("T", body, tags=["b", "a"])
    [summary] = store.list_notes()
    assert set(summary) == {"id", "title", "snippet", "updated", "tags"}
    assert summary["id"] == note["id"]
    assert summary["tags"] == ["a", "b"]
    snippet = summary["snippet"]
    assert snippet.startswith("First line second line word word")
    assert "\n" not in snippet and "\t" not in snippet
    assert 100 <= len(snippet) <= 141
    assert snippet.endswith("…")
    assert store.create_note("Short", "tiny body")["id"]
    assert store.list_notes()[0]["snippet"] == "tiny body"


def test_delete_moves_to_trash_and_undo_brings_it_back_whole(store: Store) -> None:
    keep = store.create_note("keep", "kept note")
    note = store.create_note("gone", "soon deleted", tags=["Trip"])
    store.add_tag(note["id"], "later", origin="accepted")
    assert store.put_embedding(note["id"], vector(1.0), MODEL, note["content_hash"])
    before = store.get_note(note["id"])

    store.delete_note(note["id"])
    with pytest.raises(NotFound):
        store.get_note(note["id"])
    assert [s["id"] for s in store.list_notes()] == [keep["id"]]
    assert store.list_tags() == []
    assert store.notes_needing_embedding(MODEL) == [
        {"id": keep["id"], "text": "keep\n\nkept note", "content_hash": keep["content_hash"]}
    ]
    with pytest.raises(NotFound):
        store.delete_note(note["id"])

    assert store.undo_delete(note["id"]) == before
    assert store.get_embedding(note["id"]) == {
        "vector": vector(1.0),
        "model_id": MODEL,
        "content_hash": note["content_hash"],
    }
    assert store.list_tags() == [{"name": "later", "count": 1}, {"name": "Trip", "count": 1}]
    with pytest.raises(NotFound):
        store.undo_delete(note["id"])


def test_trash_is_purged_after_30_days_when_the_store_opens(
    db_path: Path, store: Store, clock: Clock
) -> None:
    old = store.create_note("old", tags=["only-in-trash"])
    store.put_embedding(old["id"], vector(2.0), MODEL, old["content_hash"])
    recent = store.create_note("recent")
    store.delete_note(old["id"])
    clock.now += DAY_MS
    store.delete_note(recent["id"])
    store.close()

    clock.now = START_MS + TRASH_KEEP_MS - 1
    Store(db_path, clock=clock).close()
    with raw(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 2

    clock.now = START_MS + TRASH_KEEP_MS + 1
    reopened = Store(db_path, clock=clock)
    with pytest.raises(NotFound):
        reopened.undo_delete(old["id"])
    assert reopened.undo_delete(recent["id"])["title"] == "recent"
    reopened.close()
    with raw(db_path) as conn:
        # Foreign keys cascade the purge to links and vectors; the tag goes too.
        assert conn.execute("SELECT id FROM notes").fetchall() == [(recent["id"],)]
        assert conn.execute("SELECT count(*) FROM note_tags").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM tags").fetchone()[0] == 0


def test_database_is_in_wal_mode(db_path: Path, store: Store) -> None:
    store.create_note("x")
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failed_write_leaves_nothing_behind(db_path: Path, store: Store) -> None:
    with raw(db_path) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON tags WHEN new.name = 'boom'"
            " BEGIN SELECT RAISE(ABORT, 'boom refused'); END"
        )
    with pytest.raises(StoreError) as caught:
        store.create_note("half-written", tags=["fine", "boom"])
    assert caught.value.code == "storage"
    assert store.list_notes() == []
    with raw(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM tags").fetchone()[0] == 0
    assert store.create_note("after", tags=["fine"])["tags"][0]["name"] == "fine"


def test_closed_store_refuses_calls(store: Store) -> None:
    store.close()
    store.close()
    with pytest.raises(StoreError) as caught:
        store.list_notes()
    assert caught.value.code == "closed"


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.create_note(title=None),
        lambda s: s.create_note(body=3),
        lambda s: s.create_note(source_url=b"x"),
        lambda s: s.create_note(tags="travel"),
        lambda s: s.create_note(tags=["   "]),
        lambda s: s.create_note(body="lone \ud800 surrogate"),
        lambda s: s.get_note("1"),
        lambda s: s.get_note(True),
        lambda s: s.list_notes(limit=-1),
        lambda s: s.list_notes(offset=-1),
        lambda s: s.list_notes(text=None),
        lambda s: s.add_tag(1, "x", origin="robot"),
        lambda s: s.add_tag(1, ""),
        lambda s: s.rename_tag("x", " \t "),
        lambda s: s.put_embedding(1, b"\0" * 100, MODEL, "h"),
        lambda s: s.put_embedding(1, "not bytes", MODEL, "h"),
        lambda s: s.put_embedding(1, vector(0.0), "", "h"),
    ],
)
def test_bad_arguments_are_invalid(store: Store, call) -> None:
    store.create_note("exists")
    with pytest.raises(Invalid) as caught:
        call(store)
    assert caught.value.code == "invalid"


# Tags


def test_tag_names_are_cleaned_and_unique_without_regard_to_case(store: Store) -> None:
    note = store.create_note("n", tags=["  Travel \t plans  "])
    assert tag_names(note) == ["Travel plans"]
    other = store.create_note("m")
    assert tag_names(store.add_tag(other["id"], "TRAVEL PLANS")) == ["Travel plans"]
    assert tag_names(store.add_tag(note["id"], "travel plans")) == ["Travel plans"]
    assert store.list_tags() == [{"name": "Travel plans", "count": 2}]
    # Case folding covers all of Unicode, not only ASCII.
    store.add_tag(note["id"], "STRASSE")
    store.add_tag(other["id"], "straße")
    store.add_tag(note["id"], "Élan")
    store.add_tag(other["id"], "élan")
    assert store.list_tags() == [
        {"name": "Élan", "count": 2},
        {"name": "STRASSE", "count": 2},
        {"name": "Travel plans", "count": 2},
    ]


def test_list_tags_is_sorted_without_regard_to_case(store: Store) -> None:
    store.create_note("a", tags=["beta", "Alpha", "gamma"])
    store.create_note("b", tags=["Gamma"])
    assert store.list_tags() == [
        {"name": "Alpha", "count": 1},
        {"name": "beta", "count": 1},
        {"name": "gamma", "count": 2},
    ]


def test_adding_by_user_upgrades_an_accepted_link_but_not_back(
    store: Store, clock: Clock
) -> None:
    note = store.create_note("n")
    store.add_tag(note["id"], "ml", origin="accepted")
    clock.now += 5
    upgraded = store.add_tag(note["id"], "ML")
    assert upgraded["tags"] == [{"name": "ml", "origin": "user", "added": START_MS}]
    assert store.add_tag(note["id"], "ml", origin="accepted")["tags"][0]["origin"] == "user"


def test_tagging_does_not_move_updated(store: Store, clock: Clock) -> None:
    note = store.create_note("n")
    clock.now += 60_000
    assert store.add_tag(note["id"], "x")["updated"] == START_MS
    assert store.remove_tag(note["id"], "x")["updated"] == START_MS


def test_remove_tag_unlinks_and_drops_unused_tags(store: Store) -> None:
    first = store.create_note("first", tags=["shared", "solo"])
    second = store.create_note("second", tags=["shared"])
    assert tag_names(store.remove_tag(first["id"], "SOLO")) == ["shared"]
    assert tag_names(store.remove_tag(first["id"], "not there")) == ["shared"]
    store.remove_tag(first["id"], "shared")
    assert store.list_tags() == [{"name": "shared", "count": 1}]
    store.remove_tag(second["id"], "shared")
    assert store.list_tags() == []
    # The dropped tag's spelling does not come back: a new one starts fresh.
    assert tag_names(store.add_tag(first["id"], "SHARED")) == ["SHARED"]


def test_tag_filter_ignores_case(store: Store) -> None:
    tagged = store.create_note("tagged", tags=["Recipes"])
    store.create_note("untagged")
    assert [s["id"] for s in store.list_notes(tag="recipes")] == [tagged["id"]]
    assert [s["id"] for s in store.list_notes(tag="  RECIPES ")] == [tagged["id"]]
    assert store.list_notes(tag="nothing") == []
    assert len(store.list_notes(tag="")) == 2


def test_rename_tag_everywhere(store: Store) -> None:
    a = store.create_note("a", tags=["trip"])
    b = store.create_note("b", tags=["Trip", "other"])
    store.rename_tag("TRIP", "Journeys")
    assert tag_names(store.get_note(a["id"])) == ["Journeys"]
    assert tag_names(store.get_note(b["id"])) == ["Journeys", "other"]
    assert store.list_tags() == [
        {"name": "Journeys", "count": 2},
        {"name": "other", "count": 1},
    ]
    store.rename_tag("journeys", "journeys")
    assert store.list_tags()[0] == {"name": "journeys", "count": 2}
    store.rename_tag("journeys", "journeys")
    assert store.list_tags()[0] == {"name": "journeys", "count": 2}
    with pytest.raises(NotFound):
        store.rename_tag("trip", "x")


def test_rename_into_an_existing_tag_merges(store: Store, clock: Clock) -> None:
    both = store.create_note("both")
    store.add_tag(both["id"], "travel", origin="accepted")
    clock.now += 10
    store.add_tag(both["id"], "Trips")
    only_old = store.create_note("only old")
    store.add_tag(only_old["id"], "trips", origin="accepted")
    only_new = store.create_note("only new", tags=["travel"])
    both_accepted = store.create_note("both accepted")
    store.add_tag(both_accepted["id"], "travel", origin="accepted")
    store.add_tag(both_accepted["id"], "trips", origin="accepted")

    store.rename_tag("trips", "Travel")

    assert store.list_tags() == [{"name": "Travel", "count": 4}]
    assert store.get_note(both["id"])["tags"] == [
        {"name": "Travel", "origin": "user", "added": START_MS}
    ]
    assert store.get_note(only_old["id"])["tags"] == [
        {"name": "Travel", "origin": "accepted", "added": START_MS + 10}
    ]
    assert store.get_note(only_new["id"])["tags"][0]["origin"] == "user"
    assert store.get_note(both_accepted["id"])["tags"][0]["origin"] == "accepted"
    assert [s["title"] for s in store.list_notes(tag="trips")] == []
    assert len(store.list_notes(tag="travel")) == 4


def test_rename_carries_rejections_to_the_new_name(store: Store) -> None:
    note = store.create_note("a note")
    store.add_tag(store.create_note("other")["id"], "trips")
    store.reject_suggestion(note["id"], "Trips", "default", 0.8)
    store.reject_suggestion(note["id"], "food", "default", 0.6)
    store.rename_tag("trips", "Travel")
    assert sorted(store.rejected_tags(note["id"])) == ["Travel", "food"]


def test_merge_keeps_links_of_notes_in_the_trash(store: Store) -> None:
    trashed = store.create_note("trashed", tags=["old"])
    store.create_note("live", tags=["new"])
    store.delete_note(trashed["id"])
    store.rename_tag("old", "new")
    assert tag_names(store.undo_delete(trashed["id"])) == ["new"]
    assert store.list_tags() == [{"name": "new", "count": 2}]


# Embeddings


def test_embedding_round_trip_and_stale_vectors_are_refused(store: Store) -> None:
    note = store.create_note("t", "b")
    assert store.get_embedding(note["id"]) is None
    assert store.put_embedding(note["id"], vector(3.0), MODEL, note["content_hash"]) is True
    assert store.get_embedding(note["id"]) == {
        "vector": vector(3.0),
        "model_id": MODEL,
        "content_hash": note["content_hash"],
    }
    edited = store.update_note(note["id"], body="b2")
    assert store.put_embedding(note["id"], vector(4.0), MODEL, note["content_hash"]) is False
    assert store.get_embedding(note["id"])["vector"] == vector(3.0)
    assert store.put_embedding(note["id"], vector(5.0), MODEL, edited["content_hash"]) is True
    assert store.get_embedding(note["id"])["vector"] == vector(5.0)


def test_notes_needing_embedding(store: Store, clock: Clock) -> None:
    fresh = store.create_note("fresh", "a")
    clock.now += 1
    stale = store.create_note("stale", "b")
    clock.now += 1
    other_model = store.create_note("other model", "c")
    clock.now += 1
    missing = store.create_note("missing", "d")
    store.put_embedding(fresh["id"], vector(0.0), MODEL, fresh["content_hash"])
    store.put_embedding(stale["id"], vector(0.0), MODEL, stale["content_hash"])
    store.put_embedding(other_model["id"], vector(0.0), "older-model", other_model["content_hash"])
    clock.now += 1
    stale = store.update_note(stale["id"], body="b changed")

    jobs = store.notes_needing_embedding(MODEL)
    assert jobs == [
        {"id": stale["id"], "text": "stale\n\nb changed", "content_hash": stale["content_hash"]},
        {"id": missing["id"], "text": "missing\n\nd", "content_hash": missing["content_hash"]},
        {
            "id": other_model["id"],
            "text": "other model\n\nc",
            "content_hash": other_model["content_hash"],
        },
    ]
    assert [job["id"] for job in store.notes_needing_embedding(MODEL, limit=1)] == [stale["id"]]
    for job in jobs:
        assert store.put_embedding(job["id"], vector(1.0), MODEL, job["content_hash"])
    assert store.notes_needing_embedding(MODEL) == []
