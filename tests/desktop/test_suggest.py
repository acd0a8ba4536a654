"""desktop/suggest.py: merging the three sources, the neighbours' vote, and the
Suggester over a real store and search (vectors made by hand, so that which notes
are near is known), plus the store's suggestion calls and the bridge's checks."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from desktop import validate
from desktop.api import Api
from desktop.search import Search
from desktop.store import Invalid, Store
from desktop.suggest import (
    MAX_SHOWN,
    NEIGHBOUR_FLOOR,
    Suggester,
    merge,
    neighbour_reasons,
)

MODEL = "use-m-v3-test"
TAGGER = "f122d2f3e7f4:none"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "notes.db")
    yield opened
    opened.close()


@pytest.fixture
def search(store: Store) -> Search:
    found = Search(store, MODEL)
    found.start()
    assert found.wait_ready(10)
    return found


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype("<f4")


def near(base: np.ndarray, cosine: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector at exactly `cosine` from unit vector `base`."""
    other = rng.standard_normal(base.shape)
    other -= (other @ base) * base
    other /= np.linalg.norm(other)
    return unit(cosine * base + np.sqrt(1 - cosine**2) * other)


def add_note(store: Store, title: str, vector: np.ndarray, tags: list[str] = ()) -> int:
    note = store.create_note(title=title, body="body of " + title, tags=list(tags))
    assert store.put_embedding(note["id"], vector.tobytes(), MODEL, note["content_hash"])
    return note["id"]


def output(tag: str, confidence: float, source: str = "topic") -> dict:
    return {"tag": tag, "confidence": confidence, "source": source}


# ---------------------------------------------------------------- merging


def test_merge_keeps_one_per_tag_at_its_best_confidence_with_every_reason() -> None:
    neighbours = {"food": ("Food", {"source": "neighbours", "confidence": 0.7, "count": 3})}
    merged = merge(
        [output("food", 0.65), output("Food", 0.9, "personal"), output("travel", 0.8)],
        neighbours,
        leave_out=set(),
        spelling={"food": "Food"},
    )
    assert [s["tag"] for s in merged] == ["Food", "travel"]
    food = merged[0]
    assert food["confidence"] == 0.9 and food["source"] == "personal"
    assert [r["source"] for r in food["reasons"]] == ["personal", "neighbours", "topic"]
    assert food["reasons"][1]["count"] == 3


def test_merge_leaves_out_tags_the_note_has_or_refused_and_keeps_the_best_few() -> None:
    outputs = [output(f"tag {i}", 0.9 - i / 100) for i in range(6)]
    merged = merge(outputs, {}, leave_out={"tag 0", "tag 2"}, spelling={})
    assert [s["tag"] for s in merged] == ["tag 1", "tag 3", "tag 4"]
    assert len(merged) == MAX_SHOWN


def test_neighbours_vote_with_a_floor_a_quorum_and_a_prior() -> None:
    tags_of = {1: ["recipes"], 2: ["Recipes", "dinner"], 3: ["travel"], 4: ["recipes"]}
    # Note 4 is too far to vote; "travel" and "dinner" have one voter each.
    reasons = neighbour_reasons([(1, 0.9), (2, 0.8), (3, 0.5), (4, NEIGHBOUR_FLOOR - 0.01)],
                                tags_of)
    assert list(reasons) == ["recipes"]
    name, reason = reasons["recipes"]
    assert name == "recipes" and reason["count"] == 2
    assert reason["confidence"] == pytest.approx(1.7 / (2.2 + 1.0))
    # Two weak voters are not enough against the prior.
    assert neighbour_reasons([(1, 0.41), (4, 0.41)], tags_of) == {}
    # Untagged neighbours do not vote, and take no voter's place.
    assert neighbour_reasons([(9, 0.9), (1, 0.9), (4, 0.9)], {**tags_of, 9: []})


# ---------------------------------------------------------------- the Suggester


