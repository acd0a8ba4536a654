"""A full disk: Margin says so in a banner that stays, keeps what is being typed in
the window, writes nothing half-way, and saves the typing once there is room again,
without retyping. New notes as well as edits; and a disk already full at launch.

The disk is real: a small tmpfs mounted for each test (this needs root, as in the
container and in CI; elsewhere the tests skip and say why), filled with a file until
the kernel answers ENOSPC, and freed by deleting that file.
"""

from __future__ import annotations

import errno
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.store import Store, StoreError
from tests.app.harness import AppProcess
from tests.app.test_window import SAVED_JS, new_note_by_keyboard, open_id, rows, value
from tests.trust.unsaved import (
    BANNER_HIDDEN_JS,
    NOT_SAVED_JS,
    banner_text,
    banner_up_js,
    close_is_refused,
    stored_notes,
    type_at_end_of_body,
)

DISK_BYTES = 8 << 20
FULL = banner_up_js("disk_full")


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "margin-full", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        # Lazily: an app killed at teardown may still hold its files for a moment.
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Writes a file until the disk is full; deleting it makes room again."""
    filler = disk / "filler"
    chunk = b"\0" * 4096
    with open(filler, "ab", buffering=0) as out, pytest.raises(OSError) as full:
        while True:
            out.write(chunk)
    assert full.value.errno == errno.ENOSPC
    return filler


def test_typing_on_a_full_disk_stays_in_the_window_until_it_is_saved(
    app_factory, disk: Path
) -> None:
    data = disk / "data"
    db = data / "margin.sqlite3"
    app: AppProcess = app_factory(data)
    note_id = new_note_by_keyboard(app, "Before", "The last good words.")
    filler = fill(disk)

    # An edit: refused by the disk, kept in the editor, said in a banner that stays.
    app.type_text(" Typed on a full disk.")
    app.wait_for(f"{FULL} && {NOT_SAVED_JS}", timeout=15)
    assert value(app, "body") == "The last good words. Typed on a full disk."
    assert app.eval("document.getElementById('editor').dataset.unsaved") == "true"
    text = banner_text(app)
    assert "The disk is full, so Margin cannot save." in text
    assert str(data) in text and "stays in this window" in text
    assert stored_notes(db) == {note_id: ("Before", "The last good words.")}

    # The note keeps its place: a new note would leave the typing behind.
    app.press("Ctrl+N")
    app.wait_for("document.getElementById('message').textContent.includes('stays open')")
    assert open_id(app) == note_id

    # Closing the window keeps it open while the typing is not saved, and says so.
    close_is_refused(app)
    assert value(app, "body") == "The last good words. Typed on a full disk."

    # Other writes are refused in the same plain words, and the page shows them in the
    # same banner only: nothing more in the status bar.
    reply = app.call("add_tag", note_id, "errand")
    assert reply["error"]["code"] == "disk_full" and str(data) in reply["error"]["message"]
    app.eval(
        "window.__messages = []; new MutationObserver(() => window.__messages.push("
        "document.getElementById('message').textContent)).observe("
        "document.getElementById('message'), {childList: true, characterData: true,"
        " subtree: true}); true"
    )
    app.press("Ctrl+T")
    app.type_text("errand\n")
    time.sleep(1.0)
    assert app.eval("window.__messages") == []
    assert app.eval("document.querySelectorAll('#tag-chips .chip').length") == 0

    # Room again: the typing is saved by the retry, not by typing it again.
    filler.unlink()
    app.wait_for(f"{SAVED_JS} && {BANNER_HIDDEN_JS}", timeout=15)
    assert app.eval("document.getElementById('editor').dataset.unsaved") is None
    assert stored_notes(db) == {note_id: ("Before", "The last good words. Typed on a full disk.")}
    assert app.call("get_note", note_id)["tags"] == []

    # A new note on a full disk: a draft in the window, stored once there is room.
    filler = fill(disk)
    app.press("Ctrl+N")
    app.wait_for(f"{FULL} && document.activeElement.id === 'title'")
    app.type_text("Draft\nWritten with no room left.")
    app.wait_for(
        "document.getElementById('body').value === 'Written with no room left.'"
        f" && {NOT_SAVED_JS}",
        timeout=15,
    )
    assert len(rows(app)) == 1
    assert set(stored_notes(db)) == {note_id}
    filler.unlink()
    app.wait_for(f"{SAVED_JS} && {BANNER_HIDDEN_JS} && document.querySelectorAll('.note-row')"
                 ".length === 2", timeout=15)
    draft_id = open_id(app)
    assert stored_notes(db)[draft_id] == ("Draft", "Written with no room left.")
    assert app.stop() == 0
    assert stored_notes(db) == {
        note_id: ("Before", "The last good words. Typed on a full disk."),
        draft_id: ("Draft", "Written with no room left."),
    }


def test_a_disk_full_at_launch_shows_the_notes_and_saves_once_there_is_room(
    app_factory, disk: Path
) -> None:
    data = disk / "data"
    db = data / "margin.sqlite3"
    first = app_factory(data)
    note_id = new_note_by_keyboard(first, "Kept", "Written before the disk filled.")
    assert first.stop() == 0
    filler = fill(disk)

    app = app_factory(data)
    app.wait_for(FULL)
    assert [row["title"] for row in rows(app)] == ["Kept"]
    assert value(app, "body") == "Written before the disk filled."
    type_at_end_of_body(app, " And after.")
    app.wait_for(f"{NOT_SAVED_JS} && {FULL}", timeout=15)
    assert stored_notes(db) == {note_id: ("Kept", "Written before the disk filled.")}

    filler.unlink()
    app.wait_for(f"{SAVED_JS} && {BANNER_HIDDEN_JS}", timeout=15)
    assert app.stop() == 0
    assert stored_notes(db) == {note_id: ("Kept", "Written before the disk filled. And after.")}


def test_the_store_calls_it_a_full_disk_and_keeps_the_last_good_version(disk: Path) -> None:
    store = Store(disk / "margin.sqlite3")
    try:
        note = store.create_note("Before", "The last good words.")
        filler = fill(disk)
        with pytest.raises(StoreError) as refused:
            store.update_note(note["id"], body="Longer words. " * 5000)
        assert refused.value.code == "disk_full"
        assert refused.value.message == f"The disk that holds {disk} is full."
        assert store.get_note(note["id"])["body"] == "The last good words."
        assert store.storage_problem().code == "disk_full"
        filler.unlink()
        assert store.storage_problem() is None
        assert store.update_note(note["id"], body="Longer words.")["body"] == "Longer words."
    finally:
        store.close()
    assert stored_notes(disk / "margin.sqlite3") == {note["id"]: ("Before", "Longer words.")}
