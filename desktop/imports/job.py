"""One import from start to summary: what a path holds, reading it, storing it.

    run = ImportRun(store, Path("~/vault").expanduser())
    run.start()              # on a thread of its own; or run.run() to wait
    run.progress()           # counts, rate, time left, failures (any thread)
    run.cancel()             # stops after the entry being read; done work stays
    unfinished(store)        # imports cut short or cancelled, to offer at start
    ImportRun(store, path, job=offer["job"])  # resumes that one

A folder is imported with its Markdown files (and any .enex files in it); a file
by its kind (.md/.markdown/.txt, .enex, Margin's .json). Every file or entry is an
item, named by its path relative to the folder ("notes.enex#3" for the third note
of an .enex file). Items are stored in batches, each in one transaction with the
job's record of them (store.record_import), so an import that was cancelled or
cut short resumes where it stopped: resuming its job (or importing the same path
again) skips the items it recorded. Notes whose content a live note already has are skipped and
counted as duplicates; items that cannot be read are counted and listed with
their reason, and never stop the others.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from desktop.imports import Unreadable, enex, margin_json, markdown, name_text
from desktop.store import ImportEntry, ImportFailure, Store, StoreError, now_ms

log = logging.getLogger(__name__)

BATCH = 200
# A batch is stored at least this often, so progress moves while big files are read.
FLUSH_SECONDS = 0.5
# Failures a progress report lists (all are kept in the database and counted).
LISTED_FAILURES = 500
SUPPORTED = "Markdown files or folders, Evernote .enex files, and Margin's own .json exports"

State = Literal["scanning", "importing", "done", "cancelled", "failed"]


@dataclass
class _Source:
    kind: Literal["markdown", "enex", "json"]
    path: Path
    item: str  # the file's name in reports, relative to the imported folder
    count: int  # items expected from it (for .enex, counted before parsing)
    problem: str | None = None  # why the whole file cannot be read, found while scanning
    entries: list[Any] | None = None  # a JSON file's entries, read while scanning


class ImportRun:
    def __init__(
        self, store: Store, path: Path, *, batch: int = BATCH, job: int | None = None
    ) -> None:
        """`job`: an unfinished job of `path` (Store.unfinished_imports) to resume."""
        self._store = store
        self._path = path
        self._resume = job
        self._batch_size = batch
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._state: State = "scanning"
        self._error: str | None = None
        self._job_id = job
        self._total = 0
        self._done = 0
        self._resumed = 0
        self._others = 0
        self._counts = {"imported": 0, "duplicates": 0, "failed": 0}
        self._failures: list[ImportFailure] = []
        self._current = ""
        self._started = time.monotonic()
        self._finished: float | None = None

    # ------------------------------------------------------------ control

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="import", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the run has ended (started with start())."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.finished

    @property
    def finished(self) -> bool:
        return self._state in ("done", "cancelled", "failed")

    @property
    def job(self) -> int | None:
        """The job's id: the one being resumed, or once scanning has found the path's."""
        with self._lock:
            return self._job_id

    def progress(self) -> dict[str, Any]:
        """Where the run is: plain data for the page and the command line."""
        with self._lock:
            end = self._finished or time.monotonic()
            elapsed = end - self._started
            # The rate counts items read in this run, not those skipped as done before.
            worked = self._done - self._resumed
            rate = worked / elapsed if elapsed > 0 and worked else 0.0
            left = max(self._total - self._done, 0)
            return {
                "job": self._job_id,
                "path": str(self._path),
                "state": self._state,
                "problem": self._error,
                "total": max(self._total, self._done),
                "done": self._done,
                "resumed": self._resumed,
                "others": self._others,
                **self._counts,
                "failures": self._failures[:LISTED_FAILURES],
                "current": self._current,
                "elapsed": round(elapsed, 3),
                "rate": round(rate, 1),
                "seconds_left": round(left / rate, 1) if rate and not self.finished else None,
            }

    # ------------------------------------------------------------ the run

    def run(self) -> dict[str, Any]:
        """Runs the import here; returns the final progress."""
        try:
            self._run()
        except Unreadable as e:
            self._end("failed", e.reason)
        except StoreError as e:
            # What was stored stays, and the job stays open: importing again resumes.
            log.warning("import of %s stopped: %s", self._path, e.message)
            self._end("failed", f"the import stopped: {e.message}")
        except Exception:
            log.exception("import of %s failed", self._path)
            self._end("failed", "the import stopped on an internal error (details in the log)")
        return self.progress()

    def _run(self) -> None:
        path = self._path
        if not path.exists():
            raise Unreadable(f"{path} does not exist")
        sources, others = _sources(path)
        kind = "folder" if path.is_dir() else sources[0].kind
        if self._resume is None:
            job = self._store.begin_import(str(path.resolve()), kind)
        else:
            job = self._store.resume_import(self._resume)
        tally = self._store.import_tally(job["id"])
        with self._lock:
            self._job_id = job["id"]
            self._others = others
            self._total = sum(source.count for source in sources)
            self._counts = {key: tally[key] for key in ("imported", "duplicates", "failed")}
            self._failures = list(tally["failures"])
            self._state = "importing"
            self._started = time.monotonic()
        done = set(job["done"])
        batch: list[ImportEntry] = []
        flushed = time.monotonic()
        for source in sources:
            seen = 0
            for entry in self._entries(source, root=path if path.is_dir() else None, done=done):
                seen += 1
                if entry is None:
                    with self._lock:
                        self._done += 1
                        self._resumed += 1
                    continue
                batch.append(entry)
                if len(batch) >= self._batch_size or time.monotonic() - flushed > FLUSH_SECONDS:
                    self._store_batch(job["id"], batch)
                    batch, flushed = [], time.monotonic()
                if self._cancel.is_set():
                    break
            with self._lock:
                # The count was an estimate (an .enex file is counted before parsing).
                self._total += seen - source.count
            if self._cancel.is_set():
                break
        self._store_batch(job["id"], batch)
        state = "cancelled" if self._cancel.is_set() else "done"
        self._store.finish_import(job["id"], state)
        self._end(state, None)

    def _entries(
        self, source: _Source, *, root: Path | None, done: set[str]
    ) -> Iterator[ImportEntry | None]:
        """The source's items as entries; None for an item done in an earlier run."""
        with self._lock:
            self._current = source.item
        if source.item in done:
            yield None
            return
        if source.problem is not None:
            yield _failure(source.item, source.problem)
            return
        now = now_ms()
        if source.kind == "markdown":
            try:
                yield _entry(source.item, markdown.read(source.path, root, now))
            except Unreadable as e:
                yield _failure(source.item, e.reason)
            return
        if source.kind == "json":
            notes: Iterator[Any] = iter(source.entries or [])
            read_note = margin_json.note
        else:
            notes = enex.read(source.path, now)
            read_note = _as_note
        index = 0
        try:
            for index, raw in enumerate(notes, start=1):
                item = f"{source.item}#{index}"
                if item in done:
                    yield None
                    continue
                try:
                    yield _entry(item, read_note(raw))
                except Unreadable as e:
                    yield _failure(item, e.reason)
                if self._cancel.is_set():
                    return
        except Unreadable as e:
            # The file failed part-way: its earlier notes are in, the failure is the file's.
            after = f" (after {index} {'note' if index == 1 else 'notes'})" if index else ""
            yield _failure(source.item, e.reason + after)

    def _store_batch(self, job_id: int, batch: list[ImportEntry]) -> None:
        if not batch:
            return
        outcomes = self._store.record_import(job_id, batch)
        with self._lock:
            for entry, outcome in zip(batch, outcomes, strict=True):
                self._done += 1
                if outcome == "imported":
                    self._counts["imported"] += 1
                elif outcome == "duplicate":
                    self._counts["duplicates"] += 1
                elif outcome == "failed":
                    self._counts["failed"] += 1
                    self._failures.append({"item": entry["item"], "reason": entry["reason"] or ""})
                else:
                    self._resumed += 1

    def _end(self, state: State, error: str | None) -> None:
        with self._lock:
            self._state = state
            self._error = error
            self._current = ""
            self._finished = time.monotonic()