def test_suggestions_for_a_note_merge_kept_outputs_and_neighbours(
    store: Store, search: Search
) -> None:
    rng = np.random.default_rng(3)
    topic = unit(rng.standard_normal(512))
    for i in range(3):
        add_note(store, f"soup {i}", near(topic, 0.8, rng), ["recipes"])
    add_note(store, "far away", unit(rng.standard_normal(512)), ["travel"])
    vector = near(topic, 0.8, rng)
    note_id = add_note(store, "new soup", vector, ["Dinner"])
    note = store.get_note(note_id)
    suggester = Suggester(store, search)

    # Nothing kept yet: stale, with the vector to tag; the neighbours already speak.
    first = suggester.for_note(note_id, TAGGER)
    assert first["stale"] and first["vector"] == vector.tobytes()
    assert [(s["tag"], s["source"]) for s in first["suggestions"]] == [("recipes", "neighbours")]
    assert first["suggestions"][0]["reasons"][0]["count"] == 3

    outputs = [output("food", 0.9), output("dinner", 0.8, "personal")]
    fresh = suggester.for_text(note_id, note["content_hash"], vector.tobytes(), outputs)
    assert fresh["current"]
    # "dinner" is on the note already (as "Dinner").
    assert [s["tag"] for s in fresh["suggestions"]] == ["food", "recipes"]
    # Merging kept nothing: opening the note still finds the outputs stale...
    assert suggester.for_note(note_id, TAGGER)["stale"]
    # ...until the page keeps them, after showing them.
    assert store.put_many_tag_suggestions(TAGGER, [(note_id, note["content_hash"], outputs)])

    again = suggester.for_note(note_id, TAGGER)
    assert not again["stale"] and again["suggestions"] == fresh["suggestions"]
    assert suggester.for_note(note_id, "another:tagger")["stale"]

    # A rejected tag stays out, however many sources name it.
    store.reject_suggestion(note_id, "Recipes", "neighbours", 0.7)
    assert [s["tag"] for s in suggester.for_note(note_id, TAGGER)["suggestions"]] == ["food"]
    # An accepted one is a tag of the note now.
    assert store.accept_suggestion(note_id, "food", "topic", 0.9)["tags"][-1] == {
        "name": "food", "origin": "accepted", "added": store.get_note(note_id)["tags"][-1]["added"]
    }
    assert suggester.for_note(note_id, TAGGER)["suggestions"] == []


def test_outputs_of_older_text_are_not_kept_nor_shown(store: Store, search: Search) -> None:
    rng = np.random.default_rng(5)
    vector = unit(rng.standard_normal(512))
    note_id = add_note(store, "first", vector)
    old_hash = store.get_note(note_id)["content_hash"]
    suggester = Suggester(store, search)
    food = [output("food", 0.9)]
    assert suggester.for_text(note_id, old_hash, vector.tobytes(), food)["current"]
    assert store.put_many_tag_suggestions(TAGGER, [(note_id, old_hash, food)]) == [True]
    store.update_note(note_id, body="rewritten")
    reply = suggester.for_note(note_id, TAGGER)
    # The kept outputs were for the old text, and the vector is stale too.
    assert reply["suggestions"] == [] and reply["stale"] and reply["vector"] is None
    # Outputs the worker made from the old text, arriving late: not shown, not kept.
    assert suggester.for_text(note_id, old_hash, vector.tobytes(), food) == {
        "current": False, "suggestions": []
    }
    assert store.put_many_tag_suggestions(TAGGER, [(note_id, old_hash, food)]) == [False]


def test_a_note_without_text_gets_no_suggestions(store: Store, search: Search) -> None:
    note = store.create_note()
    vector = unit(np.ones(512))
    reply = Suggester(store, search).for_text(
        note["id"], note["content_hash"], vector.tobytes(), [output("food", 0.99)]
    )
    assert reply == {"current": True, "suggestions": []}


