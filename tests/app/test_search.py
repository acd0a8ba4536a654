"""Search (Ctrl+K) and related notes through the real window, over notes written
beforehand with known dates and tags and indexed by the app itself."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from desktop import paths
from desktop.store import Store
from tests.app.harness import ROOT, AppProcess
from tests.app.indexing import CAUGHT_UP_JS, MODEL_READY_JS, current_vectors
from tests.app.test_window import new_note_by_keyboard


def ms(day: str) -> int:
    return int(datetime.fromisoformat(day).timestamp() * 1000)


NOTES = [
    (
        "Sourdough loaf",
        "Feed the starter the night before, knead the dough, let it rise and "
        "bake it at 230 °C for forty minutes.",
        ["cooking"],
        "2023-03-10T09:00",
    ),
    (
        "Focaccia for Saturday",
        "Olive oil, rosemary and coarse salt pressed into a soft dough; "
        "into the oven until golden.",
        ["cooking"],
        "2024-06-01T18:30",
    ),
    (
        "Lisbon, three days",
        "Tram 28 early, Alfama and the castle at sunset, pastries in Belém.",
        ["travel"],
        "2024-06-02T08:00",
    ),
    (
        "Packing list for Iceland",
        "Waterproof jacket, wool socks, hiking boots and a thermos.",
        ["travel"],
        "2023-09-15T12:00",
    ),
    (
        "Why SQLite's WAL mode suits a desktop app",
        "Readers never block the writer, and a crash loses at most the last transaction.",
        ["databases"],
        "2025-01-20T10:00",
    ),
    (
        "Tomato plants",
        "Water the tomatoes every evening and tie them to stakes as they grow.",
        ["garden"],
        "2025-05-05T19:00",
    ),
    (
        "Quarterly taxes",
        "Pay the estimated income tax before the fifteenth; keep the receipts.",
        ["finance"],
        "2023-04-01T08:00",
    ),
    (
        "Guitar practice",
        "Twenty minutes of scales, then the chord changes for the new song.",
        ["music"],
        "2025-02-11T21:00",
    ),
    (
        "Marathon training",
        "Long run on Sunday, intervals on Tuesday, rest on Friday.",
        ["sport"],
        "2024-11-03T07:00",
    ),
    (
        "<b>Bold</b> sourdough notes",
        '<img src=x onerror="window.__pwned=1"> starter feeding schedule for the sourdough',
        ["cooking"],
        "2025-03-03T11:00",
    ),
]
RESULT_TITLES_JS = (
    "[...document.querySelectorAll('.search-result .search-result-title')].map(t => t.textContent)"
)
MARKS_JS = "[...document.querySelectorAll('.search-result mark')].map(m => m.textContent)"
MESSAGE_JS = "document.getElementById('message').textContent"


def write_notes(data: Path) -> dict[str, int]:
    data.mkdir(parents=True)
    now = {"ms": 0}
    store = Store(paths.database_file(data), clock=lambda: now["ms"])
    ids = {}
    for title, body, tags, day in NOTES:
        now["ms"] = ms(day)
        ids[title] = store.create_note(title=title, body=body, tags=tags)["id"]
    store.close()
    return ids


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """A data dir with NOTES and no vectors; tests copy it, as an app locks its own."""
    data = tmp_path_factory.mktemp("search") / "template"
    return data, write_notes(data)


@pytest.fixture(scope="module")
def ids(template) -> dict[str, int]:
    return template[1]


@pytest.fixture(scope="module")
def app(module_app_factory, template, tmp_path_factory) -> AppProcess:
    data = tmp_path_factory.mktemp("search-app") / "data"
    shutil.copytree(template[0], data)
    # On a display when there is one, for the screenshot.
    app = module_app_factory(data, offscreen=not os.environ.get("DISPLAY"))
    app.wait_for(f"{MODEL_READY_JS} && {CAUGHT_UP_JS}", timeout=90)
    assert len(current_vectors(data)) == len(NOTES)
    return app


def search(app: AppProcess, text: str) -> list[str]:
    """Ctrl+K, type `text` over what was there, and the result titles once they show."""
    app.press("Ctrl+K")
    app.wait_for("document.activeElement.id === 'search-input'")
    if text:
        app.type_text(text)
    else:
        app.press("Backspace")
    label = f"Results for “{text}”" if text else "Search results"
    app.wait_for(
        "document.getElementById('search-results').getAttribute('aria-label') === "
        + json.dumps(label),
        timeout=15,
    )
    return app.eval(RESULT_TITLES_JS)


def set_filters(app: AppProcess, tag: str = "", start: str = "", end: str = "") -> None:
    app.eval(
        f"""(() => {{
          for (const [id, value] of [['search-tag', {json.dumps(tag)}],
              ['search-from', {json.dumps(start)}], ['search-to', {json.dumps(end)}]]) {{
            const field = document.getElementById(id);
            field.value = value;
            field.dispatchEvent(new Event('change'));
          }}
          return true;
        }})()"""
    )


def results(app: AppProcess) -> list[dict]:
    return app.eval(
        "[...document.querySelectorAll('.search-result')].map(r => ({id: Number(r.dataset.id),"
        " title: r.querySelector('.search-result-title').textContent,"
        " tags: [...r.querySelectorAll('.mini-tag')].map(t => t.textContent)}))"
    )


@pytest.fixture
def panel(app: AppProcess):
    """The panel with no filters; closed again afterwards."""
    set_filters(app)
    yield app
    if app.eval("!document.getElementById('search-panel').hidden"):
        app.press("Escape")
        app.wait_for("document.getElementById('search-panel').hidden")


def test_words_are_found_while_the_model_loads(app_factory, template, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(template[0], data)
    fresh = app_factory(data)
    titles = search(fresh, "tomatoes")
    info = fresh.eval("document.getElementById('search-info').textContent")
    if "words only" not in info and fresh.eval(MODEL_READY_JS):
        pytest.skip("the model loaded before the query was typed")
    assert titles == ["Tomato plants"]
    assert info == "1 note · matching words only while the language model loads"
    # Once the model is ready, the query is searched again, by meaning too.
    fresh.wait_for(MODEL_READY_JS, timeout=60)
    fresh.wait_for("!document.getElementById('search-info').textContent.includes('words only')")
    assert fresh.eval(RESULT_TITLES_JS)[0] == "Tomato plants"


def test_words_are_found_and_marked(panel: AppProcess, ids: dict[str, int]) -> None:
    titles = search(panel, "sourdough")
    assert set(titles[:2]) == {"Sourdough loaf", "<b>Bold</b> sourdough notes"}
    marks = panel.eval(MARKS_JS)
    assert marks and {mark.lower() for mark in marks} == {"sourdough"}
    # Note text stays text: the title's markup is shown, not run or rendered.
    assert (
        panel.eval("document.querySelectorAll('.search-result b, .search-result img').length") == 0
    )
    assert panel.eval("typeof window.__pwned") == "undefined"
    assert "Focaccia for Saturday" in titles[2:4]  # a loaf of another name, by meaning
    assert (
        panel.eval("document.getElementById('search-info').textContent") == f"{len(titles)} notes"
    )


def test_a_german_query_finds_english_notes_by_meaning(panel: AppProcess) -> None:
    for query, expected in [
        ("Wie backe ich Brot zu Hause?", {"Sourdough loaf", "Focaccia for Saturday"}),
        ("Urlaub nach Portugal", {"Lisbon, three days"}),
        ("Steuererklärung", {"Quarterly taxes"}),
    ]:
        titles = search(panel, query)
        assert titles[0] in expected, (query, titles)
        # No shared words: by words alone nothing is found.
        assert panel.call("search", query, None, None) == [], query


def test_results_follow_typing(panel: AppProcess) -> None:
    search(panel, "tomato")
    # Typed on without a pause: the answer shown is the last query's.
    panel.type_text(" guitar chords")
    panel.wait_for(
        "document.getElementById('search-results').getAttribute('aria-label')"
        " === 'Results for “tomato guitar chords”'"
    )
    assert set(panel.eval(RESULT_TITLES_JS)[:2]) == {"Guitar practice", "Tomato plants"}


def test_filters_by_tag_and_dates(panel: AppProcess) -> None:
    edited = {title: day[:10] for title, _, _, day in NOTES}
    unfiltered = search(panel, "bread in the oven")
    assert {"Focaccia for Saturday", "Sourdough loaf"} <= set(unfiltered)
    assert {tag for r in results(panel) for tag in r["tags"]} > {"cooking"}

    for tag in ("cooking", "travel"):
        set_filters(panel, tag=tag)
        panel.wait_for(
            "[...document.querySelectorAll('.search-result')].every(r =>"
            f" [...r.querySelectorAll('.mini-tag')].some(t => t.textContent === '{tag}'))"
        )
        assert results(panel), tag

    set_filters(panel, start="2024-01-01", end="2024-12-31")
    panel.wait_for(
        "document.querySelector('.search-result-title')?.textContent === 'Focaccia for Saturday'"
    )
    shown = [r["title"] for r in results(panel)]
    assert "Sourdough loaf" not in shown
    assert all(edited[title].startswith("2024") for title in shown), shown

    # Both bounds are whole days, inclusive.
    set_filters(panel, tag="cooking", start="2024-06-01", end="2024-06-01")
    panel.wait_for("document.querySelectorAll('.search-result').length === 1")
    assert results(panel)[0]["title"] == "Focaccia for Saturday"
    set_filters(panel, start="2024-06-02", end="2024-06-01")
    panel.wait_for("document.getElementById('search-info').textContent.includes('start date')")
    assert panel.eval("document.querySelectorAll('.search-result').length") == 0


def test_empty_odd_and_huge_queries(panel: AppProcess) -> None:
    assert search(panel, "?!… ()*") == []
    assert panel.eval("document.getElementById('search-info').textContent") == "No notes match."
    assert search(panel, "") == []
    assert "Type to find notes" in panel.eval("document.getElementById('search-info').textContent")

    # A 10,000-character paste: the start of it is searched, nothing breaks.
    paste = ("Tram 28 early, Alfama and the castle at sunset. " * 250)[:10_000]
    panel.eval(f"document.execCommand('insertText', false, {json.dumps(paste)}); true")
    panel.wait_for(
        "document.getElementById('search-results').getAttribute('aria-label')"
        ".startsWith('Results for “Tram 28')",
        timeout=20,
    )
    assert panel.eval(RESULT_TITLES_JS)[0] == "Lisbon, three days"
    assert panel.eval("document.getElementById('search-input').value.length") <= 1000
    assert panel.eval(MESSAGE_JS) == ""


def test_enter_and_click_open_a_note(panel: AppProcess, ids: dict[str, int]) -> None:
    search(panel, "iceland")
    panel.press("Return")
    panel.wait_for(
        "document.getElementById('search-panel').hidden"
        " && document.getElementById('title').value === 'Packing list for Iceland'"
        " && document.activeElement.id === 'body'"
    )

    search(panel, "money owed to the state")
    target = results(panel)[1]
    panel.eval(f"document.querySelector('.search-result[data-id=\"{target['id']}\"]').click()")
    panel.wait_for(f"document.getElementById('title').value === {json.dumps(target['title'])}")
    assert panel.eval("document.getElementById('search-panel').hidden") is True

    # Escape closes the panel and gives the focus back.
    panel.eval("document.getElementById('body').focus()")
    search(panel, "x")
    panel.press("Escape")
    panel.wait_for("document.getElementById('search-panel').hidden")
    assert panel.eval("document.activeElement.id") == "body"


def wait_for_related(app: AppProcess, note_id: int) -> list[dict]:
    """The related notes shown for this note, once they are there."""
    app.wait_for(
        f"document.getElementById('related').dataset.noteId === '{note_id}'"
        " && !document.getElementById('related').hidden"
    )
    return app.eval(
        "[...document.querySelectorAll('#related .related-note')].map(b => ({"
        "id: Number(b.dataset.id), title: b.querySelector('.related-title').textContent}))"
    )


def test_related_notes(app: AppProcess, ids: dict[str, int]) -> None:
    app.eval(f"document.querySelector('.note-row[data-id=\"{ids['Sourdough loaf']}\"]').click()")
    shown = wait_for_related(app, ids["Sourdough loaf"])
    assert len(shown) == 5
    assert ids["Sourdough loaf"] not in [r["id"] for r in shown]
    assert {shown[0]["title"], shown[1]["title"]} == {
        "Focaccia for Saturday",
        "<b>Bold</b> sourdough notes",
    }

    app.eval(
        f"document.querySelector('#related .related-note[data-id=\"{shown[0]['id']}\"]').click()"
    )
    app.wait_for(f"document.getElementById('title').value === {json.dumps(shown[0]['title'])}")
    again = wait_for_related(app, shown[0]["id"])
    assert len(again) == 5 and shown[0]["id"] not in [r["id"] for r in again]

    # A new note has none until its vector is stored; then they follow its text.
    new_id = new_note_by_keyboard(
        app, "Chord changes", "Practise scales and chord changes on the guitar."
    )
    app.wait_for(
        f"document.getElementById('related').dataset.noteId === '{new_id}'"
        " && document.querySelector('#related .related-title')?.textContent === 'Guitar practice'",
        timeout=20,
    )


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X display: xvfb-run -a")
def test_search_screenshot(panel: AppProcess) -> None:
    search(panel, "sourdough starter")
    path = panel.screenshot(ROOT / "test-artifacts" / "search.png")

    from qtpy.QtGui import QImage

    image = QImage(str(path))
    assert (image.width(), image.height()) == (1200, 780)
    # The dialog's white paper over the dimmed app, and marks in the results.
    assert panel.eval(MARKS_JS)
    assert image.pixelColor(600, 120).name() == "#ffffff"
    assert image.pixelColor(20, 700).name() != "#efede7"  # the sidebar, dimmed
