"""Tag suggestions through the real window: a typed note gets the default tagger's
suggestions with confidence and why; one is accepted by key, one by click, one is
rejected; after a restart the accepted tags are there with origin "accepted" and the
rejected one stays hidden. Existing notes get suggestions in the background as their
vectors are made, and again, with progress in the status bar, when the taggers change.
A save changes only its own row of the note list, so suggestions come without waiting
for the whole list to be laid out again; and a saved text's suggestions show before
anything else the save sets off (keeping outputs and vector, the row, "Saved"), while
an answer for text changed since never shows."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from desktop import paths
from desktop.store import Store
from tests.app.harness import AppProcess
from tests.app.indexing import (
    CAUGHT_UP_JS,
    MODEL_ID,
    MODEL_READY_JS,
    sib_sentences,
    wait_for_vector,
)
from tests.app.suggesting import settled, shown_tags, wait_for_suggestion
from tests.app.test_window import (
    SAVED_JS,
    has_chip_js,
    new_note_by_keyboard,
    open_note,
    rows,
)

FOOTBALL = ("Football final", "The match went to extra time and our striker scored twice"
            " in the second half.")
ELECTION = ("Election night", "The parliament vote on the new budget was close; the"
            " opposition wants a recount.")
TOKYO = ("Flight to Tokyo", "Booked the flight and a hotel near Shinjuku for the first week"
         " of April; check whether I need a visa.")


def feedback(data: Path) -> list[tuple[int, str, str, str]]:
    uri = f"file:{paths.database_file(data)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return conn.execute(
            "SELECT note_id, tag, state, source FROM suggestion_feedback ORDER BY id"
        ).fetchall()


def test_suggest_accept_reject_and_restart(app_factory, tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = app_factory(data)
    assert "Alt+1" in app.eval("document.getElementById('help').textContent")
    app.wait_for(MODEL_READY_JS, timeout=60)

    # Typed: the default tagger's suggestion shows with its confidence and why.
    football = new_note_by_keyboard(app, *FOOTBALL)
    sports = wait_for_suggestion(app, football, "sports")
    assert sports["source"] == "topic" and sports["why"] == "topic model"
    assert re.fullmatch(r"\d{1,3}%", sports["confidence"]) and sports["key"] == "Alt+1"
    # Accepted with one key, the caret still in the text.
    assert shown_tags(app)[0] == "sports"
    app.press("Alt+1")
    app.wait_for(has_chip_js("sports"))
    assert "sports" not in shown_tags(app)
    assert app.eval("document.activeElement.id") == "body"

    # Accepted with a click.
    election = new_note_by_keyboard(app, *ELECTION)
    wait_for_suggestion(app, election, "politics")
    app.eval("document.querySelector('.suggestion[data-tag=\"politics\"] .suggestion-accept')"
             ".click()")
    app.wait_for(has_chip_js("politics"))

    # Rejected: hidden at once and remembered.
    tokyo = new_note_by_keyboard(app, *TOKYO)
    wait_for_suggestion(app, tokyo, "travel")
    app.eval("document.querySelector('.suggestion[data-tag=\"travel\"] .suggestion-reject')"
             ".click()")
    app.wait_for("!document.querySelector('.suggestion[data-tag=\"travel\"]')")
    deadline = time.monotonic() + 10
    while len(feedback(data)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert feedback(data) == [
        (football, "sports", "accepted", "topic"),
        (election, "politics", "accepted", "topic"),
        (tokyo, "travel", "rejected", "topic"),
    ]
    assert app.stop() == 0

    again = app_factory(data)
    for note_id, tag in ((football, "sports"), (election, "politics")):
        tags = again.call("get_note", note_id)["tags"]
        assert [(t["name"], t["origin"]) for t in tags] == [(tag, "accepted")]
    open_note(again, tokyo)
    again.wait_for(MODEL_READY_JS, timeout=60)
    assert "travel" not in settled(again, data, tokyo)
    # Editing the note does not bring it back either.
    again.eval("document.getElementById('body').focus()")
    again.type_text(" Also a day trip to Kyoto by train.")
    again.wait_for("document.getElementById('body').value.endsWith('by train.')")
    assert "travel" not in settled(again, data, tokyo)


def test_existing_notes_get_suggestions_in_the_background(app_factory, tmp_path: Path) -> None:
    # An older database: 140 notes, never embedded nor tagged; three carry a tag of
    # the user's, so a personal head is trained once they have vectors.
    data = tmp_path / "data"
    data.mkdir()
    store = Store(paths.database_file(data))
    sentences = sib_sentences("eng_Latn", 140)
    ids = [store.create_note(title=topic.capitalize(), body=text)["id"]
           for topic, text in sentences]
    for note_id in ids[:3]:
        store.add_tag(note_id, "mine")
    store.close()

    app = app_factory(data)
    # Every progress text shown (the page is up before the model, so none is missed),
    # and the vectors the catch-up reads back from Python, by the taggers it asks for.
    app.eval(
        "window.progressSeen = []; new MutationObserver(() => {"
        " const bar = document.getElementById('suggest-progress');"
        " if (!bar.hidden) window.progressSeen.push("
        "document.getElementById('suggest-text').textContent); })"
        ".observe(document.getElementById('suggest-progress'),"
        " {attributes: true, childList: true, subtree: true, characterData: true});"
        " window.readBack = {}; const api = window.pywebview.api;"
        " const read = api.notes_needing_suggestions;"
        " api.notes_needing_suggestions = async (model, tagger, limit) => {"
        " const reply = await read(model, tagger, limit);"
        " window.readBack[tagger] = (window.readBack[tagger] || 0) + reply.ids.length;"
        " return reply; }; true"
    )
    app.wait_for(f"{MODEL_READY_JS} && {CAUGHT_UP_JS}", timeout=90)
    # The indexer's vectors were tagged as they were made: once every note had one,
    # the default tagger's outputs of every note were kept, none read back.
    app.wait_for("window.marginStats.personal.trainings >= 1", timeout=60)
    app.wait_for("window.marginStats.suggestions.tagged >= 280"
                 " && document.getElementById('suggest-progress').hidden", timeout=60)
    read_back = app.eval("window.readBack")
    assert all(count == 0 for tagger, count in read_back.items() if tagger.endswith(":none")), (
        read_back)
    # The personal head changed the taggers: the catch-up tagged the notes again,
    # reading their vectors back, with its progress in the status bar (all but the
    # open note, if it was tagged again on its own first).
    assert len(ids) - 1 <= sum(read_back.values()) <= len(ids), read_back
    seen = app.eval("window.progressSeen")
    assert seen and all(re.fullmatch(r"Suggesting tags: \d+ of \d+", text) for text in seen)
    done, total = map(int, re.findall(r"\d+", seen[-1]))
    assert done == total >= len(ids) - 1, seen
    uri = f"file:{paths.database_file(data)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        kept = conn.execute(
            "SELECT count(*) FROM tag_suggestions AS s JOIN notes AS n ON n.id = s.note_id"
            " JOIN embeddings AS e ON e.note_id = n.id AND e.model_id = ?"
            " WHERE s.content_hash = n.content_hash",
            (MODEL_ID,),
        ).fetchone()[0]
    assert kept == len(ids)

    # A note opened now shows what was kept, without tagging it again.
    sport = next(i for i, (topic, _) in zip(ids, sentences, strict=True) if topic == "sports")
    before = app.eval("window.marginStats.suggestions.tagged")
    open_note(app, sport)
    assert "sports" in settled(app, data, sport)
    assert app.eval("window.marginStats.suggestions.tagged") == before


def test_a_save_changes_only_its_own_row(app_factory, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = Store(paths.database_file(data))
    oldest, middle, newest = (
        store.create_note(title=title, body=body)["id"]
        for title, body in (("Zebra facts", "Stripes."), ("Lentils", "Soak overnight."),
                            ("Bike", "New chain."))
    )
    store.close()
    app = app_factory(data)
    assert [row["id"] for row in rows(app)] == [newest, middle, oldest]
    app.eval("document.querySelectorAll('.note-row').forEach(r => { r.kept = true; }); true")

    # The oldest note, edited, comes first with its new text; the other rows stay.
    open_note(app, oldest)
    app.eval("document.getElementById('body').focus()")
    app.type_text(" Black on white.")
    app.wait_for(f"document.querySelector('.note-row').dataset.id === '{oldest}'"
                 " && document.querySelector('.note-row-snippet').textContent"
                 ".endsWith('Black on white.')")
    assert [(row["id"], row["selected"]) for row in rows(app)] == [
        (oldest, True), (newest, False), (middle, False)]
    kept = app.eval("[...document.querySelectorAll('.note-row')].map(r => r.kept === true)")
    assert kept == [False, True, True]
    assert app.eval("document.getElementById('list-count').textContent") == "3 notes"

    # Filtered by a word the note then loses: the list is read again, and it is gone.
    app.press("Ctrl+F")
    app.type_text("zebra")
    app.wait_for("document.querySelectorAll('.note-row').length === 1")
    open_note(app, oldest)
    app.eval("(() => { const title = document.getElementById('title');"
             " title.value = 'Horse facts'; title.dispatchEvent(new Event('input'));"
             " return true; })()")
    app.wait_for("document.querySelectorAll('.note-row').length === 0")
    assert app.eval("document.getElementById('list-count').textContent") == (
        "No notes match “zebra”")


SUGGESTIONS_FIRST_MS = 150  # webui/app.js
# Every suggestion call, keeping of outputs and vectors, and list read, with the tags
# on screen and the save status at that moment; every change of what is shown.
RECORDER_JS = """(() => {
  const log = window.suggestLog = [];
  const tags = () => [...document.querySelectorAll('#suggestions .suggestion')]
    .map((s) => s.dataset.tag);
  const status = () => document.getElementById('save-status').dataset.state;
  const entry = (event) => ({ event, tags: tags(), status: status(), at: performance.now() });
  const api = window.pywebview.api;
  const save = api.save_note;
  api.save_note = async (...args) => {
    const reply = await save(...args);
    log.push(entry('saved_note'));
    return reply;
  };
  for (const name of ['suggest', 'put_suggestions', 'put_embeddings', 'list_notes']) {
    const call = api[name];
    api[name] = (...args) => {
      log.push(entry(name));
      if (name === 'suggest' && window.holdNextSuggest) {
        window.holdNextSuggest = false;
        window.whileHeld?.();
        return new Promise((resolve) => { window.releaseSuggest = () => resolve(call(...args)); });
      }
      return call(...args);
    };
  }
  new MutationObserver(() => log.push(entry('shown')))
    .observe(document.getElementById('suggestions'), { childList: true });
  new MutationObserver(() => log.push(entry('status')))
    .observe(document.getElementById('save-status'), { attributeFilter: ['data-state'] });
  return true;
})()"""


def retype(app: AppProcess, title: str, body: str) -> None:
    """Replaces the open note's text, as one pause in typing."""
    app.eval(
        "(() => { for (const [id, text] of"
        f" [['title', {json.dumps(title)}], ['body', {json.dumps(body)}]]) {{"
        " const field = document.getElementById(id); field.value = text;"
        " field.dispatchEvent(new Event('input')); } return true; })()"
    )