def unfinished(store: Store, running: int | None = None) -> list[dict[str, Any]]:
    """Imports that stopped before their end as the page offers them, those cut short
    first (the user did not choose to stop them), newest first among each:
    {"job", "path", "state": "stopped" (the app was closed or killed mid-import, or
    the run failed) or "cancelled" (by the user), "done" and "imported" (items and
    notes so far), "total" (items the path holds now; None if it cannot be read),
    "missing": whether the path is gone}. `running`: the job of the import running
    now, left out."""
    offers = []
    for job in store.unfinished_imports():
        if job["id"] == running:
            continue
        path = Path(job["source"])
        missing = not path.exists()
        total = None if missing else _total(path)
        offers.append({
            "job": job["id"],
            "path": job["source"],
            "state": "cancelled" if job["state"] == "cancelled" else "stopped",
            "done": job["done"],
            "imported": job["imported"],
            "total": None if total is None else max(total, job["done"]),
            "missing": missing,
        })
    offers.sort(key=lambda offer: offer["state"] == "cancelled")
    return offers


def _total(path: Path) -> int | None:
    try:
        sources, _ = _sources(path)
    except (Unreadable, OSError):
        return None
    return sum(source.count for source in sources)


def _as_note(raw: Any) -> Any:
    """enex.read yields notes and Unreadable entries; the latter are raised here."""
    if isinstance(raw, Unreadable):
        raise raw
    return raw


def _entry(item: str, note: Any) -> ImportEntry:
    return {"item": item, "note": note, "reason": None}


def _failure(item: str, reason: str) -> ImportEntry:
    return {"item": item, "note": None, "reason": reason}


def _sources(path: Path) -> tuple[list[_Source], int]:
    """What the path holds, in import order, and how many other files a folder holds."""
    if not path.is_dir():
        return [_source(path, name_text(path.name))], 0
    sources: list[_Source] = []
    others = 0
    for file in _walk(path):
        name = file.name.lower()
        if name.endswith(markdown.SUFFIXES) or name.endswith(enex.SUFFIX):
            sources.append(_source(file, name_text(file.relative_to(path).as_posix())))
        else:
            others += 1
    return sources, others


def _source(path: Path, item: str) -> _Source:
    name = path.name.lower()
    if name.endswith(markdown.SUFFIXES):
        return _Source("markdown", path, item, 1)
    if name.endswith(enex.SUFFIX):
        try:
            enex.check_size(path)
            return _Source("enex", path, item, enex.count_notes(path))
        except Unreadable as e:
            return _Source("enex", path, item, 1, problem=e.reason)
        except OSError as e:
            return _Source("enex", path, item, 1, problem=f"cannot be read: {e.strerror or e}")
    if name.endswith(margin_json.SUFFIX):
        try:
            entries = margin_json.load(path)
        except Unreadable as e:
            return _Source("json", path, item, 1, problem=e.reason)
        return _Source("json", path, item, len(entries), entries=entries)
    raise Unreadable(f"{name_text(path.name)} is not something Margin imports ({SUPPORTED})")


def _walk(root: Path) -> list[Path]:
    """Files under `root` in a stable order, hidden folders and files (.obsidian, .git,
    .trash) passed over."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(folder) / name for name in sorted(files) if not name.startswith(".")]
    return found
