"""An import cut short by a crash or a closed window is offered when the app starts
again: a banner across the window says where it stopped, and Resume or Discard acts
on that very job. The app is SIGKILLed (its whole process tree,
tests/trust/process_tree.py) mid-import, as a power cut would, or its window is
closed; nothing else tells the next start about the import.

The import halts at a named pipe in the folder (a Markdown file as far as the
import knows), so the kill always lands mid-import, never after its end. Before
the next start the pipe becomes an ordinary file holding its note.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path

from tests.app.harness import AppProcess
from tests.trust.crashed_data import copy_database, import_items, import_job_states, live_notes
from tests.trust.process_tree import alive, kill_tree

NOTES = 500
COPIES = 10  # files whose content another file already has
GATE = "n0300 gate.md"  # sorts just before "n0300.md"
GATE_TEXT = "The gate note: a note read from a pipe."
# The kill waits until at least this many items are stored (a batch is 200: job.py).
STORED_BEFORE_KILL = 200
NOTICE_JS = "document.getElementById('import-notice')"
SHOWN_NOTICE_JS = f"!{NOTICE_JS}.hidden && {NOTICE_JS}.textContent"
SUMMARY_JS = (
    "!document.getElementById('import-summary').hidden"
    " && document.getElementById('import-text').textContent"
)


def make_vault(root: Path) -> set[tuple[str, str]]:
    """NOTES distinct notes, COPIES repeating some of them, and the gate (a pipe);
    returns the distinct (title, body) pairs the folder holds once the gate is a file."""
    root.mkdir(parents=True)
    notes = [(f"Note {i:04}", f"The body of note {i}, café {i * 7}.\n") for i in range(NOTES)]
    for i, (title, body) in enumerate(notes):
        (root / f"n{i:04}.md").write_text(f"---\ntitle: {json.dumps(title)}\n---\n{body}", "utf-8")
    for j in range(COPIES):
        title, body = notes[j * (NOTES // COPIES)]
        (root / f"z copy {j:02}.md").write_text(
            f"---\ntitle: {json.dumps(title)}\n---\n{body}", "utf-8"
        )
    os.mkfifo(root / GATE)
    return {*notes, ("n0300 gate", GATE_TEXT + "\n")}


def stop_at_the_gate(data: Path, vault: Path, *, kill: bool = True) -> None:
    """Starts the app, imports `vault` until it halts at the gate with some items
    stored, and SIGKILLs the app's process tree there (or closes the window)."""
    app = AppProcess(data)
    try:
        app.start()
        app.call_async(f"window.marginImport({json.dumps(str(vault))})")
        app.wait_for(
            "document.getElementById('import-current').textContent"
            f" === {json.dumps('Reading ' + GATE)}",
            timeout=30,
        )
        deadline = time.monotonic() + 10
        while (progress := app.call("import_progress"))["done"] < STORED_BEFORE_KILL:
            assert time.monotonic() < deadline, progress
            time.sleep(0.05)
        if not kill:
            assert app.stop() == 0, app.output()
            return
        victims = kill_tree(app.pid)
        assert app.stop() == -9, "the app was not ended by SIGKILL"
        assert not alive(victims), "processes of the killed app still run"
    finally:
        app.cleanup()


def as_crashed(data: Path, scratch: Path) -> tuple[int, int]:
    """Items recorded and notes imported by the one job, as the app left them."""
    db = copy_database(data, scratch)
    assert import_job_states(db) == ["running"]
    items = import_items(db)
    return len(items), Counter(items.values())["imported"]


