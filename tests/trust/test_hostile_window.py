"""No note can run code (issue #7): every hostile input (tests/trust/hostile_inputs.py)
goes through the real window as a title, a body, a tag, a source link, a filter and
a search query, and is then looked at wherever the window shows it: the note list,
the editor, the tag chips and sidebar, the tag filter's count, search results with
their highlights, related notes, suggestions, the toast and the status bar.

Nothing may run: no `__pwned` global, no dialog (hooked in the page; one that got
past the hook to Qt would stop the page answering), no bridge call that only
running input would make (counted in the app's own Python by the spy), no CSP
violation, and no element or attribute that note text could have brought in. Text
must show as the same text the store holds.

One app for the whole module; each step drives the page in one loop per batch.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from desktop import paths
from desktop.store import Store
from tests.app.harness import AppError, AppProcess
from tests.app.indexing import CAUGHT_UP_JS, MODEL_READY_JS, current_vectors
from tests.trust.hostile_inputs import (
    EFFECTS_JS,
    HOOKS_JS,
    HOSTILE,
    LONG,
    NOTHING_RAN,
    Hostile,
    hostile_calls,
    spied,
    spy_env,
)

SOURCE_PREFIX = "https://example.invalid/"

# Page-side steps, each awaited from the test: they use the window's own controls
# (buttons, fields, their input/change/keydown events), so the app's own code saves,
# lists and renders everything.
STEPS_JS = r"""
window.__trust = (() => {
  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  async function until(check, ms = 10000, what = "") {
    const end = performance.now() + ms;
    for (;;) {
      const value = check();
      if (value) return value;
      if (performance.now() > end) throw new Error(`timed out: ${check} ${what.slice(0, 80)}`);
      await sleep(5);
    }
  }
  function type(field, value, event = "input") {
    field.value = value;
    field.dispatchEvent(new Event(event, { bubbles: true }));
  }
  async function saved(action) {
    const status = $("save-status");
    status.dataset.state = "probe";
    action();
    return until(() => ["saved", "failed"].includes(status.dataset.state)
      && status.dataset.state);
  }
  function enter(field) {
    field.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
  }

  /** A new note with `text` as its title and body, `tag`, a refused and a kept link. */
  async function write({ title, text, tag, link }) {
    document.activeElement?.blur();
    $("new-note").click();
    // The new note has focus once it is listed.
    await until(() => document.activeElement === $("title"));
    type($("title"), title);
    type($("body"), text);
    await window.marginBeforeClose();
    const refused = await saved(() => type($("source-url"), text, "change"));
    const message = $("message").textContent;
    const kept = await saved(() => type($("source-url"), link, "change"));
    const tags = () => [...document.querySelectorAll("#tag-chips .chip")].length;
    type($("tag-input"), tag);
    enter($("tag-input"));
    await until(() => tags() === 1);
    return { refused, message, kept };
  }

  async function writeAll(steps) {
    const outcomes = [];
    for (const step of steps) outcomes.push(await write(step));
    return outcomes;
  }

  /** Each note's text as its source link, through the bridge: the replies' messages. */
  async function linkEach(notes) {
    const api = window.pywebview.api;
    const tried = await Promise.all(notes.map(({ id, text }) =>
      api.save_note(id, { source_url: text })));
    return tried.map((reply) => reply.error?.message ?? null);
  }

  /** Opens each listed note by its row; what the editor and its panels show. */
  async function openEach(wantRelated) {
    const shown = {};
    for (const row of [...document.querySelectorAll("#note-list .note-row")]) {
      const id = row.dataset.id;
      row.click();
      await until(() => row.classList.contains("selected")
        && $("related").dataset.noteId === id
        && (!wantRelated || !$("related").hidden)
        && $("suggestions").dataset.noteId === id);
      // Kept suggestions come with the next answer, if the taggers had any.
      await until(() => document.querySelector("#suggestions .suggestion"), 150).catch(() => null);
      shown[id] = {
        title: $("title").value,
        body: $("body").value,
        source: $("source-url").value,
        chips: [...document.querySelectorAll("#tag-chips .chip-name")].map((c) => c.textContent),
        chipTags: [...document.querySelectorAll("#tag-chips .chip")].map((c) => c.dataset.tag),
        related: [...document.querySelectorAll("#related .related-title")]
          .map((t) => [t.closest("button").dataset.id, t.textContent]),
        suggested: [...document.querySelectorAll("#suggestions .suggestion-name")]
          .map((s) => s.textContent),
      };
    }
    return shown;
  }

  /** Clicks each tag in the sidebar: the list's count line names it. */
  async function filterByEachTag() {
    const lines = []; // pairs: a tag may be called "__proto__"
    const buttons = () => [...document.querySelectorAll("#tag-list .tag-filter[data-tag]")];
    for (const name of buttons().map((b) => b.dataset.tag)) {
      const button = buttons().find((b) => b.dataset.tag === name);
      $("list-count").textContent = "";
      button.click();
      lines.push([name, await until(() => $("list-count").textContent)]);
    }
    buttons()[0] && document.querySelector("#tag-list .tag-filter[data-all]").click();
    return lines;
  }

  /** Each [query, the text the panel searches] in the search panel; the rows it
   * shows, as text and marks. */
  async function searchEach(queries) {
    $("open-search").click();
    const list = $("search-results");
    const shown = [];
    for (const [query, text] of queries) {
      $("search-info").textContent = "";
      type($("search-input"), query);
      await until(() => list.getAttribute("aria-label") === `Results for “${text}”`
        && $("search-info").textContent, 10000, JSON.stringify(query));
      shown.push({
        query: text,
        info: $("search-info").textContent,
        tags: [...new Set([...list.querySelectorAll("*")].map((n) => n.localName))],
        rows: [...list.children].map((row) => ({
          id: row.dataset.id,
          title: row.querySelector(".search-result-title").textContent,
          snippet: row.querySelector(".search-result-snippet")?.textContent ?? "",
          marks: [...row.querySelectorAll("mark")].map((m) => m.textContent),
          tags: [...row.querySelectorAll(".mini-tag")].map((m) => m.textContent),
        })),
      });
    }
    $("search-input").dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    return shown;
  }

  /** Each text in the filter box; the list's count line. */
  async function filterEach(texts) {
    const lines = [];
    for (const text of texts) {
      $("list-count").textContent = "";
      type($("filter"), text);
      lines.push(await until(() => $("list-count").textContent, 10000, JSON.stringify(text)));
    }
    $("list-count").textContent = "";
    type($("filter"), "");
    await until(() => $("list-count").textContent);
    return lines;
  }

  /** Deletes the open note (the toast names it), then undoes it (the status bar does). */
  async function deleteAndUndo() {
    $("toast").hidden = true;
    $("delete-note").click();
    const toast = await until(() => !$("toast").hidden && $("toast-text").textContent);
    $("message").textContent = "";
    $("toast-action").click();
    const message = await until(() => $("message").textContent);
    return { toast, message };
  }

  /** Renames a tag through the sidebar's Rename button; the status bar's line. */
  async function rename(oldName, newName) {
    const row = [...document.querySelectorAll("#tag-list .tag-row")]
      .find((r) => r.querySelector(`.tag-filter`)?.dataset.tag === oldName);
    row.querySelector(".tag-rename").click();
    $("message").textContent = "";
    const input = row.querySelector(".tag-rename-input");
    input.value = newName;
    enter(input);
    return until(() => $("message").textContent);
  }

  return {
    linkEach, writeAll, openEach, filterByEachTag, searchEach, filterEach, deleteAndUndo, rename,
  };
})(), true
"""


def stored_notes(data: Path) -> dict[str, dict]:
    """Live notes as the store keeps them (read-only, beside the running app), by id."""
    uri = f"file:{paths.database_file(data)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        notes = {
            str(row[0]): {"title": row[1], "body": row[2], "source": row[3] or "", "tags": []}
            for row in conn.execute(
                "SELECT id, title, body, source_url FROM notes WHERE deleted IS NULL"
            )
        }
        for note_id, name in conn.execute(
            "SELECT nt.note_id, t.name FROM note_tags AS nt JOIN tags AS t ON t.id = nt.tag_id"
            " ORDER BY t.name"
        ):
            if str(note_id) in notes:
                notes[str(note_id)]["tags"].append(name)
    return notes


def in_input(text: str) -> str:
    """What a one-line <input> keeps of a text set as its value (line breaks go)."""
    return text.replace("\r", "").replace("\n", "")


def js_trim(text: str) -> str:
    """String.prototype.trim: Python's whitespace, and the byte order mark."""
    return re.sub(r"^[\s\ufeff]+|[\s\ufeff]+$", "", text)


