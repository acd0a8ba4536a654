"""Importing through the real window: the progress bar with its count, rate and time
left, Cancel, the cancelled import offered in the dialog (not across the window) and
resumed from there, the summary naming every file that failed and why, vectors and
tag suggestions for the imported notes in the background, and exports of them.

The import halts part-way at a named pipe in the folder (a Markdown file as far as
the import knows): the test sees the bar mid-import, cancels, then writes to the
pipe to let the import reach its next check. So cancelling never races the clock.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from desktop import paths
from tests.app.harness import AppProcess
from tests.app.indexing import CAUGHT_UP_JS, current_vectors, sib_sentences

NOTES = 400
GATE = "note 0250 gate.md"  # sorts just before "note 0250.md"
BAD = {
    "bad latin-1.md": "not UTF-8 text",
    "bad yaml.md": "broken YAML front matter",
    "laughs.enex": "declares entities",
}
TEXT_JS = "document.getElementById('import-text').textContent"
CURRENT_JS = "document.getElementById('import-current').textContent"
SUMMARY_JS = f"!document.getElementById('import-summary').hidden && {TEXT_JS}"
OFFERS_JS = "document.querySelectorAll('#import-offers .import-offer')"


def make_vault(root: Path) -> Path:
    """NOTES notes of a SIB-200 sentence each, a few bad files, and the gate."""
    root.mkdir(parents=True)
    for i, (topic, sentence) in enumerate(sib_sentences("eng_Latn", NOTES)):
        title = f"{i:03} " + " ".join(sentence.split()[:5])
        (root / f"note {i:04}.md").write_text(
            f"---\ntitle: {json.dumps(title)}\ntags: [{topic.replace(' ', '-')}]\n---\n"
            f"{sentence}\n",
            encoding="utf-8",
        )
    (root / "bad latin-1.md").write_bytes("Café crème".encode("latin-1"))
    (root / "bad yaml.md").write_text("---\ntags: [unclosed\n---\nbody")
    (root / "laughs.enex").write_text(
        '<?xml version="1.0"?><!DOCTYPE en-export [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
        "<en-export><note><title>&b;</title></note></en-export>"
    )
    gate = root / GATE
    os.mkfifo(gate)
    return gate


def open_gate(gate: Path) -> None:
    """Gives the import the gate's text (it is waiting to read the pipe by now)."""
    fd = os.open(gate, os.O_WRONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("The gate note: a note read from a pipe.\n")


def kept_suggestions(data: Path) -> int:
    """Notes whose taggers' outputs are kept for their current text."""
    uri = f"file:{paths.database_file(data)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        return conn.execute(
            "SELECT count(*) FROM tag_suggestions AS s JOIN notes AS n ON n.id = s.note_id"
            " WHERE s.content_hash = n.content_hash AND n.deleted IS NULL"
        ).fetchone()[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("import") / "data"


@pytest.fixture(scope="module")
def app(module_app_factory, data: Path) -> AppProcess:
    return module_app_factory(data)


def test_import_shows_progress_cancels_and_resumes(app: AppProcess, data: Path, tmp_path) -> None:
    vault = tmp_path / "vault"
    gate = make_vault(vault)
    total = NOTES + 1 + len(BAD)
    app.eval("document.getElementById('open-transfer').click()")
    app.call_async(f"window.marginImport({json.dumps(str(vault))})")

    # Halted at the gate: the bar shows what is stored so far, the rate and what is left.
    app.wait_for(f"{CURRENT_JS} === {json.dumps('Reading ' + GATE)}", timeout=30)
    # A batch is stored at 200 items, or sooner on a slow machine (job.py FLUSH_SECONDS).
    stored = app.call("import_progress")["done"]
    assert 0 < stored < total, stored
    app.wait_for(f"document.getElementById('import-bar').value === {stored}")
    shown = app.eval(TEXT_JS)
    progress = rf"{stored} of {total} · [\d,]+ notes/s · about \d+ (s|min) left"
    assert re.fullmatch(progress, shown), shown
    assert app.eval("document.getElementById('import-bar').max") == total
    app.screenshot(tmp_path / "import-progress.png")

    # Closed, the dialog leaves a button in the status bar that brings it back.
    app.press("Escape")
    app.wait_for("document.getElementById('transfer-panel').hidden")
    status = app.wait_for(
        "!document.getElementById('import-status').hidden"
        " && document.getElementById('import-status').textContent"
    )
    assert status == f"Importing: {stored} of {total}", status
    app.eval("document.getElementById('import-status').click()")
    app.wait_for("!document.getElementById('transfer-panel').hidden")

    app.eval("document.getElementById('import-cancel').click()")
    threading.Timer(0.3, open_gate, (gate,)).start()
    cancelled = app.wait_for(SUMMARY_JS, timeout=30)
    assert cancelled.startswith("Cancelled. Imported 2"), cancelled
    assert cancelled.endswith("It stays offered here, to resume or discard."), cancelled
    first = int(re.search(r"Imported (\d+) notes", cancelled).group(1))
    assert 200 <= first < NOTES
    assert len(app.call("list_notes", "", None, 1000, 0)) == first

    # Offered in the dialog, quietly; never in a banner across the window, since the
    # user chose to stop it. Resume goes on with the same job.
    offer = app.wait_for(f"{OFFERS_JS}.length === 1 && {OFFERS_JS}[0].dataset.state")
    assert offer == "cancelled"
    resumed = first + len(BAD)  # the bad files sort first
    assert app.eval(f"{OFFERS_JS}[0].textContent") == (
        f"You cancelled an import of {vault.resolve()} at {resumed} of {total} notes."
        "ResumeDiscard"
    )
    assert app.eval("document.getElementById('import-notice').hidden")
    app.eval(f"{OFFERS_JS}[0].querySelector('.offer-resume').click()")
    done = app.wait_for(f"({SUMMARY_JS} && !{TEXT_JS}.startsWith('Cancelled')) && {TEXT_JS}",
                        timeout=60)
    assert done == (
        f"Imported {NOTES + 1} notes · {resumed} items done before · "
        f"{len(BAD)} files or notes could not be imported."
    ), done
    failures = app.eval(
        "[...document.querySelectorAll('#import-failures li')].map(li => li.textContent)"
    )
    assert len(failures) == len(BAD)
    for line, (name, reason) in zip(failures, sorted(BAD.items()), strict=True):
        assert line.startswith(f"{name} — ") and reason in line, line
    app.screenshot(tmp_path / "import-summary.png")
    assert app.eval(f"{OFFERS_JS}.length") == 0

    # Every note is in, once; the list shows them.
    notes = app.call("list_notes", "", None, 1000, 0)
    assert len(notes) == NOTES + 1
    assert len({note["title"] for note in notes}) == NOTES + 1
    app.press("Escape")
    app.wait_for("document.querySelectorAll('.note-row').length === 200")

    # In the background every imported note gets its vector, then its suggestions.
    app.wait_for(f"{CAUGHT_UP_JS} && window.marginStats.vectors.stored >= {NOTES + 1}",
                 timeout=300)
    assert len(current_vectors(data)) == NOTES + 1
    deadline = time.monotonic() + 120
    while kept_suggestions(data) < NOTES + 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kept_suggestions(data) == NOTES + 1

def test_export_from_the_window(app: AppProcess, tmp_path: Path) -> None:
    count = len(app.call("list_notes", "", None, 1000, 0))
    assert count > 0
    markdown = app.call_async(
        f"window.marginExport('markdown', {json.dumps(str(tmp_path / 'md'))})", timeout=60
    )
    assert markdown == {"count": count, "path": str(tmp_path / "md")}
    assert len(list((tmp_path / "md").glob("*.md"))) == count
    exported = app.call_async(
        f"window.marginExport('json', {json.dumps(str(tmp_path / 'json'))})", timeout=60
    )
    document = json.loads(Path(exported["path"]).read_text(encoding="utf-8"))
    assert len(document["notes"]) == count
    assert app.eval("document.getElementById('export-result').textContent").startswith(
        f"Exported {count} notes as one JSON file: "
    )
    refused = app.call("export_notes", "pdf", str(tmp_path))
    assert refused["error"]["code"] == "invalid"
    assert app.call("start_import", "relative/path")["error"]["code"] == "invalid"