def test_background_listing_follows_text_and_tagger(store: Store) -> None:
    rng = np.random.default_rng(7)
    ids = [add_note(store, f"n{i}", unit(rng.standard_normal(512))) for i in range(3)]
    no_vector = store.create_note(title="no vector yet")["id"]
    assert store.count_needing_suggestions(MODEL, TAGGER, 100) == 3
    jobs = store.notes_needing_suggestions(MODEL, TAGGER, 2)
    assert jobs["ids"] == ids[:0:-1] and len(jobs["vectors"]) == 2 * 2048
    for note_id, digest in zip(jobs["ids"], jobs["hashes"], strict=True):
        assert store.put_many_tag_suggestions(TAGGER, [(note_id, digest, [])]) == [True]
    assert store.notes_needing_suggestions(MODEL, TAGGER, 10)["ids"] == [ids[0]]
    assert store.count_needing_suggestions(MODEL, "new:head", 2) == 2  # capped
    assert no_vector not in store.notes_needing_suggestions(MODEL, "new:head", 10)["ids"]
    store.delete_note(ids[0])
    assert store.count_needing_suggestions(MODEL, TAGGER, 100) == 0


def test_many_notes_suggestions_kept_at_once(store: Store) -> None:
    kept, changed, trashed = (store.create_note(title=f"n{i}") for i in range(3))
    store.delete_note(trashed["id"])
    outcomes = store.put_many_tag_suggestions(TAGGER, [
        (kept["id"], kept["content_hash"], [output("food", 0.9)]),
        (changed["id"], "0" * 64, [output("food", 0.9)]),  # its text changed since
        (trashed["id"], trashed["content_hash"], []),
        (10**9, "0" * 64, []),
    ])
    assert outcomes == [True, False, None, None]
    assert store.get_tag_suggestions(kept["id"])["suggestions"] == [output("food", 0.9)]
    assert store.get_tag_suggestions(changed["id"]) is None
    # Outputs that are not plain JSON are refused, and nothing of the call is kept.
    with pytest.raises(Invalid):
        store.put_many_tag_suggestions(TAGGER, [
            (changed["id"], changed["content_hash"], []),
            (kept["id"], kept["content_hash"], [{"tag": float("nan")}]),
        ])
    assert store.get_tag_suggestions(changed["id"]) is None


# ---------------------------------------------------------------- the bridge


def test_the_bridge_checks_suggestion_calls(store: Store, search: Search) -> None:
    api = Api(store, search)
    note = store.create_note(title="Soup", body="Lentils")
    good_vector = base64.b64encode(unit(np.ones(512)).tobytes()).decode()
    refused = {
        "source": api.suggest(note["id"], note["content_hash"], good_vector,
                              [{"tag": "x", "confidence": 0.5, "source": "neighbours"}]),
        "confidence": api.suggest(note["id"], note["content_hash"], good_vector,
                                  [{"tag": "x", "confidence": 1.5, "source": "topic"}]),
        "keys": api.suggest(note["id"], note["content_hash"], good_vector,
                            [{"tag": "x", "confidence": 0.5}]),
        "tagger": api.suggestions(note["id"], "has spaces"),
        "feedback": api.reject_suggestion(note["id"], "x", "guess", 0.5),
        "nan": api.accept_suggestion(note["id"], "x", "topic", float("nan")),
        "items": api.put_suggestions(TAGGER, [{"id": note["id"]}]),
        "head": api.put_personal_head(MODEL, {"signature": "0" * 64, "labels": ["a"],
                                              "weights": "AAAA"}),
        "ids": api.note_vectors(MODEL, list(range(validate.MAX_VECTOR_IDS + 1))),
    }
    for case, reply in refused.items():
        assert reply["error"]["code"] == "invalid", case
    fresh = api.suggest(note["id"], note["content_hash"], good_vector,
                        [{"tag": "food", "confidence": 0.75, "source": "topic"}])
    assert fresh["current"] and fresh["suggestions"][0]["tag"] == "food"
    assert api.put_suggestions(TAGGER, [
        {"id": note["id"], "content_hash": note["content_hash"], "outputs": []},
        {"id": 999, "content_hash": "0" * 64, "outputs": []},
    ]) == {"stored": 1}
    assert api.reject_suggestion(note["id"], " food ", "topic", 0.75) == {"rejected": "food"}
    accepted = api.accept_suggestion(note["id"], "Soup", "neighbours", None)
    assert accepted["tags"][0]["origin"] == "accepted"
    assert api.accept_suggestion(999, "x", "topic", 0.5)["error"]["code"] == "not_found"