def searched(query: str) -> str:
    """What the search panel searches for a query set as its field's value: line
    breaks dropped (a search field does), then its first 1,000 UTF-16 units without
    half a surrogate pair."""
    units = in_input(query).encode("utf-16-le")[:2000]
    if len(units) >= 2 and 0xD800 <= int.from_bytes(units[-2:], "little") <= 0xDBFF:
        units = units[:-2]
    return units.decode("utf-16-le")


def title(text: str) -> str:
    """What a person can type into the title field (500 characters, one line)."""
    return in_input(text)[:500]


def link(hostile: Hostile) -> str:
    """A web address holding the input (the source links that are kept)."""
    return (SOURCE_PREFIX + in_input(hostile.text)[:1900]).strip()


def assert_nothing_ran(app: AppProcess, record: Path, deleted: list[int]) -> None:
    assert app.eval(EFFECTS_JS) == NOTHING_RAN
    calls = hostile_calls(record)
    assert calls == [{"call": "delete_note", "args": [i]} for i in deleted], calls


@pytest.fixture(scope="module")
def spy(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spy") / "calls.jsonl"


def typed(hostile: Hostile) -> bool:
    """Every fourth input and the long ones are typed into the editor by the test; the
    others are notes from an earlier session, there when the window opens."""
    return hostile.number % 4 == 1 or hostile in LONG


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("hostile") / "data"
    data.mkdir()
    store = Store(paths.database_file(data))
    try:
        for hostile in HOSTILE:
            if not typed(hostile):
                store.create_note(title(hostile.text), hostile.text, link(hostile), [hostile.tag()])
    finally:
        store.close()
    return data


@pytest.fixture(scope="module")
def app(module_app_factory, data: Path, spy: Path) -> AppProcess:
    app = module_app_factory(data, extra_env=spy_env(spy))
    assert app.eval(HOOKS_JS)
    assert app.eval(STEPS_JS)
    return app


@pytest.fixture(scope="module")
def written(app: AppProcess, data: Path) -> dict[str, dict]:
    """Every input as a note; the notes as stored, by id.

    The typed ones go through the editor's fields (the real save, link and tag code),
    each trying its text as the source link first, which must be refused; the
    others try theirs through the bridge.
    """
    earlier = [
        {"id": int(note_id), "text": note["body"]}
        for note_id, note in stored_notes(data).items()
    ]
    refusals = app.call_async(f"window.__trust.linkEach({json.dumps(earlier)})", timeout=60)
    assert all(message.startswith("The source link ") for message in refusals), refusals
    chosen = [hostile for hostile in HOSTILE if typed(hostile)]
    steps = [
        {"title": title(h.text), "text": h.text, "tag": h.tag(), "link": link(h)} for h in chosen
    ]
    outcomes = app.call_async(f"window.__trust.writeAll({json.dumps(steps)})", timeout=600)
    for hostile, outcome in zip(chosen, outcomes, strict=True):
        assert outcome["refused"] == "failed" and outcome["kept"] == "saved", hostile.number
        assert outcome["message"].startswith("The source link "), (hostile.number, outcome)
    return stored_notes(data)


def test_the_store_keeps_each_input_as_written(written: dict[str, dict]) -> None:
    assert len(written) == len(HOSTILE)
    by_title = {note["title"]: note for note in written.values()}
    for hostile in HOSTILE:
        note = by_title[title(hostile.text)]
        assert note["body"] == hostile.text
        assert note["source"] == link(hostile)
        assert [name.casefold() for name in note["tags"]] == [hostile.tag().casefold()]


def test_the_list_shows_titles_snippets_and_tags_as_text(
    app: AppProcess, written: dict[str, dict], spy: Path
) -> None:
    listed = {note["id"]: note for note in app.call("list_notes", "", None, 1000, 0)}
    shown = app.eval(
        "Object.fromEntries([...document.querySelectorAll('#note-list .note-row')].map(r => ["
        " r.dataset.id, {title: r.querySelector('.note-row-title').textContent,"
        " snippet: r.querySelector('.note-row-snippet')?.textContent ?? '',"
        " tags: [...r.querySelectorAll('.mini-tag')].map(t => t.textContent)}]))"
    )
    assert sorted(shown) == sorted(written)
    for note_id, row in shown.items():
        note = written[note_id]
        assert row["title"] == (note["title"] or "Untitled")
        assert row["snippet"] == listed[int(note_id)]["snippet"]
        assert row["tags"] == note["tags"]
    assert_nothing_ran(app, spy, [])


def test_the_editor_related_notes_and_suggestions_show_text(
    app: AppProcess, data: Path, written: dict[str, dict], spy: Path
) -> None:
    # Related notes and suggestions need every note's vector.
    app.wait_for(f"{MODEL_READY_JS} && {CAUGHT_UP_JS}", timeout=240)
    deadline = time.monotonic() + 240
    while len(current_vectors(data)) < len(written) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(current_vectors(data)) == len(written)
    shown = app.call_async("window.__trust.openEach(true)", timeout=240)
    assert sorted(shown) == sorted(written)
    titles = {note_id: note["title"] or "Untitled" for note_id, note in written.items()}
    related = 0
    for note_id, view in shown.items():
        note = written[note_id]
        assert view["title"] == note["title"]
        assert view["body"] == note["body"]
        assert view["source"] == note["source"]
        assert view["chips"] == view["chipTags"] == note["tags"]
        for other_id, title in view["related"]:
            assert title == titles[other_id]
            related += 1
    assert related >= len(written)
    assert any(view["suggested"] for view in shown.values())
    assert_nothing_ran(app, spy, [])


def test_the_tag_sidebar_and_its_filter_name_tags_as_text(
    app: AppProcess, written: dict[str, dict], spy: Path
) -> None:
    names = sorted({name for note in written.values() for name in note["tags"]})
    shown = app.eval(
        "[...document.querySelectorAll('#tag-list .tag-filter[data-tag]')]"
        ".map(b => [b.dataset.tag, b.querySelector('.tag-filter-name').textContent])"
    )
    assert sorted(name for name, _ in shown) == names
    assert all(name == text for name, text in shown)
    lines = dict(app.call_async("window.__trust.filterByEachTag()", timeout=120))
    for name in names:
        assert lines[name].endswith(f" tagged “{name}”"), (name, lines[name])
    assert_nothing_ran(app, spy, [])


def test_search_results_and_highlights_are_text(
    app: AppProcess, written: dict[str, dict], spy: Path
) -> None:
    # The last one is cut inside a surrogate pair at 1,000 UTF-16 units.
    queries = [hostile.text for hostile in HOSTILE] + ["a" * 999 + "\U0001f600"]
    pairs = [[query, searched(query)] for query in queries]
    shown = app.call_async(f"window.__trust.searchEach({json.dumps(pairs)})", timeout=300)
    assert shown[-1]["query"] == "a" * 999 and "cannot" not in shown[-1]["info"], shown[-1]
    found = 0
    for result in shown:
        assert set(result["tags"]) <= {"li", "div", "span", "time", "mark"}, result["tags"]
        for row in result["rows"]:
            note = written[row["id"]]
            assert row["title"] == (note["title"] or "Untitled")
            assert row["tags"] == note["tags"]
            for mark in row["marks"]:
                assert mark in row["title"] or mark in row["snippet"], mark
            found += 1
    assert found >= len(queries)
    assert_nothing_ran(app, spy, [])


def test_the_filter_box_takes_each_input_and_a_long_paste(app: AppProcess, spy: Path) -> None:
    texts = [hostile.text for hostile in HOSTILE] + ["paste " * 2000]
    lines = app.call_async(f"window.__trust.filterEach({json.dumps(texts)})", timeout=300)
    for text, line in zip(texts, lines, strict=True):
        if line.startswith("No notes match"):
            assert line == f"No notes match “{js_trim(in_input(text))}”"
        else:
            assert line.endswith(("note", "notes")), line
    assert lines[-1] == f"No notes match “{texts[-1].strip()}”"
    assert app.eval("document.getElementById('message').textContent") == ""
    assert_nothing_ran(app, spy, [])


def test_the_toast_and_status_bar_name_notes_and_tags_as_text(
    app: AppProcess, written: dict[str, dict], spy: Path
) -> None:
    deleted = []
    for hostile in HOSTILE[:6]:
        note_id = next(i for i, n in written.items() if n["body"] == hostile.text)
        app.eval(f"document.querySelector('#note-list .note-row[data-id=\"{note_id}\"]').click()")
        app.wait_for(f"document.querySelector('.note-row.selected')?.dataset.id === '{note_id}'")
        shown = app.call_async("window.__trust.deleteAndUndo()", timeout=30)
        title = written[note_id]["title"]
        short = title if len(title) <= 60 else title[:59] + "…"
        assert shown == {"toast": f"Deleted “{short}”.", "message": f"Restored “{short}”."}
        deleted.append(int(note_id))
    old, new = HOSTILE[0].tag(), HOSTILE[1].tag() + " again"
    message = app.call_async(f"window.__trust.rename({json.dumps(old)}, {json.dumps(new)})")
    assert message == f"Renamed “{old}” to “{new}”."
    assert_nothing_ran(app, spy, deleted)


def test_the_detectors_see_what_they_look_for(app: AppProcess, spy: Path) -> None:
    """Code that does run is seen: a dialog, a bridge call, markup, a CSP violation,
    and a dialog that reaches Qt (the page stops answering until it is closed)."""
    before = len(spied(spy))
    app.eval("window.alert('hooked'), window.pywebview.api.delete_note(987654321), true")
    app.eval(
        "document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"alert(1)\">'), true"
    )
    seen = app.wait_for(
        "(() => { const e = " + EFFECTS_JS + "; return e.violations.length && e; })()"
    )
    assert seen["dialogs"] == [["alert", "hooked"]]
    assert "element img" in seen["odd"] and "img onerror" in seen["odd"]
    assert seen["violations"][0][0].startswith("script-src")
    assert seen["pwned"] is None  # the CSP stopped the handler
    deadline = time.monotonic() + 10
    while {"call": "delete_note", "args": [987654321]} not in spied(spy)[before:]:
        assert time.monotonic() < deadline, spied(spy)[before:]
        time.sleep(0.05)
    # Last, as the window stays blocked: Qt's own dialog stops the page, so every
    # answer the page gave in the tests before shows none was up.
    app.eval("setTimeout(() => window.__real_alert('native'), 0), true")
    with pytest.raises(AppError, match="no answer"):
        app.eval("true", timeout=3)
    # Closed as the system would (the page cannot answer the control channel now).
    os.kill(app.pid, signal.SIGTERM)
