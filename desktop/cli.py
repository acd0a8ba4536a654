"""`margin import PATH` and `margin export --format markdown|json DIR`, without the window.

Both hold the data folder's instance lock while they work, so they never write
beside a running app (whose search index and background work would not know of
the change); they refuse when the app is open. An import shows its progress on
stderr, can be stopped with Ctrl+C (importing the same path again goes on), and
ends with a summary listing every file that could not be imported and why.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from desktop import logging_setup, paths

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


def _with_store(data: Path, work: Callable[[Any], int], err: TextIO) -> int:
    from desktop.app import InstanceLock
    from desktop.store import Store, StoreError

    lock = InstanceLock(paths.lock_file(data))
    if not lock.acquire():
        print(
            f"margin: Margin is open with the data folder {data}; close it first, or import "
            "from its window (Import / export).",
            file=err,
        )
        return EXIT_FAILED
    try:
        logging_setup.configure(paths.log_file(data))
        logging.getLogger(__name__).info("command line work on %s", data)
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
