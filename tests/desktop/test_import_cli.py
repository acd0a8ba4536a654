"""`margin import` and `margin export` as a person runs them: a process, exit codes,
a summary on stdout, and a refusal while the app has the data folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from desktop import paths
from desktop.app import InstanceLock
from desktop.store import Store
from tests.desktop.test_import_markdown import make_vault

ROOT = Path(__file__).resolve().parents[2]


def margin(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop", *map(str, args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


def test_import_then_export_both_ways(tmp_path: Path) -> None:
    data = tmp_path / "data"
    vault = tmp_path / "vault"
    bad = make_vault(vault)

    first = margin("--data-dir", data, "import", vault)
    assert first.returncode == 2, first.stderr  # some files could not be imported
    assert first.stdout.splitlines()[:4] == [
        "Imported: 6 notes",
        "Duplicates skipped: 0",
        f"Could not be imported: {len(bad)}",
        "Other files left alone: 1",
    ]
    for item in bad:
        assert f"  {item}: " in first.stdout

    # --data-dir may come after the command too; the same notes again are duplicates.
    again = margin("import", vault, "--data-dir", data)
    assert "Imported: 0 notes\nDuplicates skipped: 6\n" in again.stdout

    exported = margin("--data-dir", data, "export", "--format", "markdown", tmp_path / "md")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == f"Exported 6 notes to {tmp_path / 'md'}\n"
    assert len(list((tmp_path / "md").glob("*.md"))) == 6
    as_json = margin("--data-dir", data, "export", "--format", "json", tmp_path / "js")
    [document] = (tmp_path / "js").glob("*.json")
    assert len(json.loads(document.read_text(encoding="utf-8"))["notes"]) == 6
    assert as_json.returncode == 0

    # A fresh data folder takes the JSON back, everything in and nothing failed.
    fresh = tmp_path / "fresh"
    back = margin("--data-dir", fresh, "import", document)
    assert back.returncode == 0 and back.stdout.startswith("Imported: 6 notes\n"), back.stdout
    store = Store(paths.database_file(fresh))
    assert len(store.list_notes()) == 6
    store.close()


def test_the_commands_wait_for_the_app_to_close(tmp_path: Path) -> None:
    data = paths.data_dir(tmp_path / "data")
    lock = InstanceLock(paths.lock_file(data))
    assert lock.acquire()
    try:
        refused = margin("--data-dir", data, "import", tmp_path)
        assert refused.returncode == 1
        assert "Margin is open with the data folder" in refused.stderr
        assert margin("--data-dir", data, "export", "--format", "json", tmp_path).returncode == 1
    finally:
        lock.release()


def test_wrong_uses_are_refused_with_a_reason(tmp_path: Path) -> None:
    missing = margin("--data-dir", tmp_path / "data", "import", tmp_path / "nowhere")
    assert missing.returncode == 1 and "does not exist" in missing.stdout
    no_format = margin("--data-dir", tmp_path / "data", "export", tmp_path)
    assert no_format.returncode == 2 and "--format" in no_format.stderr
    assert margin("--version").stdout.startswith("margin ")
