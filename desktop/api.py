"""The js_api object: the only door from the webview into Python.

pywebview exposes every public attribute of this object to JavaScript (and walks
into public attributes that are objects), so everything but the bridge methods is
private. Each method checks its arguments (desktop.validate), calls the store or the
search, and returns plain data or {"error": {"code", "message"}}; no traceback
reaches the UI.

Vectors cross the bridge as base64 of float32 little-endian: exact, and a third of
the size of a JSON list of numbers.
"""

from __future__ import annotations

import base64
import functools
import inspect
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop import links, personal, validate
from desktop.about import facts as about_facts
from desktop.backup import Backups
from desktop.exports import margin_json as json_export
from desktop.exports import markdown as markdown_export
from desktop.imports.job import ImportRun, unfinished
from desktop.search import Search
from desktop.store import Store, StoreError
from desktop.suggest import Suggester

log = logging.getLogger(__name__)

Reply = Any

SEARCH_RESULTS = 30
RELATED_NOTES = 5
# embedding_backlog counts at most this many notes (the store has no count of its
# own yet, so this reads their texts; past it the page shows "10,000+").
BACKLOG_COUNT_CAP = 10_000
# suggestion_backlog counts at most this many notes.
SUGGESTION_COUNT_CAP = 10_000
IMPORT_FILE_TYPES = "Notes (*.md;*.markdown;*.txt;*.enex;*.json)"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _error(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def _bridge(method: Callable[..., Reply]) -> Callable[..., Reply]:
    """Turns wrong calls and failures into error replies, and logs what went wrong."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def reply(self: Api, *args: Any) -> Reply:
        try:
            signature.bind(self, *args)
        except TypeError:
            return _error("invalid", f"{method.__name__} was called with the wrong arguments.")
        try:
            return method(self, *args)
        except validate.ValidationError as e:
            log.info("%s refused: %s", method.__name__, e.message)
            return _error(e.code, e.message)
        except StoreError as e:
            log.info("%s failed: %s (%s)", method.__name__, e.message, e.code)
            return _error(e.code, e.message)
        except Exception:
            log.exception("%s failed", method.__name__)
            return _error("internal", "Something went wrong inside Margin. Details are in the log.")

    return reply


class Api:
    def __init__(self, store: Store, search: Search, backups: Backups | None = None) -> None:
        """`backups`: the data folder's (desktop/backup.py); None leaves them out."""
        self._store = store
        self._search = search
        self._backups = backups
        self._suggester = Suggester(store, search)
        self._import: ImportRun | None = None
        self._import_lock = threading.Lock()

    @_bridge
    def list_notes(self, text: Any = "", tag: Any = None, limit: Any = 200, offset: Any = 0):
        return self._store.list_notes(
            text=validate.search_text(text),
            tag=validate.optional_tag(tag),
            limit=validate.limit(limit),
            offset=validate.offset(offset),
        )

    @_bridge
    def get_note(self, note_id: Any):
        return self._store.get_note(validate.note_id(note_id))

    @_bridge
    def create_note(self, fields: Any = None):
        return self._store.create_note(**validate.new_note(fields))

    @_bridge
    def save_note(self, note_id: Any, fields: Any):
        return self._store.update_note(validate.note_id(note_id), **validate.note_fields(fields))

    @_bridge
    def delete_note(self, note_id: Any):
        self._store.delete_note(validate.note_id(note_id))
        return {"deleted": note_id}

    @_bridge
    def undo_delete(self, note_id: Any):
        return self._store.undo_delete(validate.note_id(note_id))

    @_bridge
    def add_tag(self, note_id: Any, name: Any):
        return self._store.add_tag(validate.note_id(note_id), validate.tag(name))

    @_bridge
    def remove_tag(self, note_id: Any, name: Any):
        return self._store.remove_tag(validate.note_id(note_id), validate.tag(name))

    @_bridge
    def list_tags(self):
        return self._store.list_tags()

    @_bridge
    def rename_tag(self, old: Any, new: Any):
        self._store.rename_tag(validate.tag(old), validate.tag(new))
        return self._store.list_tags()

    @_bridge
    def open_source(self, note_id: Any):
        """Opens the note's source link in the system browser, never inside the app."""
        url = self._store.get_note(validate.note_id(note_id))["source_url"]
        if not url:
            return _error("invalid", "This note has no source link.")
        return {"opened": links.open_in_browser(validate.link(url))}

    @_bridge
    def open_link(self, url: Any):
        """Opens a link clicked in a note in the system browser (http, https, mailto)."""
        return {"opened": links.open_in_browser(validate.link(url))}

    @_bridge
    def about(self):
        """Margin's version, and the licences and credits of what ships inside it."""
        return about_facts()

    # ------------------------------------------------------------ saving and closing

    @_bridge
    def storage_problem(self):
        """None when notes can be written; else {"code": "disk_full" | "read_only",
        "message"}. Tries writing again first (Store.storage_problem)."""
        problem = self._store.storage_problem()
        return None if problem is None else {"code": problem.code, "message": problem.message}

    @_bridge
    def close_window(self):
        """Closes the window as its close button would; the page is asked first, and
        says yes once the person chose to close without saving."""
        import webview

        if not webview.windows:
            return _error("internal", "There is no window to close.")
        # destroy() waits for the window's closing, which waits on this page: not here.
        threading.Thread(target=webview.windows[0].destroy, name="close", daemon=True).start()
        return {"closing": True}

    # ------------------------------------------------------------ vectors and search

    @_bridge
    def put_embedding(self, note_id: Any, vector_b64: Any, model_id: Any, content_hash: Any):
        """Keeps a note's vector; {"stored": false} when the note changed since (stale)."""
        stored = self._store.put_embedding(
            validate.note_id(note_id),
            validate.vector(vector_b64),
            validate.model_id(model_id),
            validate.content_hash(content_hash),
        )
        return {"stored": stored}

    @_bridge
    def put_embeddings(self, model_id: Any, items: Any):
        """Keeps many notes' vectors at once ([{id, content_hash, vector}]): for each,
        "stored", "stale" (the note changed since) or "not_found"."""
        kept = self._store.put_embeddings(
            validate.model_id(model_id), validate.embedding_items(items)
        )
        return {"outcomes": [
            "not_found" if stored is None else "stored" if stored else "stale" for stored in kept
        ]}

    @_bridge
    def notes_needing_embedding(self, model_id: Any, limit: Any = 100):
        return self._store.notes_needing_embedding(
            validate.model_id(model_id), validate.limit(limit)
        )

    @_bridge
    def embedding_backlog(self, model_id: Any):
        """How many notes have no current vector of this model (capped, see BACKLOG_COUNT_CAP)."""
        waiting = self._store.notes_needing_embedding(
            validate.model_id(model_id), BACKLOG_COUNT_CAP
        )
        return {"remaining": len(waiting), "capped": len(waiting) == BACKLOG_COUNT_CAP}

    @_bridge
    def search(self, query: Any, vector_b64: Any = None, filters: Any = None):
        """Notes for a query, best first, with their matched words as [text, is_match] segments.

        `vector_b64` is the query's embedding, or None (model still loading) for words only.
        """
        return self._search.query(
            validate.optional_vector(vector_b64),
            validate.search_text(query),
            limit=SEARCH_RESULTS,
            **validate.search_filters(filters),
        )

    @_bridge
    def related(self, note_id: Any):
        """The notes nearest in meaning to this one, itself left out."""
        return self._search.related(validate.note_id(note_id), RELATED_NOTES)

    # ------------------------------------------------------------ tag suggestions

    @_bridge
    def suggestions(self, note_id: Any, tagger: Any):
        """The note's suggestions from what is kept. "stale" when the taggers' outputs
        for its text are missing or from other taggers than `tagger`; then "vector"
        is its current vector (base64) to compute them from, or None if it has none yet."""
        reply = self._suggester.for_note(validate.note_id(note_id), validate.tagger_id(tagger))
        vector = reply["vector"]
        return {**reply, "vector": _b64(vector) if vector is not None and reply["stale"] else None}

    @_bridge
    def suggest(self, note_id: Any, content_hash: Any, vector_b64: Any, outputs: Any):
        """The note's suggestions from what the taggers said about its text with this
        hash (computed from this vector); {"current": false} and none if the text has
        changed since. Keeps nothing: put_suggestions does, after they show."""
        return self._suggester.for_text(
            validate.note_id(note_id),
            validate.content_hash(content_hash),
            validate.vector(vector_b64),
            validate.tagger_outputs(outputs),
        )

    @_bridge
    def put_suggestions(self, tagger: Any, items: Any):
        """Keeps the taggers' outputs for many notes: [{id, content_hash, outputs}].
        A note deleted or changed since is skipped; returns how many were kept."""
        tagger = validate.tagger_id(tagger)
        kept = self._store.put_many_tag_suggestions(tagger, [
            (item["id"], item["content_hash"], item["outputs"])
            for item in validate.suggestion_items(items)
        ])
        return {"stored": kept.count(True)}

    @_bridge
    def suggestion_backlog(self, model_id: Any, tagger: Any):
        """How many notes with a vector have no current outputs of these taggers (capped)."""
        remaining = self._store.count_needing_suggestions(
            validate.model_id(model_id), validate.tagger_id(tagger), SUGGESTION_COUNT_CAP
        )
        return {"remaining": remaining, "capped": remaining == SUGGESTION_COUNT_CAP}

    @_bridge
    def notes_needing_suggestions(self, model_id: Any, tagger: Any, limit: Any):
        """Up to `limit` such notes, newest first: {ids, hashes, vectors (base64, one
        after another)}."""
        jobs = self._store.notes_needing_suggestions(
            validate.model_id(model_id), validate.tagger_id(tagger), validate.limit(limit)
        )
        return {**jobs, "vectors": _b64(jobs["vectors"])}

    @_bridge
    def accept_suggestion(self, note_id: Any, tag: Any, source: Any, confidence: Any):
        """Adds the suggested tag (origin "accepted"), remembers it; returns the note."""
        return self._store.accept_suggestion(
            validate.note_id(note_id),
            validate.tag(tag),
            validate.feedback_source(source),
            validate.optional_confidence(confidence),
        )

    @_bridge
    def reject_suggestion(self, note_id: Any, tag: Any, source: Any, confidence: Any):
        """Remembers that the tag is not to be suggested for this note again."""
        name = validate.tag(tag)
        self._store.reject_suggestion(
            validate.note_id(note_id),
            name,
            validate.feedback_source(source),
            validate.optional_confidence(confidence),
        )
        return {"rejected": name}

    # ------------------------------------------------------------ the personal head

    @_bridge
    def personal_training_set(self, model_id: Any, known_signature: Any = None):
        """What the personal head learns from (desktop/personal.py), or only
        {"signature", "unchanged": true} when that is `known_signature`."""
        return personal.training_set(
            self._store, validate.model_id(model_id), validate.optional_signature(known_signature)
        )

    @_bridge
    def note_vectors(self, model_id: Any, note_ids: Any):
        """The current vectors of these notes: {ids, vectors (base64, one after another)};
        notes without one are left out."""
        rows = self._store.vector_rows_of(validate.model_id(model_id), validate.note_ids(note_ids))
        return {"ids": rows["ids"], "vectors": _b64(rows["vectors"])}

    @_bridge
    def personal_head(self, model_id: Any):
        """The kept head for this encoder: {signature, labels, weights (base64)}, or None."""
        head = personal.load_head(self._store, validate.model_id(model_id))
        return None if head is None else {**head, "weights": _b64(head["weights"])}

    @_bridge
    def put_personal_head(self, model_id: Any, head: Any):
        """Keeps the head the webview trained ({signature, labels, weights}); None
        forgets the kept one."""
        personal.save_head(self._store, validate.model_id(model_id), validate.personal_head(head))
        return {"kept": head is not None}

    # ------------------------------------------------------------ imports and exports

    @_bridge
    def choose_path(self, purpose: Any):
        """Asks for a path with the system's dialog: {"path": str | None (cancelled)}.
        `purpose`: "import-folder", "import-file" or "export-folder"."""
        import webview

        purpose = validate.dialog_purpose(purpose)
        if not webview.windows:
            return _error("internal", "There is no window to show a dialog in.")
        kind = webview.FileDialog.OPEN if purpose == "import-file" else webview.FileDialog.FOLDER
        file_types = (IMPORT_FILE_TYPES, "All files (*.*)") if purpose == "import-file" else ()
        chosen = webview.windows[0].create_file_dialog(kind, file_types=file_types)
        return {"path": str(chosen[0]) if chosen else None}

    @_bridge
    def start_import(self, path: Any):
        """Imports a folder or file on a thread of its own; returns its first progress.
        Importing a path whose import was cut short resumes it."""
        path = validate.local_path(path)
        with self._import_lock:
            if self._import is not None and not self._import.finished:
                return _error("busy", "An import is already running.")
            self._import = ImportRun(self._store, path)
            self._import.start()
            return self._import.progress()

    @_bridge
    def import_progress(self):
        """The latest import's progress (desktop/imports/job.py), or None if there was none."""
        return None if self._import is None else self._import.progress()

    @_bridge
    def cancel_import(self):
        """Stops the import after the entry being read; what it stored stays."""
        if self._import is None:
            return None
        self._import.cancel()
        return self._import.progress()

    @_bridge
    def unfinished_imports(self):
        """Imports that stopped before their end (the window closed or the app was
        killed mid-import, or the user cancelled), for the page to offer to resume or
        discard: desktop/imports/job.py unfinished. The running one is left out."""
        with self._import_lock:
            running = None if self._import is None or self._import.finished else self._import.job
        return unfinished(self._store, running)

    @_bridge
    def resume_import(self, job: Any):
        """Resumes an unfinished import where it stopped; returns its first progress."""
        with self._import_lock:
            if self._import is not None and not self._import.finished:
                return _error("busy", "An import is already running.")
            offer = self._unfinished_import(job)
            if offer["missing"]:
                return _error(
                    "not_found", f"{offer['path']} is no longer there, so the import cannot go on."
                )
            self._import = ImportRun(self._store, Path(offer["path"]), job=offer["job"])
            self._import.start()
            return self._import.progress()

    @_bridge
    def discard_import(self, job: Any):
        """Stops offering an unfinished import; the notes it brought in stay."""
        with self._import_lock:
            if self._import is not None and not self._import.finished:
                return _error("busy", "An import is running. Discard once it is done.")
            self._store.discard_import(self._unfinished_import(job)["job"])
            return {"discarded": job}

    def _unfinished_import(self, job: Any) -> dict[str, Any]:
        # bool is an int subclass: true must not pass for job 1.
        if isinstance(job, bool) or not isinstance(job, int):
            raise StoreError("invalid", "An import job is named by a whole number.")
        for offer in unfinished(self._store):
            if offer["job"] == job:
                return offer
        raise StoreError("not_found", "That import is not waiting to be resumed.")

    @_bridge
    def export_notes(self, format: Any, folder: Any):
        """Writes every note into `folder` as Markdown files or one JSON file:
        {"count", "path"}."""
        exporter = markdown_export if validate.export_format(format) == "markdown" else json_export
        try:
            return exporter.export(self._store, validate.local_path(folder))
        except OSError as e:
            return _error("invalid", f"Cannot write there: {e.strerror or e}.")

    @_bridge
    def note_markdown(self, note_id: Any):
        """One note as an exported Markdown file holds it: {"markdown"}."""
        return {"markdown": markdown_export.note_markdown(
            self._store.export_note(validate.note_id(note_id)))}

    # ------------------------------------------------------------ backups

    @_bridge
    def start_problem(self):
        """None: the notes database opened fine (see desktop/start_problem.py)."""
        return None

    @_bridge
    def list_backups(self):
        """{"backups": newest first (desktop/backup.py Backup), "problem": why the last
        automatic backup failed, or None}."""
        backups = self._backups_on()
        return {"backups": backups.list(), "problem": backups.auto_problem}

    @_bridge
    def back_up_now(self):
        """Writes a backup now; its entry."""
        return self._backups_on().take()

    @_bridge
    def restore_backup(self, name: Any):
        """Puts backup `name` in place of the notes, which are kept as a backup first.
        The page reloads afterwards: everything it holds came from the notes replaced."""
        backups = self._backups_on()
        with self._import_lock:
            if self._import is not None and not self._import.finished:
                return _error("busy", "An import is running. Restore once it is done.")
            return backups.restore_into(self._store, validate.backup_name(name))

    def _backups_on(self) -> Backups:
        if self._backups is None:
            raise StoreError("unavailable", "Backups are not set up in this window.")
        return self._backups

    # ------------------------------------------------------------ many notes at once

    @_bridge
    def tag_notes(self, note_ids: Any, name: Any):
        """Adds a tag to every selected note, in one transaction: {"changed": count}."""
        changed = self._store.add_tag_to_notes(
            validate.selected_notes(note_ids), validate.tag(name)
        )
        return {"changed": changed}

    @_bridge
    def untag_notes(self, note_ids: Any, name: Any):
        """Removes a tag from every selected note, in one transaction: {"changed": count}."""
        changed = self._store.remove_tag_from_notes(
            validate.selected_notes(note_ids), validate.tag(name)
        )
        return {"changed": changed}

    @_bridge
    def delete_notes(self, note_ids: Any):
        """Moves the selected notes to the trash, in one transaction: {"deleted": ids}."""
        return {"deleted": self._store.delete_notes(validate.selected_notes(note_ids))}

    @_bridge
    def undo_delete_notes(self, note_ids: Any):
        """Brings notes back from the trash, in one transaction: {"restored": ids}."""
        return {"restored": self._store.undo_delete_notes(validate.selected_notes(note_ids))}

    @_bridge
    def accept_suggestions_above(self, note_ids: Any, tagger: Any, threshold: Any):
        """Accepts, on each selected note, every suggestion it shows (suggest.MAX_SHOWN at
        most) at `threshold` confidence or more: {"accepted": tags added, "notes": notes
        that got one, "waiting": notes whose taggers' outputs are not computed yet}."""
        tagger = validate.tagger_id(tagger)
        threshold = validate.confidence(threshold)
        accepted = notes = waiting = 0
        for note_id in validate.selected_notes(note_ids):
            try:
                found = self._suggester.for_note(note_id, tagger)
            except StoreError as e:
                if e.code == "not_found":
                    continue
                raise
            waiting += found["stale"]
            chosen = [s for s in found["suggestions"] if s["confidence"] >= threshold]
            taken = 0
            for suggestion in chosen:
                try:
                    self._store.accept_suggestion(
                        note_id, suggestion["tag"], suggestion["source"], suggestion["confidence"]
                    )
                except StoreError as e:
                    # Deleted since its suggestions were read: skipped as above, so the
                    # notes before it keep their tags and the reply says so.
                    if e.code != "not_found":
                        raise
                    break
                taken += 1
            accepted += taken
            notes += bool(taken)
        return {"accepted": accepted, "notes": notes, "waiting": waiting}
