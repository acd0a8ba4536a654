"""desktop/personal.py: which tags the personal head learns, which notes teach it
what (a rejected suggestion is a negative example), when it must train again, and
its kept weights; on a real store."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop import personal
from desktop.api import Api
from desktop.search import Search
from desktop.store import Store

MODEL = "use-m-v3-test"
VECTOR = struct.pack("<512f", 1.0, *[0.0] * 511)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "notes.db")
    yield opened
    opened.close()


def note(store: Store, title: str, tags: list[str] = (), vector: bool = True) -> int:
    made = store.create_note(title=title, body="text of " + title, tags=list(tags))
    if vector:
        store.put_embedding(made["id"], VECTOR, MODEL, made["content_hash"])
    return made["id"]


def by_id(training: dict) -> dict[int, dict]:
    return {example["id"]: example for example in training["examples"]}


def test_a_tag_is_learned_from_its_third_note_with_a_vector(store: Store) -> None:
    soups = [note(store, f"soup {i}", ["recipes"]) for i in range(2)]
    note(store, "soup without vector", ["Recipes"], vector=False)
    runs = [note(store, f"run {i}", ["running", "Health"]) for i in range(3)]
    note(store, "untagged")
    training = personal.training_set(store, MODEL)
    assert training["labels"] == ["Health", "running"]
    examples = by_id(training)
    # Every tagged note teaches (soups as negatives); the untagged one does not.
    assert sorted(examples) == sorted(soups + runs)
    assert examples[soups[0]] == {
        "id": soups[0], "version": examples[soups[0]]["version"], "positive": [],
        "rejected": [], "tagged": True,
    }
    assert examples[runs[0]]["positive"] == [0, 1]

    third = note(store, "soup 3", ["RECIPES"])
    training = personal.training_set(store, MODEL)
    assert training["labels"] == ["Health", "recipes", "running"]
    assert by_id(training)[third]["positive"] == [1]


def test_a_rejected_suggestion_is_a_negative_example(store: Store) -> None:
    for i in range(3):
        note(store, f"soup {i}", ["recipes"])
    untagged = note(store, "tax return")
    tagged = note(store, "curry", ["dinner"])
    before = personal.training_set(store, MODEL)
    assert untagged not in by_id(before)

    store.reject_suggestion(untagged, "Recipes", "personal", 0.7)
    store.reject_suggestion(tagged, "recipes", "neighbours", 0.6)
    after = personal.training_set(store, MODEL, known_signature=before["signature"])
    assert not after.get("unchanged")
    examples = by_id(after)
    # An untagged note with a rejection teaches that tag only, as a negative.
    assert examples[untagged] | {"version": ""} == {
        "id": untagged, "version": "", "positive": [], "rejected": [0], "tagged": False
    }
    assert examples[tagged]["rejected"] == [0] and examples[tagged]["tagged"]

    # Tagged after all: the note's own tag wins over the older rejection.
    store.add_tag(tagged, "recipes")
    assert by_id(personal.training_set(store, MODEL))[tagged]["rejected"] == []
    # A rejection of a tag the head does not learn teaches nothing.
    lone = note(store, "lone")
    store.reject_suggestion(lone, "travel", "topic", 0.9)
    assert lone not in by_id(personal.training_set(store, MODEL))


def test_the_signature_follows_labels_notes_texts_and_tags(store: Store) -> None:
    ids = [note(store, f"soup {i}", ["recipes"]) for i in range(3)]
    first = personal.training_set(store, MODEL)
    assert personal.training_set(store, MODEL, first["signature"]) == {
        "signature": first["signature"], "unchanged": True
    }
    # A tag on too few notes, on a note that teaches already, changes no training.
    store.add_tag(ids[0], "dinner")
    assert personal.training_set(store, MODEL, first["signature"])["unchanged"]
    untagged = note(store, "untagged")
    changes = [
        lambda: store.add_tag(untagged, "dinner"),  # a new (negative) example
        lambda: store.rename_tag("recipes", "Recipes"),
        lambda: note(store, "another", ["misc"]),
        # Its vector is stale now, so the tag is on two notes with one: no label left.
        lambda: store.update_note(ids[1], body="new text"),
    ]
    seen = {first["signature"]}
    for change in changes:
        change()
        signature = personal.training_set(store, MODEL)["signature"]
        assert signature not in seen
        seen.add(signature)


def test_with_no_tag_on_enough_notes_there_is_nothing_to_learn(store: Store) -> None:
    ids = [note(store, f"soup {i}", ["recipes"]) for i in range(3)]
    store.remove_tag(ids[0], "recipes")
    training = personal.training_set(store, MODEL)
    assert training["labels"] == [] and training["examples"] == []


def test_the_kept_head_is_for_one_encoder(store: Store) -> None:
    weights = struct.pack(f"<{513 * 2}f", *range(513 * 2))
    personal.save_head(store, MODEL, {"signature": "a" * 64, "labels": ["x", "y"],
                                      "weights": weights})
    assert personal.load_head(store, MODEL) == {
        "signature": "a" * 64, "labels": ["x", "y"], "weights": weights
    }
    assert personal.load_head(store, "another-encoder") is None
    personal.save_head(store, MODEL, None)
    assert personal.load_head(store, MODEL) is None


def test_the_bridge_keeps_and_hands_back_the_head(store: Store) -> None:
    api = Api(store, Search(store, MODEL))
    weights = struct.pack(f"<{513}f", *([0.5] * 513))
    head = {"signature": "b" * 64, "labels": ["recipes"],
            "weights": base64.b64encode(weights).decode()}
    assert api.put_personal_head(MODEL, head) == {"kept": True}
    assert api.personal_head(MODEL) == head
    nan = base64.b64encode(struct.pack("<513f", float("nan"), *[0.0] * 512)).decode()
    assert api.put_personal_head(MODEL, {**head, "weights": nan})["error"]["code"] == "invalid"
    assert api.put_personal_head(MODEL, {**head, "labels": ["a", "b"]})["error"]["code"] == (
        "invalid"
    )
    assert api.put_personal_head(MODEL, None) == {"kept": False}
    assert api.personal_head(MODEL) is None

    ids = [note(store, f"n{i}", ["t"]) for i in range(2)]
    vectors = api.note_vectors(MODEL, [*ids, 999])
    assert vectors["ids"] == ids
    assert base64.b64decode(vectors["vectors"]) == VECTOR * 2
