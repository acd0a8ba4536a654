"""No note can run code (issue #7), by way of import files: every hostile input
(tests/trust/hostile_inputs.py) goes into a Markdown folder (as file names, folder
names, front matter titles, tags and links, and bodies), an Evernote .enex file
(titles, tags, links, note markup) and a Margin JSON export, each imported through
the window's import dialog. File names that are hostile, that break lines, or that
are not UTF-8 at all show in the progress line and in the summary's list of files
that could not be imported. Then the note list and the tag sidebar show it all.

Nothing may run (the same checks as test_hostile_window.py), and everything shows
as the text the store holds.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from desktop import paths
from desktop.exports import margin_json
from desktop.store import Store
from tests.app.harness import AppProcess
from tests.app.test_import import open_gate
from tests.trust.hostile_inputs import (
    EFFECTS_JS,
    HOOKS_JS,
    HOSTILE,
    NOTHING_RAN,
    hostile_calls,
    spy_env,
)

# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
FOLDER = HOSTILE[14].file_stem()  # a folder whose name is markup; it becomes a tag
BAD_CONTENT = HOSTILE[:25]  # named after inputs, holding bytes that are not UTF-8
ODD_NAMES = [
    b"\xff\xfe <img src=x onerror=alert(1)>.md",  # not UTF-8
    b"line\nbreak <script>alert(2)<\xe2\x88\x95script>.md",
    b"-rf --help.md",
    b"\xe2\x80\xaedm.exe.md",  # a right-to-left override
]
SUMMARY_JS = (
    "!document.getElementById('import-summary').hidden"
    " && document.getElementById('import-text').textContent"
)
GATE = "gate.md"
# Every line the progress shows while the dialog reads ("Reading <file>").
WATCH_JS = """(() => {
  window.__reading = [];
  const line = document.getElementById("import-current");
  new MutationObserver(() => window.__reading.push(line.textContent))
    .observe(line, { childList: true, characterData: true, subtree: true });
  return true;
})()"""


def enex_note(hostile) -> str:
    text = _NOT_XML.sub("", hostile.text)
    markup = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<!DOCTYPE en-note SYSTEM "http://xml.evernote.com/pub/enml2.dtd">'
        f"<en-note><div>enex: {escape(text)}</div>{text if len(text) < 400 else ''}</en-note>"
    )
    return (
        f"<note><title>{escape(_NOT_XML.sub('', hostile.text[:500]))}</title>"
        f"<content>{escape(markup)}</content>"
        f"<tag>{escape(_NOT_XML.sub('', hostile.tag()))}</tag>"
        "<note-attributes><source-url>"
        f"{escape('https://example.invalid/' + text.strip()[:1000])}"
        "</source-url></note-attributes></note>"
    )


def make_files(root: Path) -> dict[str, Path]:
    """The folder (Markdown and .enex) and the JSON export, named with inputs too."""
    vault = root / "vault"
    (vault / FOLDER).mkdir(parents=True)
    for hostile in HOSTILE:
        front = {"tags": [hostile.tag()], "source": "https://example.invalid/?" + hostile.tag()}
        if hostile.number % 2:
            front["title"] = hostile.text[:500]
            name = f"note {hostile.number}.md"
        else:
            name = f"{hostile.file_stem()}.md"
        folder = vault / FOLDER if hostile.number % 5 == 0 else vault
        (folder / name).write_text(
            f"---\n{json.dumps(front, ensure_ascii=False)}\n---\n{hostile.text}",
            encoding="utf-8",
        )
    for hostile in BAD_CONTENT:
        (vault / f"{hostile.file_stem()} (latin-1).md").write_bytes(b"caf\xe9 " * 3)
    for name in ODD_NAMES:
        with open(os.fsencode(vault) + b"/" + name, "wb") as f:
            f.write(b"an odd name")
    # A named pipe: the import waits there until the test gives it text, so the
    # progress line is seen however fast the rest goes.
    os.mkfifo(vault / GATE)
    enex_name = f"{HOSTILE[62].file_stem()}.enex"
    (vault / enex_name).write_text(
        '<?xml version="1.0" encoding="UTF-8"?><en-export>'
        + "".join(enex_note(h) for h in HOSTILE)
        + "</en-export>",
        encoding="utf-8",
    )
    # A Margin export of the inputs, written by Margin's own exporter.
    source = Store(root / "source.sqlite3")
    try:
        for hostile in HOSTILE:
            source.create_note(
                hostile.text[:500], "json: " + hostile.text,
                "https://example.invalid/" + hostile.tag(), [hostile.tag()],
            )
        exported = Path(margin_json.export(source, root / "export")["path"])
    finally:
        source.close()
    document = exported.with_name(f"{HOSTILE[36].file_stem()}.json")
    exported.rename(document)
    return {"vault": vault, "json": document}


def stored(data: Path) -> tuple[dict[str, dict], list[str]]:
    uri = f"file:{paths.database_file(data)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        notes = {
            str(i): {"title": t, "tags": []}
            for i, t in conn.execute("SELECT id, title FROM notes WHERE deleted IS NULL")
        }
        for note_id, name in conn.execute(
            "SELECT nt.note_id, t.name FROM note_tags AS nt JOIN tags AS t ON t.id = nt.tag_id"
            " ORDER BY t.name"
        ):
            notes[str(note_id)]["tags"].append(name)
        tags = [name for (name,) in conn.execute("SELECT name FROM tags")]
    return notes, tags


@pytest.fixture(scope="module")
def spy(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("spy") / "calls.jsonl"


@pytest.fixture(scope="module")
def app(module_app_factory, tmp_path_factory, spy: Path) -> AppProcess:
    data = tmp_path_factory.mktemp("hostile-import") / "data"
    app = module_app_factory(data, extra_env=spy_env(spy))
    assert app.eval(HOOKS_JS) and app.eval(WATCH_JS)
    return app


def import_through_the_dialog(app: AppProcess, path: Path) -> dict:
    app.eval("document.getElementById('open-transfer').click()")
    app.eval("document.getElementById('import-summary').hidden = true")
    app.call_async(f"window.marginImport({json.dumps(str(path))})", timeout=60)
    summary = app.wait_for(SUMMARY_JS, timeout=120)
    failures = app.eval(
        "[...document.querySelectorAll('#import-failures li')].map(li => ({"
        " item: li.querySelector('.failure-item').textContent, line: li.textContent}))"
    )
    return {"summary": summary, "failures": failures}


def open_gate_once_seen(app: AppProcess, gate: Path) -> None:
    """Opens the gate once the import waits there and its progress line has shown."""

    def run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.eval("window.__reading.some(Boolean)"):
                try:
                    open_gate(gate)
                    return
                except OSError as e:  # ENXIO: the import has not opened the pipe yet
                    if e.errno != errno.ENXIO:
                        raise
            time.sleep(0.05)

    threading.Thread(target=run, daemon=True).start()


def test_imported_inputs_show_as_text(app: AppProcess, tmp_path: Path, spy: Path) -> None:
    files = make_files(tmp_path)
    open_gate_once_seen(app, files["vault"] / GATE)
    folder = import_through_the_dialog(app, files["vault"])
    # Every Markdown file (the gate too) and .enex note is in, but the files that
    # are not UTF-8 text.
    expected_notes = len(HOSTILE) + len(ODD_NAMES) + 1 + len(HOSTILE)
    assert folder["summary"].startswith(f"Imported {expected_notes:,} notes"), folder
    named = {failure["item"] for failure in folder["failures"]}
    assert named == {f"{h.file_stem()} (latin-1).md" for h in BAD_CONTENT}, named
    for failure in folder["failures"]:
        assert failure["line"].startswith(failure["item"] + " — not UTF-8 text"), failure
    # The progress line names the file being read, as it is named on disk.
    reading = [line for line in app.eval("window.__reading") if line]
    assert reading
    for line in reading:
        assert line.startswith("Reading ") and (files["vault"] / line[8:]).exists(), line

    exported = import_through_the_dialog(app, files["json"])
    assert exported["summary"].startswith(f"Imported {len(HOSTILE)} notes"), exported
    app.press("Escape")

    notes, tags = stored(Path(app.data_dir))
    assert len(notes) == expected_notes + len(HOSTILE)
    titles = {note["title"] for note in notes.values()}
    assert {h.text[:500] for h in HOSTILE} <= titles  # from front matter, .enex and JSON
    assert "\\xff\\xfe <img src=x onerror=alert(1)>" in titles
    assert "line\nbreak <script>alert(2)<\u2215script>" in titles
    assert FOLDER in tags

    # The list, shown in full, and the sidebar: the same text the store holds.
    app.wait_for("!document.getElementById('show-more').hidden")
    while app.eval("!document.getElementById('show-more').hidden"):
        rows = app.eval("document.querySelectorAll('.note-row').length")
        app.eval("document.getElementById('show-more').click()")
        app.wait_for(f"document.querySelectorAll('.note-row').length > {rows}")
    shown = app.eval(
        "[...document.querySelectorAll('#note-list .note-row')].map(r => [r.dataset.id,"
        " r.querySelector('.note-row-title').textContent,"
        " [...r.querySelectorAll('.mini-tag')].map(t => t.textContent)])"
    )
    assert len(shown) == len(notes)
    for note_id, title, row_tags in shown:
        assert title == (notes[note_id]["title"] or "Untitled")
        assert sorted(row_tags) == notes[note_id]["tags"]
    sidebar = app.eval(
        "[...document.querySelectorAll('#tag-list .tag-filter-name')].map(n => n.textContent)"
    )
    assert sorted(sidebar[1:]) == sorted(tags)

    assert app.eval(EFFECTS_JS) == NOTHING_RAN
    assert hostile_calls(spy) == []
