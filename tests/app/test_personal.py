"""The personal head through the real window: learned from the user's own tags once a
tag is on 3 notes, suggested for a new related note and not for an unrelated one,
trained again when tags change, kept by Python and loaded at the next start."""

from __future__ import annotations

import time
from pathlib import Path

from desktop import paths
from desktop.store import Store
from tests.app.harness import AppProcess
from tests.app.indexing import CAUGHT_UP_JS, MODEL_ID, MODEL_READY_JS
from tests.app.suggesting import settled, shown, wait_for_suggestion
from tests.app.test_window import add_tag_by_keyboard, new_note_by_keyboard, open_note

RECIPES = [
    ("Lentil soup", "Fry onion and garlic, add red lentils, cumin and stock, simmer for"
     " twenty minutes and finish with lemon."),
    ("Banana bread", "Mash three ripe bananas, mix with flour, sugar, two eggs and"
     " walnuts, bake at 180 degrees for an hour."),
    ("Tomato sauce", "Olive oil, garlic, canned tomatoes and basil, cooked slowly for"
     " two hours; freeze half of it."),
    ("Sunday pancakes", "Flour, milk, two eggs and a pinch of salt; rest the batter and"
     " fry in butter."),
]
RUNNING = [
    ("Tempo run", "Eight kilometres at 4:50 per kilometre, legs heavy after Sunday's"
     " long run."),
    ("Marathon plan, week 6", "Long run of 28 km, two easy runs and intervals on"
     " Thursday."),
    ("New running shoes", "After 700 km on the old pair: less cushioning, feels faster"
     " on the track."),
    ("Parkrun", "5k in 23:40 this morning, a personal best despite the wind."),
]
CURRY = ("Chickpea curry", "Coconut milk, spinach, garam masala and chickpeas; simmer and"
         " serve with rice.")
INTERVALS = ("Track session", "Six times 800 metres with 90 seconds rest; the last two"
             " repeats felt hard.")
ROME = ("The Roman senate", "Notes on Augustus, the senate and the long peace that"
        " followed the civil wars.")
LEARNED = "learned from your tags"
PERSONAL_JS = "window.marginStats.personal"


def trained(app: AppProcess) -> dict:
    """The learner's figures once its head is trained on the tags as they are, and kept."""
    deadline = time.monotonic() + 60
    while True:
        personal = app.eval(PERSONAL_JS)
        if personal["signature"] and app.call(
            "personal_training_set", MODEL_ID, personal["signature"]
        ).get("unchanged"):
            return personal
        if time.monotonic() > deadline:
            raise AssertionError(f"the head did not catch up with the tags: {personal}")
        time.sleep(0.1)


def test_the_head_learns_the_users_tags(app_factory, tmp_path: Path) -> None:
    # Four notes tagged "recipes"; four about running, two of them tagged "running".
    data = tmp_path / "data"
    data.mkdir()
    store = Store(paths.database_file(data))
    for title, body in RECIPES:
        store.create_note(title=title, body=body, tags=["recipes"])
    runs = [store.create_note(title=title, body=body, tags=["running"] if i < 2 else [])["id"]
            for i, (title, body) in enumerate(RUNNING)]
    store.close()

    app = app_factory(data)
    app.wait_for(f"{MODEL_READY_JS} && {CAUGHT_UP_JS}", timeout=60)
    # "running" is on two notes only: not learned yet.
    assert trained(app)["labels"] == ["recipes"]

    curry = new_note_by_keyboard(app, *CURRY)
    recipes = wait_for_suggestion(app, curry, "recipes")
    assert LEARNED in recipes["why"].split(" · ")

    rome = new_note_by_keyboard(app, *ROME)
    assert not {"recipes", "running"} & set(settled(app, data, rome))

    # Two more notes tagged "running" in the window: the head learns it too.
    for note_id in runs[2:]:
        open_note(app, note_id)
        add_tag_by_keyboard(app, "running")
    assert trained(app)["labels"] == ["recipes", "running"]
    intervals = new_note_by_keyboard(app, *INTERVALS)
    running = wait_for_suggestion(app, intervals, "running")
    assert LEARNED in running["why"].split(" · ")
    assert "recipes" not in settled(app, data, intervals)
    open_note(app, rome)
    assert not {"recipes", "running"} & set(settled(app, data, rome))
    assert app.stop() == 0

    # The next start loads the kept head: nothing to train, and it suggests at once.
    again = app_factory(data)
    open_note(again, intervals)
    again.wait_for(f"{MODEL_READY_JS} && {CAUGHT_UP_JS}", timeout=60)
    running = wait_for_suggestion(again, intervals, "running")
    assert LEARNED in running["why"].split(" · ")
    personal = again.wait_for(f"{PERSONAL_JS}.checks >= 1 && {PERSONAL_JS}")
    assert personal["trainings"] == 0 and personal["labels"] == ["recipes", "running"]
    assert [s["tag"] for s in shown(again)].count("running") == 1
