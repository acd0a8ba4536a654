"""The real window: typing, saving, tags, keyboard, errors, and what the page may do.

Keys go in through Qt (the control channel's "type"/"key"), so the page sees real,
trusted keyboard events. Most tests share one app; the restart test owns two.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.app.harness import READY_JS, AppProcess

ROWS_JS = """[...document.querySelectorAll('.note-row')].map(r => ({
  id: Number(r.dataset.id),
  title: r.querySelector('.note-row-title').textContent,
  snippet: r.querySelector('.note-row-snippet')?.textContent ?? '',
  tags: [...r.querySelectorAll('.mini-tag')].map(t => t.textContent),
  selected: r.classList.contains('selected'),
}))"""
SAVED_JS = "document.getElementById('save-status').dataset.state === 'saved'"


def rows(app: AppProcess) -> list[dict]:
    return app.eval(ROWS_JS)


def open_id(app: AppProcess) -> int | None:
    return app.eval("Number(document.querySelector('.note-row.selected')?.dataset.id) || null")


def value(app: AppProcess, element_id: str) -> str:
    return app.eval(f"document.getElementById({json.dumps(element_id)}).value")


def new_note_by_keyboard(app: AppProcess, title: str, body: str) -> int:
    """Ctrl+N, type a title, Enter, type the body; returns the id once it is saved."""
    before = {row["id"] for row in rows(app)}
    app.press("Ctrl+N")
    app.wait_for(
        "document.activeElement.id === 'title'"
        " && Number(document.querySelector('.note-row.selected')?.dataset.id) > 0"
    )
    note_id = open_id(app)
    assert note_id not in before
    app.type_text(f"{title}\n{body}")
    app.wait_for(
        f"document.getElementById('body').value === {json.dumps(body)} && {SAVED_JS}",
        timeout=15,
    )
    return note_id


def clear_filter(app: AppProcess) -> None:
    app.press("Ctrl+F")
    app.press("Escape")  # Escape in a filled box empties it
    app.wait_for("document.getElementById('filter').value === ''")


def open_note(app: AppProcess, note_id: int) -> None:
    app.eval(f"document.querySelector('.note-row[data-id=\"{note_id}\"]').click()")
    app.wait_for(f"Number(document.querySelector('.note-row.selected')?.dataset.id) === {note_id}")


@pytest.fixture(scope="module")
def app(module_app_factory) -> AppProcess:
    return module_app_factory()


# ---------------------------------------------------------------- saving


def test_typed_note_is_saved_and_found_after_restart(app_factory, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = app_factory(data)
    note_id = new_note_by_keyboard(first, "Groceries", "Oat milk, lemons, rye bread.")
    assert first.eval("document.getElementById('save-status').textContent") == "Saved"
    stored = first.call("get_note", note_id)
    assert (stored["title"], stored["body"]) == ("Groceries", "Oat milk, lemons, rye bread.")

    # Typing that is still waiting for its save when the window closes is kept.
    first.eval("document.getElementById('body').focus()")
    first.type_text(" And coffee.")
    first.wait_for("document.getElementById('body').value.endsWith('And coffee.')")
    assert first.stop() == 0

    second = app_factory(data)
    listed = rows(second)
    assert [row["title"] for row in listed] == ["Groceries"]
    assert listed[0]["snippet"] == "Oat milk, lemons, rye bread. And coffee."
    assert value(second, "body") == "Oat milk, lemons, rye bread. And coffee."


def test_saving_shows_saving_then_saved(app: AppProcess) -> None:
    note_id = new_note_by_keyboard(app, "Status", "first")
    app.eval(
        "window.__states = [];"
        " new MutationObserver(() => window.__states.push("
        "document.getElementById('save-status').textContent))"
        ".observe(document.getElementById('save-status'), {childList: true, characterData: true,"
        " subtree: true}); true"
    )
    app.type_text(" more")
    app.wait_for(f"document.getElementById('body').value === 'first more' && {SAVED_JS}")
    states = app.eval("window.__states")
    assert "Saving…" in states and states[-1] == "Saved"
    assert app.call("get_note", note_id)["body"] == "first more"


def test_list_is_sorted_by_last_edit(app: AppProcess) -> None:
    older = new_note_by_keyboard(app, "Older", "a")
    newer = new_note_by_keyboard(app, "Newer", "b")
    ids = [row["id"] for row in rows(app)]
    assert ids.index(newer) < ids.index(older)
    open_note(app, older)
    app.eval("document.getElementById('body').focus()")
    app.type_text(" edited")
    app.wait_for(f"{SAVED_JS} && document.querySelector('.note-row').dataset.id === '{older}'")


def test_long_lists_show_more_on_request(app_factory) -> None:
    app = app_factory()
    app.call_async(
        "(async () => { for (let i = 0; i < 205; i++)"
        " await window.pywebview.api.create_note({title: `Note ${i}`}); })()",
        timeout=120,
    )
    app.eval("window.__before_reload = true; location.reload(); true")
    app.wait_for(f"window.__before_reload === undefined && {READY_JS}")
    assert len(rows(app)) == 200
    assert app.eval("document.getElementById('list-count').textContent") == "First 200 notes"
    app.eval("document.getElementById('show-more').click()")
    app.wait_for("document.querySelectorAll('.note-row').length === 205")
    assert app.eval("document.getElementById('show-more').hidden") is True
    assert rows(app)[-1]["title"] == "Note 0"
    assert app.eval("document.getElementById('list-count').textContent") == "205 notes"


# ---------------------------------------------------------------- note text stays text


def test_markup_in_a_note_is_shown_as_text(app: AppProcess) -> None:
    title = '<img src=x onerror="window.__pwned=1">'
    body = '<script>window.__pwned=2</script><img src=x onerror="window.__pwned=3"> <b>bold</b>'
    note_id = new_note_by_keyboard(app, title, body)
    app.press("Ctrl+F")
    app.type_text("onerror")  # re-render the list from storage through the filter
    app.wait_for(f"document.querySelectorAll('.note-row').length >= 1 && {SAVED_JS}")
    row = next(row for row in rows(app) if row["id"] == note_id)
    assert row["title"] == title
    assert row["snippet"] == body
    open_note(app, note_id)
    assert value(app, "title") == title
    assert value(app, "body") == body
    app.eval("new Promise(r => setTimeout(r, 300))")  # give any injected handler time to run
    assert app.eval("typeof window.__pwned") == "undefined"
    assert app.eval("document.querySelectorAll('img, script:not([src]), b').length") == 0
    clear_filter(app)


# ---------------------------------------------------------------- tags


def chips(app: AppProcess) -> list[str]:
    return app.eval(
        "[...document.querySelectorAll('#tag-chips .chip-name')].map(c => c.textContent)"
    )


def sidebar_tags(app: AppProcess) -> dict[str, int]:
    return dict(
        app.eval(
            "[...document.querySelectorAll('.tag-filter[data-tag]')].map(b =>"
            " [b.dataset.tag, Number(b.querySelector('.tag-count').textContent)])"
        )
    )


def has_chip_js(name: str) -> str:
    return f"!!document.querySelector('#tag-chips .chip[data-tag={json.dumps(name)}]')"


def add_tag_by_keyboard(app: AppProcess, name: str, shown_as: str | None = None) -> None:
    app.press("Ctrl+T")
    app.wait_for("document.activeElement.id === 'tag-input'")
    app.type_text(f"{name}\n")
    app.wait_for(has_chip_js(shown_as or name))
    app.wait_for(
        f"!!document.querySelector('.tag-filter[data-tag={json.dumps(shown_as or name)}]')"
    )


def rename_in_sidebar(app: AppProcess, old: str, new: str) -> None:
    app.eval(
        f"document.querySelector('.tag-filter[data-tag={json.dumps(old)}]').parentElement"
        ".querySelector('.tag-rename').click()"
    )
    app.wait_for("document.activeElement.classList.contains('tag-rename-input')")
    app.type_text(f"{new}\n")
    app.wait_for(f"!document.querySelector('.tag-filter[data-tag={json.dumps(old)}]')")


def test_tags_chips_autocomplete_rename_and_merge(app: AppProcess) -> None:
    trip = new_note_by_keyboard(app, "Lisbon trip", "Trams and tiles.")
    add_tag_by_keyboard(app, "travel")
    add_tag_by_keyboard(app, "photos")
    assert chips(app) == ["photos", "travel"] or chips(app) == ["travel", "photos"]

    # Removing a chip.
    app.eval("document.querySelector('.chip[data-tag=\"photos\"] .chip-remove').click()")
    app.wait_for("!document.querySelector('.chip[data-tag=\"photos\"]')")
    assert app.call("get_note", trip)["tags"][0]["name"] == "travel"

    # Another note is offered the existing tag.
    plans = new_note_by_keyboard(app, "Plans", "Budget for the year.")
    options = app.eval("[...document.querySelectorAll('#tag-options option')].map(o => o.value)")
    assert "travel" in options
    add_tag_by_keyboard(app, "work")
    options = app.eval("[...document.querySelectorAll('#tag-options option')].map(o => o.value)")
    assert "work" not in options  # the note has it already
    # The same tag in another spelling is linked, not duplicated.
    add_tag_by_keyboard(app, "Travel", shown_as="travel")
    app.wait_for(
        "document.querySelector('.tag-filter[data-tag=\"travel\"] .tag-count').textContent === '2'"
    )

    # Rename from the sidebar: everywhere, including the open note's chips and the list.
    rename_in_sidebar(app, "travel", "journeys")
    app.wait_for(has_chip_js("journeys"))
    assert "journeys" in sidebar_tags(app)
    assert [t["name"] for t in app.call("get_note", trip)["tags"]] == ["journeys"]
    app.wait_for(
        f"document.querySelector('.note-row[data-id=\"{trip}\"] .mini-tag')"
        "?.textContent === 'journeys'"
    )

    # Renaming onto an existing name merges the two tags.
    rename_in_sidebar(app, "journeys", "work")
    app.wait_for("document.getElementById('message').textContent.startsWith('Merged')")
    assert sidebar_tags(app)["work"] == 2
    assert [t["name"] for t in app.call("get_note", plans)["tags"]] == ["work"]
    assert chips(app) == ["work"]

    # Clicking a tag in the sidebar filters the list by it.
    new_note_by_keyboard(app, "Unrelated", "Carries no tag.")
    everything = len(rows(app))
    app.eval("document.querySelector('.tag-filter[data-tag=\"work\"]').click()")
    app.wait_for("document.querySelectorAll('.note-row').length === 2")
    assert {row["id"] for row in rows(app)} == {trip, plans}
    app.eval("document.querySelector('.tag-filter[data-all]').click()")
    app.wait_for(f"document.querySelectorAll('.note-row').length === {everything}")


def test_delete_then_undo(app: AppProcess) -> None:
    note_id = new_note_by_keyboard(app, "Short-lived", "Delete me, then bring me back.")
    app.press("Ctrl+Delete")
    app.wait_for("!document.getElementById('toast').hidden")
    assert note_id not in [row["id"] for row in rows(app)]
    assert "Short-lived" in app.eval("document.getElementById('toast-text').textContent")
    assert app.call("get_note", note_id)["error"]["code"] == "not_found"

    app.press("Ctrl+Z")
    app.wait_for(f"document.querySelector('.note-row[data-id=\"{note_id}\"]') !== null")
    assert app.eval("document.getElementById('toast').hidden") is True
    assert open_id(app) == note_id
    assert value(app, "body") == "Delete me, then bring me back."

    # Ctrl+Backspace deletes from the list, but is word-deletion inside the text.
    app.eval(
        "const b = document.getElementById('body'); b.focus();"
        " b.setSelectionRange(b.value.length, b.value.length); true"
    )
    app.press("Ctrl+Backspace")
    app.wait_for("document.getElementById('body').value === 'Delete me, then bring me back'")
    assert app.eval("document.getElementById('toast').hidden") is True
    app.eval("document.querySelector('.note-row.selected').focus()")
    app.press("Ctrl+Backspace")
    app.wait_for("!document.getElementById('toast').hidden")
    assert note_id not in [row["id"] for row in rows(app)]


# ---------------------------------------------------------------- keyboard


def test_keyboard_shortcuts(app: AppProcess) -> None:
    first = new_note_by_keyboard(app, "Keys one", "1")
    second = new_note_by_keyboard(app, "Keys two", "2")
    count = len(rows(app))

    app.press("Ctrl+N")
    app.wait_for(f"document.querySelectorAll('.note-row').length === {count + 1}")
    app.wait_for("document.activeElement.id === 'title'")
    app.press("Escape")

    app.press("Ctrl+F")
    app.wait_for("document.activeElement.id === 'filter'")

    # "/" focuses the filter from outside text fields, and is just a character inside them.
    app.eval("document.getElementById('body').focus()")
    app.type_text("/")
    app.wait_for("document.getElementById('body').value === '/'")
    assert app.eval("document.activeElement.id") == "body"
    open_note(app, second)
    app.eval("document.querySelector('.note-row.selected').focus()")
    app.press("/")
    app.wait_for("document.activeElement.id === 'filter'")

    open_note(app, second)
    ids = [row["id"] for row in rows(app)]
    here = ids.index(second)
    app.press("Alt+Down")
    app.wait_for(
        f"Number(document.querySelector('.note-row.selected').dataset.id) === {ids[here + 1]}"
    )
    assert ids[here + 1] == first
    app.press("Alt+Up")
    app.wait_for(f"Number(document.querySelector('.note-row.selected').dataset.id) === {second}")
    assert value(app, "title") == "Keys two"

    # Escape leaves the editor for the list, where the arrow keys move and Enter edits.
    app.eval("document.getElementById('body').focus()")
    app.press("Escape")
    app.wait_for("document.activeElement.classList.contains('note-row')")
    app.press("Down")
    app.wait_for(f"Number(document.activeElement.dataset.id) === {first}")
    app.press("Return")
    app.wait_for("document.activeElement.id === 'body'")
    assert value(app, "title") == "Keys one"


def test_filter_narrows_by_words(app: AppProcess) -> None:
    new_note_by_keyboard(app, "Sourdough", "Feed the starter every morning.")
    new_note_by_keyboard(app, "Starters", "Soup, then bread in the evening.")
    everything = len(rows(app))
    app.press("Ctrl+F")
    app.type_text("starter")
    app.wait_for("document.querySelectorAll('.note-row').length === 2")
    app.type_text(" morn")  # every word must match, the last one as a prefix
    app.wait_for("document.querySelectorAll('.note-row').length === 1")
    assert rows(app)[0]["title"] == "Sourdough"
    app.type_text(' "(')  # search syntax is just text
    app.wait_for("document.getElementById('list-count').textContent === '1 note'")
    clear_filter(app)
    app.wait_for(f"document.querySelectorAll('.note-row').length === {everything}")


# ---------------------------------------------------------------- errors


def test_bridge_refuses_bad_arguments_in_plain_words(app: AppProcess) -> None:
    note_id = app.call("create_note", {"title": "Target"})["id"]
    refused = {
        "long title": app.call("save_note", note_id, {"title": "x" * 501}),
        "string id": app.call("get_note", str(note_id)),
        "boolean id": app.call("get_note", True),
        "unknown field": app.call("save_note", note_id, {"colour": "red"}),
        "empty tag": app.call("add_tag", note_id, "   "),
        "long tag": app.call("add_tag", note_id, "t" * 65),
        "script link": app.call("save_note", note_id, {"source_url": "javascript:alert(1)"}),
        "missing argument": app.call("get_note"),
        "huge body": app.call_async(
            f"window.pywebview.api.save_note({note_id}, {{body: 'a'.repeat(1000001)}})"
        ),
    }
    for case, reply in refused.items():
        assert set(reply) == {"error"}, case
        assert reply["error"]["code"] == "invalid", case
        message = reply["error"]["message"]
        assert message and "Traceback" not in message and "Error" not in message, case
    assert "500" in refused["long title"]["error"]["message"]

    missing = app.call("get_note", 10**9)
    assert missing["error"]["code"] == "not_found"
    # Exactly at the limits is fine.
    assert app.call("save_note", note_id, {"title": "x" * 500})["title"] == "x" * 500
    assert app.call("add_tag", note_id, "t" * 64)["tags"][0]["name"] == "t" * 64


def test_the_ui_shows_errors(app: AppProcess) -> None:
    new_note_by_keyboard(app, "Errors", "body")
    app.eval(
        "const t = document.getElementById('title');"
        " t.value = 'x'.repeat(501); t.dispatchEvent(new Event('input')); true"
    )
    app.wait_for("document.getElementById('save-status').dataset.state === 'failed'")
    message = app.wait_for("document.getElementById('message').textContent")
    assert message == "The title is too long (at most 500 characters)."

    app.eval(
        "const s = document.getElementById('source-url');"
        " s.value = 'ftp://example.com/file'; s.dispatchEvent(new Event('change')); true"
    )
    app.wait_for("document.getElementById('message').textContent.includes('http')")
    assert "starting with http:// or https://" in app.eval(
        "document.getElementById('message').textContent"
    )


def test_source_link_is_saved_and_shown_as_text(app: AppProcess) -> None:
    note_id = new_note_by_keyboard(app, "With a source", "Quote.")
    app.eval("document.getElementById('source-url').focus()")
    app.type_text("https://example.org/article?id=1\n")
    app.wait_for(f"{SAVED_JS} && !document.getElementById('open-source').hidden")
    assert app.call("get_note", note_id)["source_url"] == "https://example.org/article?id=1"
    assert app.eval("document.querySelectorAll('a').length") == 0


# ---------------------------------------------------------------- the page's limits


def test_the_page_sees_only_the_bridge_methods(app: AppProcess) -> None:
    exposed = app.eval("Object.keys(window.pywebview.api).sort()")
    assert exposed == [
        "about",
        "accept_suggestion",
        "accept_suggestions_above",
        "add_tag",
        "back_up_now",
        "cancel_import",
        "choose_path",
        "close_window",
        "create_note",
        "delete_note",
        "delete_notes",
        "discard_import",
        "embedding_backlog",
        "export_notes",
        "get_note",
        "import_progress",
        "list_backups",
        "list_notes",
        "list_tags",
        "note_markdown",
        "note_vectors",
        "notes_needing_embedding",
        "notes_needing_suggestions",
        "open_link",
        "open_source",
        "personal_head",
        "personal_training_set",
        "put_embedding",
        "put_embeddings",
        "put_personal_head",
        "put_suggestions",
        "reject_suggestion",
        "related",
        "remove_tag",
        "rename_tag",
        "restore_backup",
        "resume_import",
        "save_note",
        "search",
        "start_import",
        "start_problem",
        "storage_problem",
        "suggest",
        "suggestion_backlog",
        "suggestions",
        "tag_notes",
        "undo_delete",
        "undo_delete_notes",
        "unfinished_imports",
        "untag_notes",
    ]


def test_page_comes_from_loopback_under_the_content_policy(app: AppProcess) -> None:
    location = app.eval(
        "({protocol: location.protocol, host: location.hostname, port: location.port})"
    )
    assert location["protocol"] == "http:" and location["host"] == "127.0.0.1"
    policy = app.eval(
        "document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content"
    )
    for directive in (
        "default-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ):
        assert directive in policy
    # Inline script is refused, so a note could never smuggle one in.
    app.eval(
        "const s = document.createElement('script'); s.textContent = 'window.__inline = 1';"
        " document.body.append(s); s.remove(); true"
    )
    assert app.eval("typeof window.__inline") == "undefined"

    # A link, should one ever appear in the page, does not replace the app.
    href = app.eval("location.href")
    app.eval(
        "const a = document.createElement('a'); a.href = 'https://example.org/';"
        " document.body.append(a); a.click(); a.remove(); true"
    )
    app.eval("new Promise(r => setTimeout(r, 300))")
    time.sleep(0.5)
    assert app.eval("location.href") == href
    assert app.eval(READY_JS)

    # pywebview's server listens on 127.0.0.1 only.
    port = int(location["port"])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if int(port_hex, 16) == port and state == "0A":
                listening.append(address)
    assert listening == ["0100007F"]
