"""A data folder Margin may not write to: at launch the notes still show, a banner
that stays says why nothing can be saved, what is typed stays in the window, the
database file is not touched, and once the folder may be written again the typing
is saved without retyping. Closing the window meanwhile keeps it open.

The folder and its files are made read-only with chmod. Root writes whatever the
modes say (CAP_DAC_OVERRIDE), so the app runs as root without that capability:
`setpriv --bounding-set=-dac_override` drops it before the app starts. It stays uid
0 so that it can still read the Python installation under /root (mode 0700).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.store import Store
from tests.app.harness import ROOT, AppError, AppProcess
from tests.app.test_window import SAVED_JS, new_note_by_keyboard, rows, value
from tests.trust.unsaved import (
    BANNER_HIDDEN_JS,
    CLOSE_OFFERED_JS,
    NOT_SAVED_JS,
    banner_text,
    banner_up_js,
    close_is_refused,
    stored_notes,
    type_at_end_of_body,
)

# Not root: the file modes bite as they are.
WITHOUT_OVERRIDES = ["setpriv", "--bounding-set=-dac_override"] if os.geteuid() == 0 else []
READ_ONLY = banner_up_js("read_only")


def set_writable(folder: Path, writable: bool) -> None:
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o644 if writable else 0o444)
    folder.chmod(0o755 if writable else 0o555)


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "data"
    yield folder
    if folder.exists():
        set_writable(folder, True)  # so that pytest can remove it


def digests(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.iterdir()
        if path.is_file()
    }


def launch_read_only(app_factory, data: Path) -> tuple[AppProcess, int, dict[str, str]]:
    """Saves a note in `data`, makes the folder read-only and starts Margin on it
    without the capabilities: the app, the note's id and the folder's file digests."""
    first = app_factory(data)
    note_id = new_note_by_keyboard(first, "Kept", "The last good words.")
    assert first.stop() == 0
    set_writable(data, False)
    return app_factory(data, wrapper=WITHOUT_OVERRIDES), note_id, digests(data)


def test_chmod_bites_without_the_capabilities(tmp_path: Path) -> None:
    """The mechanism itself: a write into a read-only folder is refused."""
    set_writable(tmp_path, False)
    try:
        tried = subprocess.run(
            [*WITHOUT_OVERRIDES, "touch", str(tmp_path / "x")], capture_output=True, text=True
        )
    finally:
        set_writable(tmp_path, True)
    assert tried.returncode != 0 and "Permission denied" in tried.stderr


def test_a_read_only_data_folder_keeps_the_typing_until_it_may_be_written(
    app_factory, data: Path
) -> None:
    db = data / "margin.sqlite3"
    app, note_id, before = launch_read_only(app_factory, data)
    app.wait_for(READ_ONLY)
    text = banner_text(app)
    assert "Margin cannot save: it may not write to its data folder." in text
    assert str(data) in text and "stays in this window" in text
    assert [row["title"] for row in rows(app)] == ["Kept"]

    type_at_end_of_body(app, " Typed into a read-only folder.")
    app.wait_for(f"{NOT_SAVED_JS} && {READ_ONLY}", timeout=15)
    assert value(app, "body") == "The last good words. Typed into a read-only folder."
    assert app.eval("document.getElementById('editor').dataset.unsaved") == "true"

    # Closing keeps the window open while the typing is not saved, and says so.
    close_is_refused(app)
    assert value(app, "body") == "The last good words. Typed into a read-only folder."

    # Nothing in the folder changed, and the file holds the last good version.
    assert digests(data) == before
    assert stored_notes(db) == {note_id: ("Kept", "The last good words.")}

    set_writable(data, True)
    app.wait_for(f"{SAVED_JS} && {BANNER_HIDDEN_JS}", timeout=15)
    assert app.stop() == 0
    assert stored_notes(db) == {
        note_id: ("Kept", "The last good words. Typed into a read-only folder.")
    }


def test_close_without_saving_closes_and_leaves_the_folder_as_it_was(
    app_factory, data: Path
) -> None:
    app, note_id, before = launch_read_only(app_factory, data)
    type_at_end_of_body(app, " Never saved.")
    app.wait_for(f"{NOT_SAVED_JS} && {READ_ONLY}", timeout=15)
    app.call("close_window")
    app.wait_for(CLOSE_OFFERED_JS)
    app.eval("document.getElementById('save-banner-close').click(); true")
    deadline = time.monotonic() + 15
    with pytest.raises(AppError):
        while time.monotonic() < deadline:
            app.eval("true")  # until the window is gone and its channel with it
            time.sleep(0.1)
    assert app.stop() == 0
    assert digests(data) == before
    assert stored_notes(data / "margin.sqlite3") == {note_id: ("Kept", "The last good words.")}


def test_the_store_reads_a_read_only_folder_and_writes_once_it_may(data: Path) -> None:
    """The store alone, in a process without the capabilities (a short script)."""
    data.mkdir()
    store = Store(data / "margin.sqlite3")
    note = store.create_note("Kept", "The last good words.")
    store.close()
    set_writable(data, False)
    script = f"""
from pathlib import Path
from desktop.store import Store, StoreError
folder = Path({str(data)!r})
store = Store(folder / "margin.sqlite3")
assert store.get_note({note["id"]})["body"] == "The last good words."
try:
    store.update_note({note["id"]}, body="New words.")
except StoreError as e:
    print(e.code, e.message)
for path in folder.iterdir():
    path.chmod(0o644)
folder.chmod(0o755)
assert store.storage_problem() is None
print(store.update_note({note["id"]}, body="New words.")["body"])
store.close()
"""
    ran = subprocess.run(
        [*WITHOUT_OVERRIDES, sys.executable, "-c", script],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [
        f"read_only Margin may not write to {data}: the folder or the disk is read-only.",
        "New words.",
    ]
    assert stored_notes(data / "margin.sqlite3") == {note["id"]: ("Kept", "New words.")}
