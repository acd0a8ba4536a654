"""`margin import PATH`, `margin export --format markdown|json DIR`, `margin backup` and
`margin restore [FILE]`, without the window.

Import, export and restore hold the data folder's instance lock while they work,
so they never write beside a running app (whose search index and background work
would not know of the change); they refuse when the app is open. A backup only
reads, so it works beside the app. An import shows its progress on stderr, can be
stopped with Ctrl+C (importing the same path again goes on), and ends with a
summary listing every file that could not be imported and why.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from desktop import logging_setup, paths

if TYPE_CHECKING:
    from desktop.app import InstanceLock

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SOME_FAILED = 2
EXIT_INTERRUPTED = 130
PROGRESS_EVERY_S = 1.0


def run_import(
    data: Path, path: Path, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Imports `path`; exit status 0 if everything came in, 2 if some items failed."""
    from desktop.imports.job import ImportRun

    def work(store: Any) -> int:
        run = ImportRun(store, path.expanduser().resolve())
        run.start()
        try:
            while not run.wait(PROGRESS_EVERY_S):
                _show_progress(run.progress(), err)
        except KeyboardInterrupt:
            run.cancel()
            run.wait()
        progress = run.progress()
        _summarise(progress, out)
        if progress["state"] == "cancelled":
            return EXIT_INTERRUPTED
        if progress["state"] == "failed":
            return EXIT_FAILED
        return EXIT_SOME_FAILED if progress["failed"] else EXIT_OK

    return _with_store(data, work, err)


def run_export(
    data: Path, format: str, folder: Path, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    from desktop.exports import margin_json, markdown

    exporter = markdown if format == "markdown" else margin_json

    def work(store: Any) -> int:
        try:
            result = exporter.export(store, folder.expanduser().resolve())
        except OSError as e:
            print(f"margin: cannot write to {folder}: {e.strerror or e}", file=err)
            return EXIT_FAILED
        print(f"Exported {result['count']:,} notes to {result['path']}", file=out)
        return EXIT_OK

    return _with_store(data, work, err)


def run_backup(data: Path, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Writes a backup now and prints its path. Safe beside the running app: the
    snapshot reads through a connection of its own (desktop/backup.py)."""
    from desktop.backup import BackupError, Backups

    logging_setup.configure(paths.log_file(data))
    backups = Backups(paths.database_file(data), paths.backups_dir(data))
    if _refuse_broken_database(backups.database, err):
        return EXIT_FAILED
    try:
        backup = backups.take()
    except BackupError as e:
        print(f"margin: {e.message}", file=err)
        return EXIT_FAILED
    print(backups.folder / backup["name"], file=out)
    return EXIT_OK


def run_restore(
    data: Path, file: Path | None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """Puts back `file` (a path, or a backup's name) or the newest good backup; the
    notes it replaces are kept as a backup, or set aside if they cannot be read."""
    from desktop.backup import BackupError, Backups

    lock = _lock_data_folder(data, "restore from its window (Backups)", err)
    if lock is None:
        return EXIT_FAILED
    try:
        logging_setup.configure(paths.log_file(data))
        backups = Backups(paths.database_file(data), paths.backups_dir(data))
        if file is not None and not file.exists() and (backups.folder / file).is_file():
            file = backups.folder / file
        try:
            done = backups.restore_file(file.expanduser().resolve() if file else None)
        except BackupError as e:
            print(f"margin: {e.message}", file=err)
            return EXIT_FAILED
    finally:
        lock.release()
    print(f"Restored {done['restored']} ({done['notes']:,} notes).", file=out)
    if done["kept"]:
        print(f"The notes it replaced are kept as {backups.folder / done['kept']['name']}",
              file=out)
    if done["set_aside"]:
        print(f"The database that could not be used was moved to {data / done['set_aside']}",
              file=out)
    return EXIT_OK


def _lock_data_folder(data: Path, instead: str, err: TextIO) -> InstanceLock | None:
    """The data folder's instance lock, or None (and why on `err`) while the app holds it."""
    from desktop.app import InstanceLock

    lock = InstanceLock(paths.lock_file(data))
    if lock.acquire():
        return lock
    print(
        f"margin: Margin is open with the data folder {data}; close it first, or {instead}.",
        file=err,
    )
    return None


def _refuse_broken_database(database: Path, err: TextIO) -> bool:
    """Whether the database fails its read-only check (and why, on `err`)."""
    from desktop import db_check

    problem = db_check.diagnose(database).problem if database.exists() else None
    if problem is None:
        return False
    print(f"margin: cannot use the notes database {database}. {problem['message']} It was "
          "left as it is; `margin restore` puts back the newest good backup.", file=err)
    return True


def _with_store(data: Path, work: Callable[[Any], int], err: TextIO) -> int:
    from desktop.store import Store, StoreError

    lock = _lock_data_folder(data, "import from its window (Import / export)", err)
    if lock is None:
        return EXIT_FAILED
    try:
        logging_setup.configure(paths.log_file(data))
        logging.getLogger(__name__).info("command line work on %s", data)
        if _refuse_broken_database(paths.database_file(data), err):
            return EXIT_FAILED
        try:
            store = Store(paths.database_file(data))
        except StoreError as e:
            print(f"margin: cannot open the notes database: {e.message}", file=err)
            return EXIT_FAILED
        try:
            return work(store)
        finally:
            store.close()
    finally:
        lock.release()


def _show_progress(progress: dict[str, Any], err: TextIO) -> None:
    if progress["state"] != "importing":
        return
    line = f"{progress['done']:,} of {progress['total']:,}"
    if progress["rate"]:
        line += f" · {progress['rate']:,.0f} notes/s"
    if progress["seconds_left"] is not None:
        line += f" · {progress['seconds_left']:.0f} s left"
    print(line, file=err, flush=True)


def _summarise(progress: dict[str, Any], out: TextIO) -> None:
    if progress["state"] == "failed" and progress["problem"]:
        print(f"Import stopped: {progress['problem']}", file=out)
    lines = [
        f"Imported: {progress['imported']:,} notes",
        f"Duplicates skipped: {progress['duplicates']:,}",
        f"Could not be imported: {progress['failed']:,}",
    ]
    if progress["resumed"]:
        lines.append(f"Done by an earlier run: {progress['resumed']:,}")
    if progress["others"]:
        lines.append(f"Other files left alone: {progress['others']:,}")
    print("\n".join(lines), file=out)
    for failure in progress["failures"]:
        print(f"  {failure['item']}: {failure['reason']}", file=out)
    if progress["failed"] > len(progress["failures"]):
        print(f"  … and {progress['failed'] - len(progress['failures']):,} more", file=out)
    if progress["state"] == "cancelled":
        print("Stopped. Import the same path again to go on.", file=out)