def log_since(app: AppProcess, start: int) -> list[dict]:
    return app.eval(f"window.suggestLog.slice({start})")


def test_suggestions_show_before_the_save_settles(app_factory, tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = app_factory(data)
    app.wait_for(MODEL_READY_JS, timeout=60)
    note_id = new_note_by_keyboard(app, *TOKYO)
    assert "travel" in settled(app, data, note_id)
    app.eval(RECORDER_JS)

    # New text: its suggestions show first; keeping the taggers' outputs and the
    # vector comes after them, and so do the note's row and "Saved", unless the
    # suggestions took longer than those wait for (a loaded machine).
    retype(app, *FOOTBALL)
    app.wait_for(SAVED_JS)
    assert "sports" in settled(app, data, note_id)
    log = log_since(app, 0)
    events = [entry["event"] for entry in log]
    shown = next(i for i, entry in enumerate(log) if "sports" in entry["tags"])
    assert events[shown] == "shown" and events[:shown].count("suggest") == 1, events
    assert events.index("put_suggestions") > shown and events.index("put_embeddings") > shown
    saved_note = log[events.index("saved_note")]["at"]
    for after in (events.index("list_notes"),
                  next(i for i, entry in enumerate(log) if entry["status"] == "saved")):
        waited = log[after]["at"] - saved_note
        assert after > shown or waited >= SUGGESTIONS_FIRST_MS, (events, after, waited)
    assert wait_for_vector(data, note_id) is not None

    # Suggestions for text that changed meanwhile never show. The first text's
    # answer is held until the second text is saved; "Saved" does not wait for it.
    start = len(log_since(app, 0))
    app.eval("window.holdNextSuggest = true")
    retype(app, *ELECTION)
    app.wait_for("typeof window.releaseSuggest === 'function'", timeout=20)
    retype(app, "Packing list", "Passport, adapters, and a guidebook for the trip to Japan.")
    app.wait_for(f"{SAVED_JS} && document.getElementById('body').value.endsWith('Japan.')")
    app.eval("window.releaseSuggest()")
    assert "travel" in settled(app, data, note_id)
    assert app.call("get_note", note_id)["title"] == "Packing list"
    assert not any("politics" in entry["tags"] for entry in log_since(app, start))

    # A suggestion accepted while the save's own updates wait keeps its chip.
    app.eval("delete window.releaseSuggest; window.holdNextSuggest = true;"
             " window.whileHeld = () => document"
             ".querySelector('.suggestion[data-tag=\"travel\"] .suggestion-accept').click(); true")
    retype(app, "Packing list", "Passport, adapters, a guidebook, and a rail pass for Japan.")
    app.wait_for(f"{SAVED_JS} && typeof window.releaseSuggest === 'function'", timeout=20)
    assert app.eval(has_chip_js("travel"))
    app.eval("window.releaseSuggest()")
    settled(app, data, note_id)
    assert app.eval(has_chip_js("travel"))
    assert [tag["name"] for tag in app.call("get_note", note_id)["tags"]] == ["travel"]