def test_an_import_cut_short_by_a_kill_is_offered_and_resumes(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    distinct = make_vault(vault)
    total = NOTES + COPIES + 1
    data = tmp_path / "data"
    stop_at_the_gate(data, vault)
    done, imported = as_crashed(data, tmp_path / "crashed")
    assert STORED_BEFORE_KILL <= done < total
    assert imported == done  # the copies sort after the gate
    (vault / GATE).unlink()
    (vault / GATE).write_text(GATE_TEXT + "\n", "utf-8")

    with AppProcess(data) as app:
        # Offered at start, with where it stopped, without opening anything.
        notice = app.wait_for(SHOWN_NOTICE_JS)
        source = vault.resolve()
        assert notice == f"An import of {source} stopped at {done} of {total} notes.ResumeDiscard"
        app.screenshot(tmp_path / "import-notice.png")
        # The dialog offers it as well.
        app.eval("document.getElementById('open-transfer').click()")
        app.wait_for("document.querySelectorAll('#import-offers .import-offer').length === 1")
        app.press("Escape")

        app.eval(f"{NOTICE_JS}.querySelector('.offer-resume').click()")
        summary = app.wait_for(SUMMARY_JS, timeout=60)
        assert summary == (
            f"Imported {NOTES + 1} notes · {COPIES} duplicates skipped"
            f" · {done} items done before."
        ), summary
        assert app.eval(f"{NOTICE_JS}.hidden")
        assert app.eval("document.getElementById('import-offers').hidden")
        assert app.call("unfinished_imports") == []
        listed = app.call("list_notes", "", None, 1000, 0)
        assert len(listed) == NOTES + 1

    # Every note exactly once, the copies skipped by content hash, one job, done.
    db = copy_database(data, tmp_path / "after")
    stored = Counter((note["title"], note["body"]) for note in live_notes(db).values())
    assert set(stored) == distinct
    assert set(stored.values()) == {1}
    assert Counter(import_items(db).values()) == {"imported": NOTES + 1, "duplicate": COPIES}
    assert import_job_states(db) == ["done"]


def test_discard_keeps_the_notes_and_a_gone_folder_is_only_discarded(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    make_vault(vault)
    data = tmp_path / "data"
    stop_at_the_gate(data, vault)
    done, imported = as_crashed(data, tmp_path / "crashed")
    source = vault.resolve()
    shutil.rmtree(vault)

    with AppProcess(data) as app:
        notice = app.wait_for(SHOWN_NOTICE_JS)
        assert notice == (
            f"An import of {source} stopped after {done} notes. It cannot be resumed:"
            f" {source} is no longer there. Discarding it keeps the {imported} notes it"
            " brought in.Discard"
        ), notice
        assert app.eval(f"{NOTICE_JS}.querySelector('.offer-resume')") is None
        job = app.call("unfinished_imports")[0]["job"]
        refused = app.call("resume_import", job)
        assert refused["error"]["code"] == "not_found", refused

        app.eval(f"{NOTICE_JS}.querySelector('.offer-discard').click()")
        app.wait_for(f"{NOTICE_JS}.hidden")
        said = f"Discarded the import of {source}; the {imported} notes it brought in stay."
        app.wait_for(f"document.getElementById('message').textContent === {json.dumps(said)}")
        assert app.call("unfinished_imports") == []
        assert len(app.call("list_notes", "", None, 1000, 0)) == imported

    # Started again: nothing is offered, and the notes are all still there.
    with AppProcess(data) as app:
        assert app.call_async("window.marginUnfinishedImports()") == []
        assert app.eval(f"{NOTICE_JS}.hidden")
        app.eval("document.getElementById('open-transfer').click()")
        assert app.eval("document.getElementById('import-offers').hidden")
        assert len(app.call("list_notes", "", None, 1000, 0)) == imported
    db = copy_database(data, tmp_path / "after")
    assert len(live_notes(db)) == imported
    assert import_job_states(db) == []


def test_an_import_cut_short_by_closing_the_window_is_offered(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    make_vault(vault)
    data = tmp_path / "data"
    stop_at_the_gate(data, vault, kill=False)
    done, _ = as_crashed(data, tmp_path / "closed")
    with AppProcess(data) as app:
        notice = app.wait_for(SHOWN_NOTICE_JS)
        total = NOTES + COPIES + 1
        assert notice == (
            f"An import of {vault.resolve()} stopped at {done} of {total} notes.ResumeDiscard"
        )
