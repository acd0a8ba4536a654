"""The Backups view in the real window: the list, "Back up now", a restore that asks
first, and the notes shown afterwards being the restored ones."""

from __future__ import annotations

import json
import time

import pytest

from desktop import paths
from tests.app.harness import AppProcess
from tests.trust.broken_db import make_notes, titles_in
from tests.trust.window_steps import write_note

TITLES = ["Harbour walk", "Tram timetable", "Bakery list"]
ROWS_JS = "[...document.querySelectorAll('#backup-list .backup-row')]"
NOTE_TITLES_JS = (
    "[...document.querySelectorAll('.note-row .note-row-title')].map(r => r.textContent)"
)


@pytest.fixture(scope="module")
def app(module_app_factory, tmp_path_factory) -> AppProcess:
    data = tmp_path_factory.mktemp("backups") / "data"
    data.mkdir()
    make_notes(paths.database_file(data), TITLES)
    return module_app_factory(data)


def open_view(app: AppProcess) -> None:
    app.eval("document.getElementById('open-backups').click()")
    app.wait_for("!document.getElementById('backups-panel').hidden")


def listed(app: AppProcess, count: int) -> list[dict[str, str]]:
    """The view's rows once there are `count`: each row's name, good flag and text."""
    app.wait_for(f"{ROWS_JS}.length === {count}", timeout=15)
    return app.eval(
        f"{ROWS_JS}.map(r => ({{name: r.dataset.name, good: r.dataset.good,"
        " text: r.innerText}))"
    )


def restore_button(name: str) -> str:
    return f"document.querySelector('.backup-row[data-name={json.dumps(name)}] button')"


def test_the_view_lists_backups_and_backs_up_now(app: AppProcess):
    # The automatic backup made at start, once the database opened.
    deadline = time.monotonic() + 15
    while not app.call("list_backups")["backups"] and time.monotonic() < deadline:
        time.sleep(0.1)
    open_view(app)
    [auto] = listed(app, 1)
    assert "automatic" in auto["text"] and "3 notes" in auto["text"]
    assert auto["name"].endswith("-auto.sqlite3") and auto["good"] == "true"

    app.eval("document.getElementById('backup-now').click()")
    manual, again = listed(app, 2)
    assert again == auto
    assert "made by you" in manual["text"] and "3 notes" in manual["text"]
    assert "kB" in manual["text"]
    app.wait_for("document.getElementById('backups-status').textContent"
                 ".startsWith('Backed up 3 notes')")
    assert (paths.backups_dir(app.data_dir) / manual["name"]).is_file()
    app.press("Escape")
    app.wait_for("document.getElementById('backups-panel').hidden")


def test_a_restore_asks_first_and_cancelling_changes_nothing(app: AppProcess):
    open_view(app)
    newest = listed(app, 2)[0]
    app.eval(f"{restore_button(newest['name'])}.click()")
    app.wait_for("!document.getElementById('backup-confirm').hidden")
    question = app.eval("document.getElementById('backup-confirm-text').textContent")
    assert "(3 notes)" in question and "takes the place of all your notes" in question
    assert "kept as a new backup" in question
    assert app.eval("document.activeElement.id") == "backup-confirm-restore"

    app.press("Escape")  # the first Escape takes back the question, not the dialog
    app.wait_for("document.getElementById('backup-confirm').hidden")
    assert app.eval("!document.getElementById('backups-panel').hidden")
    assert len(listed(app, 2)) == 2
    app.press("Escape")
    app.wait_for("document.getElementById('backups-panel').hidden")


def test_a_restore_brings_back_the_backup_and_keeps_the_notes_it_replaced(app: AppProcess):
    backups = app.call("list_backups")["backups"]
    chosen = next(b for b in backups if b["kind"] == "manual")
    # A note written after the backup: what was typed is saved before the restore.
    write_note(app, "Written after the backup", "ferry to Cacilhas")
    open_view(app)
    app.eval(f"{restore_button(chosen['name'])}.click()")
    app.wait_for("!document.getElementById('backup-confirm').hidden")
    app.eval("document.body.dataset.beforeRestore = 'this page'")
    app.eval("document.getElementById('backup-confirm-restore').click()")

    # The page reloads over the restored notes.
    app.wait_for("document.body.dataset.beforeRestore !== 'this page'"
                 " && document.body.dataset.ready === 'true'", timeout=30)
    assert sorted(app.eval(NOTE_TITLES_JS)) == sorted(TITLES)
    assert app.eval("document.getElementById('message').textContent").startswith(
        "Restored the backup of")
    assert app.call("search", "Cacilhas", None, None) == []
    assert titles_in(paths.database_file(app.data_dir)) == TITLES

    # The notes replaced, the last typing included, are the newest backup now.
    kept = app.call("list_backups")["backups"][0]
    assert kept["kind"] == "before-restore" and kept["notes"] == 4
    kept_titles = titles_in(paths.backups_dir(app.data_dir) / kept["name"])
    assert kept_titles == [*TITLES, "Written after the backup"]
    open_view(app)
    assert "your notes before a restore" in listed(app, 3)[0]["text"]
    app.press("Escape")


def test_restored_notes_can_be_edited_and_searched(app: AppProcess):
    write_note(app, "After the restore", "lighthouse")
    app.wait_for(f"{NOTE_TITLES_JS}.includes('After the restore')", timeout=15)
    app.wait_for("document.getElementById('save-status').dataset.state === 'saved'")
    [found] = app.call("search", "lighthouse", None, None)
    assert found["title"] == "After the restore"
    assert titles_in(paths.database_file(app.data_dir))[-1] == "After the restore"
