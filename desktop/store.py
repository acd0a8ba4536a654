"""Margin's notes database: notes, tags, vectors and full-text search in one SQLite file.

One connection serves every thread, behind a lock: pywebview runs each js_api
call on a fresh thread, so per-thread connections would pile up unclosed.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import re
import shutil
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, TypedDict

from desktop import migrations

log = logging.getLogger(__name__)

TRASH_KEEP_MS = 30 * 24 * 60 * 60 * 1000
VECTOR_DIMENSIONS = 512
VECTOR_BYTES = VECTOR_DIMENSIONS * 4
SNIPPET_CHARS = 140
BUSY_TIMEOUT_MS = 5000
# A row of the embeddings table (a 2 KiB vector and its hash) fits once in a
# 4 KiB page, wasting half of it; an 8 KiB page holds three. Files made with
# another page size keep it.
PAGE_SIZE = 8192
ORIGINS = ("user", "accepted")

# keyword_search looks at this many distinct words of a query at most (the
# longest), so a long paste costs no more than a sentence.
MAX_KEYWORD_WORDS = 16
# FTS5 computes BM25 at several microseconds per matching note, so keyword_search
# ranks all matches only while the chosen words are in this many notes together;
# commoner words are left out (see _choose_words).
MAX_SCORED_NOTES = 1000
# keyword_search remembers at most this many terms' note counts.
_TERM_CACHE_SIZE = 50_000
# The last word matches as a prefix from this many characters on; shorter, it would
# expand to much of the vocabulary.
MIN_PREFIX_CHARS = 3
# Title words count this much more than body words in keyword ranking (BM25 weights).
TITLE_WEIGHT = 2.0

# The note list reads this much of each body to make a snippet, not the whole body.
_SNIPPET_SOURCE_CHARS = 1000
# A filter word takes part only if it holds a letter or a digit; anything else
# would tokenize to nothing in FTS5's unicode61 tokenizer.
_WORD_CHARACTER = re.compile(r"[^\W_]")
# Roughly how unicode61 cuts text into tokens (letters and digits), for vocabulary lookups.
_TOKEN = re.compile(r"[^\W_]+")


class NoteTag(TypedDict):
    name: str
    origin: Literal["user", "accepted"]
    added: int


class Note(TypedDict):
    id: int
    title: str
    body: str
    source_url: str | None
    created: int
    updated: int
    content_hash: str
    tags: list[NoteTag]


class Summary(TypedDict):
    id: int
    title: str
    snippet: str
    updated: int
    tags: list[str]


class TagCount(TypedDict):
    name: str
    count: int


class Embedding(TypedDict):
    vector: bytes
    model_id: str
    content_hash: str


class EmbeddingJob(TypedDict):
    id: int
    text: str
    content_hash: str


class KeywordHit(TypedDict):
    id: int
    score: float


class VectorRows(TypedDict):
    ids: list[int]
    updated: list[int]
    vectors: bytes


class Feedback(TypedDict):
    """A row of suggestion_feedback: the user accepted or rejected a suggested tag."""

    tag: str
    state: Literal["accepted", "rejected"]
    source: str
    confidence: float | None
    at: int


class ImportedNote(TypedDict):
    """A note as an import brings it in, with its own times and tag origins.

    `front_matter` is YAML text of the keys Margin has no field for (kept to be
    written back on export), or None.
    """

    title: str
    body: str
    source_url: str | None
    created: int
    updated: int
    tags: list[NoteTag]
    front_matter: str | None
    feedback: list[Feedback]


class ImportEntry(TypedDict):
    """One file or entry of an import: a note, or why it could not be read (`reason`)."""

    item: str
    note: ImportedNote | None
    reason: str | None


class ImportJob(TypedDict):
    id: int
    source: str
    format: str
    resumed: bool
    done: list[str]


class ImportFailure(TypedDict):
    item: str
    reason: str


class UnfinishedImport(TypedDict):
    """An import job that never finished: cut short ("running" with nothing running
    it, after a crash or a closed window) or "cancelled"; `done` counts its items."""

    id: int
    source: str
    format: str
    state: Literal["running", "cancelled"]
    started: int
    done: int
    imported: int


class ImportTally(TypedDict):
    imported: int
    duplicates: int
    failed: int
    failures: list[ImportFailure]


class ExportedNote(Note):
    front_matter: str | None
    feedback: list[Feedback]

class StoredSuggestions(TypedDict):
    """What the taggers said about a note's text (`content_hash`), and which taggers."""

    content_hash: str
    tagger: str
    suggestions: list[dict[str, object]]


class SuggestionJobs(TypedDict):
    """Notes whose stored suggestions are missing or stale, with their current vectors."""

    ids: list[int]
    hashes: list[str]
    vectors: bytes


class PersonalExample(TypedDict):
    """A note the personal head learns from: its tags, and tags rejected for it."""

    id: int
    content_hash: str
    tags: list[str]
    rejected: list[str]


class PersonalHead(TypedDict):
    model_id: str
    signature: str
    labels: list[str]
    weights: bytes
    trained: int


ChangeListener = Callable[[list[int]], None]


class StoreError(Exception):
    """A failure the caller can report: `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(StoreError):
    def __init__(self, message: str) -> None:
        super().__init__("not_found", message)


class Invalid(StoreError):
    def __init__(self, message: str) -> None:
        super().__init__("invalid", message)


# The codes of failures that are the disk's or the folder's, not the note's: the
# write can succeed unchanged once there is room, or permission.
WRITE_PROBLEMS = ("disk_full", "read_only")
# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_FULL = 13
# An I/O error on a disk with less room than this is the full disk's: SQLite reports
# some failed writes (growing the -shm file, for one) only as I/O errors.
_FULL_BELOW_BYTES = 1 << 20


def _storage_error(exc: sqlite3.Error, folder: Path) -> StoreError:
    """A SQLite failure as a StoreError; a full disk or a read-only folder in plain words."""
    primary = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if primary == _SQLITE_FULL or (primary == _SQLITE_IOERR and _nearly_full(folder)):
        return StoreError("disk_full", f"The disk that holds {folder} is full.")
    if primary == _SQLITE_READONLY:
        return StoreError(
            "read_only",
            f"Margin may not write to {folder}: the folder or the disk is read-only.",
        )
    return StoreError("storage", f"database error: {exc}")


def _nearly_full(folder: Path) -> bool:
    try:
        return shutil.disk_usage(folder).free < _FULL_BELOW_BYTES
    except OSError:
        return False


def _open_writable(db_path: Path) -> sqlite3.Connection:
    """The database opened (created if needed) and migrated; sqlite3.Error if it cannot be."""
    conn = sqlite3.connect(
        db_path,
        isolation_level=None,
        check_same_thread=False,
        timeout=BUSY_TIMEOUT_MS / 1000,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Takes effect on a new file only (before WAL): see PAGE_SIZE.
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            log.warning("SQLite refused WAL mode for %s (got %r)", db_path, mode)
        conn.execute("PRAGMA foreign_keys = ON")
        migrations.register_functions(conn)
        migrations.migrate(conn)
        _add_vocab(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def _open_read_only(db_path: Path) -> sqlite3.Connection | None:
    """The database opened for reading only, or None when that would not show its
    latest state or its schema is not this app's.

    immutable=1 reads the file without the -shm file that SQLite would otherwise
    have to create; it would also ignore the -wal file, so one holding writes not
    yet copied into the database rules it out.
    """
    wal = db_path.with_name(db_path.name + "-wal")
    try:
        if not db_path.is_file() or (wal.exists() and wal.stat().st_size > 0):
            return None
        conn = sqlite3.connect(
            db_path.resolve().as_uri() + "?mode=ro&immutable=1",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
    except (OSError, sqlite3.Error):
        return None
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] != migrations.LATEST_VERSION:
            conn.close()
            return None
        migrations.register_functions(conn)
        _add_vocab(conn)
    except sqlite3.Error:
        conn.close()
        return None
    return conn


def _add_vocab(conn: sqlite3.Connection) -> None:
    # Per connection, not in the file: how many notes hold each indexed word.
    conn.execute("CREATE VIRTUAL TABLE temp.notes_vocab USING fts5vocab (main, notes_fts, row)")


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


# update_note's default for source_url, where None means "clear it".
UNCHANGED = _Unchanged.UNCHANGED


def content_text(title: str, body: str) -> str:
    """The text that gets embedded and hashed; the only definition of it."""
    return title + "\n\n" + body


def content_hash(title: str, body: str) -> str:
    return hashlib.sha256(content_text(title, body).encode("utf-8")).hexdigest()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def clean_tag_name(name: object) -> str:
    """Strip a tag name and collapse its inner whitespace to single spaces."""
    if not isinstance(name, str):
        raise Invalid("a tag name must be a string")
    cleaned = " ".join(_checked_text(name, "tag name").split())
    if not cleaned:
        raise Invalid("a tag name needs at least one visible character")
    return cleaned


def _fold(clean_name: str) -> str:
    return unicodedata.normalize("NFC", clean_name.casefold())


def _rename_feedback(conn: sqlite3.Connection, old_fold: str, new: str) -> None:
    """Moves accept/reject records to a renamed tag, so a rejection keeps matching it."""
    spellings = [
        tag
        for (tag,) in conn.execute("SELECT DISTINCT tag FROM suggestion_feedback")
        if tag_fold(tag) == old_fold
    ]
    conn.executemany(
        "UPDATE suggestion_feedback SET tag = ? WHERE tag = ?", [(new, t) for t in spellings]
    )


def tag_fold(name: object) -> str:
    """The key two spellings of one tag share: cleaned, case-folded, NFC."""
    return _fold(clean_tag_name(name))


def _tag_sort_key(name: str) -> tuple[str, str, str]:
    """Order ignoring case, and accents at first, so "Élan" sorts with the E's."""
    fold = _fold(name)
    bare = "".join(c for c in unicodedata.normalize("NFD", fold) if not unicodedata.combining(c))
    return bare, fold, name


def _checked_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Invalid(f"{field} is not valid Unicode text") from exc
    return value


def _checked_id(note_id: object) -> int:
    if not isinstance(note_id, int) or isinstance(note_id, bool):
        raise Invalid("a note id must be an integer")
    return note_id


def _checked_count(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Invalid(f"{field} must be a non-negative integer")
    return value


def _checked_vector(vector: object) -> bytes:
    if not isinstance(vector, bytes | bytearray | memoryview):
        raise Invalid("a vector must be bytes")
    vector = bytes(vector)
    if len(vector) != VECTOR_BYTES:
        raise Invalid(f"a vector must be {VECTOR_BYTES} bytes (512 float32), not {len(vector)}")
    return vector


def _checked_url(source_url: object) -> str | None:
    return None if source_url is None else _checked_text(source_url, "source_url")


def _checked_origin(origin: object) -> str:
    if origin not in ORIGINS:
        raise Invalid(f"a tag origin must be one of {', '.join(ORIGINS)}")
    return str(origin)


def fts_query(text: str) -> str:
    """The FTS5 query for a filter box text; "" when the text filters nothing.

    Each whitespace-separated word becomes a quoted FTS5 string, so FTS syntax
    (quotes, *, parentheses, AND/OR/NOT/NEAR, column filters) is plain text.
    Every word must match; the last one as a prefix, so the list narrows while
    typing. Words without a letter or digit are left out.
    """
    words = query_words(text)
    if not words:
        return ""
    phrases = [_quoted(word) for word in words]
    phrases[-1] += "*"
    return " ".join(phrases)


def query_words(text: str) -> list[str]:
    """A search text's words: split at whitespace, those without a letter or digit left out."""
    # FTS5 reads a query only up to a NUL, which would cut a quoted word open.
    return [word for word in text.replace("\0", " ").split() if _WORD_CHARACTER.search(word)]


def fold_term(word: str) -> str:
    """A word as unicode61 (remove_diacritics 2) indexes it: lower case, no accents."""
    if word.isascii():
        return word.lower()
    bare = unicodedata.normalize("NFD", word.lower())
    return unicodedata.normalize("NFC", "".join(c for c in bare if not unicodedata.combining(c)))


def text_tokens(text: str) -> list[tuple[int, int, str]]:
    """Roughly how unicode61 cuts `text` into tokens: (start, end, folded token)."""
    return [(m.start(), m.end(), fold_term(m.group())) for m in _TOKEN.finditer(text)]


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _grams_query(runs: list[str]) -> str:
    """The notes_grams query for CJK/Thai runs: any run, as a phrase of its pairs."""
    phrases = []
    for run in runs:
        if len(run) == 1:
            phrases.append(_quoted(run) + "*")
        else:
            phrases.append(_quoted(" ".join(run[i : i + 2] for i in range(len(run) - 1))))
    return " OR ".join(phrases)


def _snippet(body_start: str) -> str:
    line = " ".join(body_start.split())
    if len(line) <= SNIPPET_CHARS:
        return line
    cut = line[:SNIPPET_CHARS]
    space = cut.rfind(" ")
    if space > SNIPPET_CHARS // 2:
        cut = cut[:space]
    return cut + "…"


class Store:
    def __init__(self, db_path: Path, *, clock: Callable[[], int] = now_ms) -> None:
        """Open (creating if needed) and migrate the database, then purge old trash.

        `clock` returns the time in milliseconds since the Unix epoch; tests pass
        their own to move time without sleeping.
        """
        self._clock = clock
        self._lock = threading.RLock()
        self._listeners: list[ChangeListener] = []
        # keyword_search's counts of notes per indexed term (see _notes_holding).
        self._term_notes: dict[str, int] = {}
        # Notes changed by the write transaction under way, for the listeners.
        self._touched: set[int] = set()
        self._path = db_path
        # Why writes fail (disk_full, read_only) until one goes through; see storage_problem.
        self._problem: StoreError | None = None
        try:
            conn = _open_writable(db_path)
        except migrations.SchemaTooNew as exc:
            raise StoreError("schema_too_new", str(exc)) from exc
        except sqlite3.Error as exc:
            problem = _storage_error(exc, db_path.parent)
            # A folder Margin may not write to, or a full disk: the notes can still be
            # read, and writes are tried again (storage_problem) until they work.
            reader = _open_read_only(db_path) if problem.code in WRITE_PROBLEMS else None
            if reader is None:
                said = problem.message if problem.code in WRITE_PROBLEMS else exc
                raise StoreError(problem.code, f"cannot open {db_path}: {said}") from exc
            log.warning("opened %s for reading only: %s", db_path, exc)
            conn, self._problem = reader, problem
        self._conn: sqlite3.Connection | None = conn
        self._read_only = self._problem is not None
        if self._read_only:
            return
        try:
            self._purge_trash()
        except StoreError as exc:
            if exc.code not in WRITE_PROBLEMS:
                self.close()
                raise
            log.warning("the trash was not purged: %s", exc.message)
        except BaseException:
            self.close()
            raise

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock; SQLite failures surface as StoreError."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise StoreError("closed", "the store is closed")
            self._touched = set()
            if write and self._read_only:
                conn = self._reopen_writable()
            try:
                # IMMEDIATE takes the write lock up front, so another process
                # holding it makes us wait (busy_timeout) instead of failing
                # half-way through.
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                error = _storage_error(exc, self._path.parent)
                if write and error.code in WRITE_PROBLEMS:
                    self._problem = error
                raise error from exc
            if write:
                self._problem = None
            touched, self._touched = sorted(self._touched), set()
            if touched:
                self._term_notes.clear()
                self._tell_listeners(touched)

    def watch(self, listener: ChangeListener) -> None:
        """Call `listener(note_ids)` after each write that changed what search sees of
        these notes: their text, trash state, `updated` time or vector (not their tags).

        It runs on the writing thread right after the commit, still under the
        store's lock, so listeners hear of changes one write at a time in commit
        order. A listener may read from the store but must not write to it. What it
        raises is logged, not passed to the writer, whose write has happened.
        """
        with self._lock:
            self._listeners.append(listener)

    def _tell_listeners(self, note_ids: list[int]) -> None:
        for listener in self._listeners:
            try:
                listener(note_ids)
            except Exception:
                log.exception("a store listener failed on notes %s", note_ids[:10])

    def storage_problem(self) -> StoreError | None:
        """Why writes fail now (disk_full, read_only), or None.

        After a failed write it tries again first, with a write that changes
        nothing: the schema version rewritten as it is still takes a new page in
        the log, as a save would.
        """
        with self._lock:
            if self._problem is None:
                return None
            try:
                with self._transaction(write=True) as conn:
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    conn.execute(f"PRAGMA user_version = {int(version)}")
            except StoreError as exc:
                if exc.code in WRITE_PROBLEMS:
                    return exc
                raise
            return None

    def _reopen_writable(self) -> sqlite3.Connection:
        """Trades the read-only connection for a writable one, once the folder allows it."""
        try:
            conn = _open_writable(self._path)
        except sqlite3.Error as exc:
            self._problem = _storage_error(exc, self._path.parent)
            raise self._problem from exc
        assert self._conn is not None
        self._conn.close()
        self._conn, self._read_only = conn, False
        self._term_notes.clear()
        log.info("%s can be written again", self._path)
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def replace_with(self, source: Path) -> None:
        """Replaces the whole database with the SQLite file `source` (a checked
        backup), then migrates it; the connection stays open.

        SQLite's backup API writes it in one transaction, so a failure leaves the
        database as it was. Listeners hear that every note before and after may
        have changed.
        """
        with self._lock:
            conn = self._conn
            if conn is None:
                raise StoreError("closed", "the store is closed")
            try:
                before = {row[0] for row in conn.execute("SELECT id FROM notes")}
                reader = sqlite3.connect(source.as_uri() + "?mode=ro", uri=True)
                # In WAL mode SQLite cannot take on the page size the copy brings.
                resize = (reader.execute("PRAGMA page_size").fetchone()
                          != conn.execute("PRAGMA page_size").fetchone())
                try:
                    if resize:
                        conn.execute("PRAGMA journal_mode = DELETE")
                    reader.backup(conn)
                finally:
                    reader.close()
                    if resize:
                        conn.execute("PRAGMA journal_mode = WAL")
                migrations.migrate(conn)
                after = {row[0] for row in conn.execute("SELECT id FROM notes")}
            except migrations.SchemaTooNew as exc:
                raise StoreError("schema_too_new", str(exc)) from exc
            except sqlite3.Error as exc:
                raise StoreError("storage", f"cannot restore {source.name}: {exc}") from exc
            self._term_notes.clear()
            self._tell_listeners(sorted(before | after))

    def schema_version(self) -> int:
        with self._transaction(write=False) as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]

    def _purge_trash(self) -> None:
        cutoff = self._clock() - TRASH_KEEP_MS
        with self._transaction(write=True) as conn:
            conn.execute(
                "DELETE FROM notes WHERE deleted IS NOT NULL AND deleted < ?", (cutoff,)
            )

    # Notes

    def create_note(
        self,
        title: str = "",
        body: str = "",
        source_url: str | None = None,
        tags: Iterable[str] = (),
    ) -> Note:
        """A new note; `tags` are linked with origin "user"."""
        title = _checked_text(title, "title")
        body = _checked_text(body, "body")
        source_url = _checked_url(source_url)
        if isinstance(tags, str):
            raise Invalid("tags must be a list of names, not one string")
        names = [clean_tag_name(name) for name in tags]
        now = self._clock()
        with self._transaction(write=True) as conn:
            note_id = conn.execute(
                "INSERT INTO notes (title, body, source_url, created, updated, content_hash)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (title, body, source_url, now, now, content_hash(title, body)),
            ).lastrowid
            assert note_id is not None
            for name in names:
                _link(conn, note_id, _tag_id_for(conn, name), "user", now)
            self._touched.add(note_id)
            return _read_note(conn, note_id)

    def get_note(self, note_id: int) -> Note:
        """The note; NotFound when the id is missing or in the trash."""
        note_id = _checked_id(note_id)
        with self._transaction(write=False) as conn:
            _require_live(conn, note_id)
            return _read_note(conn, note_id)

    def update_note(
        self,
        note_id: int,
        *,
        title: str | None = None,
        body: str | None = None,
        source_url: str | None | _Unchanged = UNCHANGED,
    ) -> Note:
        """Change the given fields; `updated` moves only when a value really changed.

        Tags are not content: changing them leaves `updated` (and the list order) alone.
        """
        note_id = _checked_id(note_id)
        if title is not None:
            title = _checked_text(title, "title")
        if body is not None:
            body = _checked_text(body, "body")
        if source_url is not UNCHANGED:
            source_url = _checked_url(source_url)
        with self._transaction(write=True) as conn:
            row = conn.execute(
                "SELECT title, body, source_url FROM notes WHERE id = ? AND deleted IS NULL",
                (note_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no note {note_id}")
            new_title = row[0] if title is None else title
            new_body = row[1] if body is None else body
            new_url = row[2] if source_url is UNCHANGED else source_url
            if (new_title, new_body, new_url) != row:
                conn.execute(
                    "UPDATE notes SET title = ?, body = ?, source_url = ?, content_hash = ?,"
                    " updated = ? WHERE id = ?",
                    (
                        new_title,
                        new_body,
                        new_url,
                        content_hash(new_title, new_body),
                        self._clock(),
                        note_id,
                    ),
                )
                self._touched.add(note_id)
            return _read_note(conn, note_id)

    def delete_note(self, note_id: int) -> None:
        """Move the note to the trash, keeping its tags and vector for undo_delete."""
        note_id = _checked_id(note_id)
        with self._transaction(write=True) as conn:
            moved = conn.execute(
                "UPDATE notes SET deleted = ? WHERE id = ? AND deleted IS NULL",
                (self._clock(), note_id),
            ).rowcount
            if not moved:
                raise NotFound(f"no note {note_id}")
            self._touched.add(note_id)

    def undo_delete(self, note_id: int) -> Note:
        """Bring a note back from the trash; NotFound if it is not there (or purged)."""
        note_id = _checked_id(note_id)
        with self._transaction(write=True) as conn:
            restored = conn.execute(
                "UPDATE notes SET deleted = NULL WHERE id = ? AND deleted IS NOT NULL",
                (note_id,),
            ).rowcount
            if not restored:
                raise NotFound(f"no note {note_id} in the trash")
            self._touched.add(note_id)
            return _read_note(conn, note_id)

    def list_notes(
        self, text: str = "", tag: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[Summary]:
        """Summaries of live notes, newest `updated` first.

        `text` filters through the full-text index (see fts_query): every word
        must match title or body, the last as a prefix. Any text is accepted;
        words of punctuation only are ignored, so a text made only of
        punctuation returns the unfiltered list. `tag` filters by tag name
        without regard to case; a blank `tag`, like None, means no tag filter.
        """
        text = _checked_text(text, "text")
        limit = _checked_count(limit, "limit")
        offset = _checked_count(offset, "offset")
        conditions = ["n.deleted IS NULL"]
        params: list[object] = []
        match = fts_query(text)
        if match:
            conditions.append("n.id IN (SELECT rowid FROM notes_fts WHERE notes_fts MATCH ?)")
            params.append(match)
        if tag is not None and _checked_text(tag, "tag").strip():
            conditions.append(
                "n.id IN (SELECT nt.note_id FROM note_tags AS nt"
                " JOIN tags AS t ON t.id = nt.tag_id WHERE t.fold = ?)"
            )
            params.append(_fold(clean_tag_name(tag)))
        sql = (
            "SELECT n.id, n.title, substr(n.body, 1, ?), n.updated FROM notes AS n"
            f" WHERE {' AND '.join(conditions)}"
            " ORDER BY n.updated DESC, n.id DESC LIMIT ? OFFSET ?"
        )
        with self._transaction(write=False) as conn:
            rows = conn.execute(sql, (_SNIPPET_SOURCE_CHARS, *params, limit, offset)).fetchall()
            tags = _tag_names_of(conn, [row[0] for row in rows])
        return [
            {
                "id": note_id,
                "title": title,
                "snippet": _snippet(body_start),
                "updated": updated,
                "tags": tags.get(note_id, []),
            }
            for note_id, title, body_start, updated in rows
        ]

    # Tags

    def add_tag(self, note_id: int, name: str, origin: str = "user") -> Note:
        """Link a tag, creating it if no tag of that name (ignoring case) exists.

        Adding a tag the note already has keeps the link; a "user" add upgrades
        an "accepted" link to "user".
        """
        note_id = _checked_id(note_id)
        name = clean_tag_name(name)
        origin = _checked_origin(origin)
        with self._transaction(write=True) as conn:
            _require_live(conn, note_id)
            _link(conn, note_id, _tag_id_for(conn, name), origin, self._clock())
            return _read_note(conn, note_id)

    def remove_tag(self, note_id: int, name: str) -> Note:
        """Unlink a tag (matched without regard to case); a tag the note lacks is no error.

        A tag that no note carries any more disappears.
        """
        note_id = _checked_id(note_id)
        fold = _fold(clean_tag_name(name))
        with self._transaction(write=True) as conn:
            _require_live(conn, note_id)
            conn.execute(
                "DELETE FROM note_tags WHERE note_id = ?"
                " AND tag_id = (SELECT id FROM tags WHERE fold = ?)",
                (note_id, fold),
            )
            return _read_note(conn, note_id)

    def list_tags(self) -> list[TagCount]:
        """Tags on at least one live note, with how many; sorted ignoring case and accents."""
        with self._transaction(write=False) as conn:
            # All links minus links from the trash: counting from the index alone
            # and visiting only trashed notes is many times faster than checking
            # each linked note (CROSS JOIN keeps the trash index driving).
            rows = conn.execute(
                "WITH linked AS (SELECT tag_id, count(*) AS links FROM note_tags GROUP BY tag_id),"
                " trashed AS (SELECT nt.tag_id, count(*) AS links"
                " FROM notes AS n CROSS JOIN note_tags AS nt ON nt.note_id = n.id"
                " WHERE n.deleted IS NOT NULL GROUP BY nt.tag_id)"
                " SELECT t.name, linked.links - coalesce(trashed.links, 0) AS live"
                " FROM tags AS t JOIN linked ON linked.tag_id = t.id"
                " LEFT JOIN trashed ON trashed.tag_id = t.id"
                " WHERE live > 0"
            ).fetchall()
        rows.sort(key=lambda row: _tag_sort_key(row[0]))
        return [{"name": name, "count": count} for name, count in rows]

    def rename_tag(self, old: str, new: str) -> None:
        """Rename a tag everywhere, merging it into another tag that already has the name.

        The tag ends up spelled exactly as `new`. In a merge a note that had both
        keeps one link: "user" if either link was, added at the earlier time.
        """
        new = clean_tag_name(new)
        old_fold = _fold(clean_tag_name(old))
        new_fold = _fold(new)
        with self._transaction(write=True) as conn:
            row = conn.execute("SELECT id FROM tags WHERE fold = ?", (old_fold,)).fetchone()
            if row is None:
                raise NotFound(f"no tag {old!r}")
            old_id = row[0]
            _rename_feedback(conn, old_fold, new)
            target = conn.execute("SELECT id FROM tags WHERE fold = ?", (new_fold,)).fetchone()
            if target is None or target[0] == old_id:
                conn.execute(
                    "UPDATE tags SET name = ?, fold = ? WHERE id = ?", (new, new_fold, old_id)
                )
                return
            new_id = target[0]
            conn.execute(
                "INSERT INTO note_tags (note_id, tag_id, origin, added)"
                " SELECT note_id, ?, origin, added FROM note_tags WHERE tag_id = ?"
                " ON CONFLICT (note_id, tag_id) DO UPDATE SET"
                " origin = CASE WHEN excluded.origin = 'user' THEN 'user'"
                " ELSE note_tags.origin END,"
                " added = min(note_tags.added, excluded.added)",
                (new_id, old_id),
            )
            # The old tag row goes with its last link (note_tags_drop_orphan_tag).
            conn.execute("DELETE FROM note_tags WHERE tag_id = ?", (old_id,))
            conn.execute("UPDATE tags SET name = ? WHERE id = ?", (new, new_id))

    # Embeddings

    def put_embedding(
        self, note_id: int, vector: bytes, model_id: str, content_hash: str
    ) -> bool:
        """Keep a note's vector (float32 little-endian, 512-d).

        Returns False and keeps nothing when `content_hash` is not the note's
        current hash: the vector was computed from text that has since changed.
        """
        [stored] = self.put_embeddings(model_id, [(note_id, vector, content_hash)])
        if stored is None:
            raise NotFound(f"no note {note_id}")
        return stored

    def put_embeddings(
        self, model_id: str, items: Iterable[tuple[int, bytes, str]]
    ) -> list[bool | None]:
        """put_embedding for many notes (note id, vector, content hash) in one
        transaction. For each: True (kept), False (its text changed since), or None
        (the note is missing or in the trash)."""
        checked = [
            (_checked_id(note_id), _checked_vector(vector), _checked_text(digest, "content_hash"))
            for note_id, vector, digest in items
        ]
        model_id = _checked_text(model_id, "model_id")
        if not model_id:
            raise Invalid("model_id must not be empty")
        kept: list[bool | None] = []
        with self._transaction(write=True) as conn:
            for note_id, vector, digest in checked:
                current = _text_is_current(conn, note_id, digest)
                kept.append(current)
                if not current:
                    continue
                conn.execute(
                    "INSERT INTO embeddings (note_id, model_id, content_hash, vector)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (note_id) DO UPDATE SET"
                    " model_id = excluded.model_id, content_hash = excluded.content_hash,"
                    " vector = excluded.vector",
                    (note_id, model_id, digest, vector),
                )
                self._touched.add(note_id)
        return kept

    def get_embedding(self, note_id: int) -> Embedding | None:
        """The note's stored vector (maybe stale), None if it has none; NotFound like get_note."""
        note_id = _checked_id(note_id)
        with self._transaction(write=False) as conn:
            _require_live(conn, note_id)
            row = conn.execute(
                "SELECT vector, model_id, content_hash FROM embeddings WHERE note_id = ?",
                (note_id,),
            ).fetchone()
        if row is None:
            return None
        return {"vector": row[0], "model_id": row[1], "content_hash": row[2]}

    def notes_needing_embedding(self, model_id: str, limit: int = 100) -> list[EmbeddingJob]:
        """Live notes whose vector is missing, from another model or of older text; newest first."""
        model_id = _checked_text(model_id, "model_id")
        limit = _checked_count(limit, "limit")
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT n.id, n.title, n.body, n.content_hash FROM notes AS n"
                " LEFT JOIN embeddings AS e ON e.note_id = n.id"
                " WHERE n.deleted IS NULL AND (e.note_id IS NULL OR e.model_id != ?"
                " OR e.content_hash != n.content_hash)"
                " ORDER BY n.updated DESC, n.id DESC LIMIT ?",
                (model_id, limit),
            ).fetchall()
        return [
            {"id": note_id, "text": content_text(title, body), "content_hash": digest}
            for note_id, title, body, digest in rows
        ]

    # Search support (desktop/search.py)

    def keyword_search(
        self,
        text: str,
        *,
        tag: str | None = None,
        updated_from: int | None = None,
        updated_to: int | None = None,
        limit: int = 100,
    ) -> list[KeywordHit]:
        """Live notes holding words of `text`, best first; `score` is BM25 (higher is better).

        Any word may match, so a sentence finds the notes sharing some of its
        words, and notes with more and rarer ones rank higher; title words weigh
        TITLE_WEIGHT times as much. The last word also matches as a prefix (from
        MIN_PREFIX_CHARS characters on), as the text may still be being typed.
        Words are chosen as _choose_words says: common words are left out, and
        a query of only common words finds the newest notes holding all of them.
        Runs of CJK or Thai also match inside longer runs, through notes_grams.
        `tag` filters as in list_notes; `updated_from` and `updated_to` bound
        `updated` (inclusive, ms).
        """
        text = _checked_text(text, "text")
        limit = _checked_count(limit, "limit")
        bounds = (
            _checked_time(updated_from, "updated_from"),
            _checked_time(updated_to, "updated_to"),
        )
        words = query_words(text)
        runs = list(dict.fromkeys(migrations.unspaced_runs(text)))[:MAX_KEYWORD_WORDS]
        if not (words or runs) or not limit:
            return []
        with self._transaction(write=False) as conn:
            conditions, params = [], []
            if tag is not None and _checked_text(tag, "tag").strip():
                row = conn.execute(
                    "SELECT id FROM tags WHERE fold = ?", (_fold(clean_tag_name(tag)),)
                ).fetchone()
                if row is None:
                    return []
                conditions.append(
                    "EXISTS (SELECT 1 FROM note_tags WHERE note_id = f.rowid AND tag_id = ?)"
                )
                params.append(row[0])
            for bound, test in zip(bounds, (">=", "<="), strict=True):
                if bound is not None:
                    conditions.append(f"(SELECT updated FROM notes WHERE id = f.rowid) {test} ?")
                    params.append(bound)
            where = " AND ".join(["{table} MATCH ?", *conditions])
            scores: dict[int, float] = {}
            if words:
                chosen = self._choose_words(conn, words)
                if chosen:
                    match, order = " OR ".join(chosen), "rank"
                else:
                    match, order = " AND ".join(_phrases(words)), "f.rowid DESC"
                _add_bm25(conn, "notes_fts", f"{TITLE_WEIGHT}, 1.0", match, where, params,
                          order, limit, scores)
            if runs:
                # Pairs of characters are selective; the newest matches stand for all.
                _add_bm25(conn, "notes_grams", "1.0", _grams_query(runs), where, params,
                          "f.rowid DESC", MAX_SCORED_NOTES, scores)
        # Equal scores: the newer note (higher id) first.
        best = sorted(scores.items(), key=lambda item: (-item[1], -item[0]))[:limit]
        return [{"id": note_id, "score": score} for note_id, score in best]

    def _choose_words(self, conn: sqlite3.Connection, words: list[str]) -> list[str]:
        """The phrases keyword_search ranks by: rare ones, in at most MAX_SCORED_NOTES notes.

        Of the MAX_KEYWORD_WORDS longest distinct words, phrases are taken rarest
        first while the notes holding them add up to no more than MAX_SCORED_NOTES
        (counted from the index's vocabulary; a phrase counts as its rarest token,
        a prefix as all its words). A word in no note costs nothing and is kept,
        in case the vocabulary spells it differently. Common words add little to
        BM25 but cost the most, so they are what gets left out; [] when every
        word is common.
        """
        phrases = _phrases(words)
        typed = phrases[-1]
        tokens = {
            phrase: [token for _, _, token in text_tokens(phrase)]
            for phrase in sorted(phrases, key=len, reverse=True)[:MAX_KEYWORD_WORDS]
        }
        prefix = tokens[typed][-1] if typed.endswith("*") and tokens.get(typed) else None
        held = self._notes_holding(conn, {t for parts in tokens.values() for t in parts}, prefix)
        notes: dict[str, int] = {}
        for phrase, parts in tokens.items():
            if parts:
                counts = [held[t] for t in parts[:-1]]
                counts.append(held[prefix + "*"] if phrase == typed and prefix else held[parts[-1]])
                notes[phrase] = min(counts)
        chosen, total = [], 0
        for phrase in sorted(notes, key=notes.__getitem__):
            if total + notes[phrase] > MAX_SCORED_NOTES:
                break
            chosen.append(phrase)
            total += notes[phrase]
        return chosen

    def _notes_holding(
        self, conn: sqlite3.Connection, terms: set[str], prefix: str | None
    ) -> dict[str, int]:
        """How many live notes hold each term, and (as prefix + "*") any term with the prefix.

        Counting reads a term's whole list of notes, so counts are kept until the
        next change to a note (they only steer which words to rank by).
        """
        cache = self._term_notes
        if len(cache) > _TERM_CACHE_SIZE:
            cache.clear()
        missing = sorted(terms - cache.keys())
        if missing:
            found = dict(
                conn.execute(
                    "SELECT term, doc FROM temp.notes_vocab"
                    f" WHERE term IN ({','.join('?' * len(missing))})",
                    missing,
                ).fetchall()
            )
            cache.update((term, found.get(term, 0)) for term in missing)
        if prefix is not None and prefix + "*" not in cache:
            # Every term that starts with the prefix sorts between these two.
            row = conn.execute(
                "SELECT sum(doc) FROM temp.notes_vocab WHERE term >= ? AND term < ?",
                (prefix, prefix + "\U0010ffff"),
            ).fetchone()
            cache[prefix + "*"] = row[0] or 0
        return cache

    def vector_rows(self, model_id: str, *, after_id: int = 0, limit: int = 1000) -> VectorRows:
        """Current vectors of `model_id` of live notes with ids above `after_id`, by id.

        A vector computed from an older text of its note is left out. `vectors`
        holds the float32 vectors one after another, in the order of `ids`.
        """
        model_id = _checked_text(model_id, "model_id")
        after_id = _checked_id(after_id)
        limit = _checked_count(limit, "limit")
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                _CURRENT_VECTORS + " AND e.note_id > ? ORDER BY e.note_id LIMIT ?",
                (model_id, after_id, limit),
            ).fetchall()
        return _vector_rows(rows)

    def vector_rows_of(self, model_id: str, note_ids: Iterable[int]) -> VectorRows:
        """As vector_rows, for the given notes (those without a current vector left out)."""
        model_id = _checked_text(model_id, "model_id")
        wanted = sorted({_checked_id(note_id) for note_id in note_ids})
        rows: list[tuple[int, int, bytes]] = []
        with self._transaction(write=False) as conn:
            for start in range(0, len(wanted), _IDS_PER_QUERY):
                part = wanted[start : start + _IDS_PER_QUERY]
                rows += conn.execute(
                    _CURRENT_VECTORS
                    + f" AND e.note_id IN ({','.join('?' * len(part))}) ORDER BY e.note_id",
                    (model_id, *part),
                ).fetchall()
        return _vector_rows(rows)

    def tagged_note_ids(self, tag: str) -> list[int]:
        """Ids of the notes carrying `tag` (matched without regard to case), trash included.

        The trash stays in: leaving it out costs a look at every note, and the
        caller (search) only holds live notes anyway.
        """
        fold = _fold(clean_tag_name(tag))
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT nt.note_id FROM tags AS t JOIN note_tags AS nt ON nt.tag_id = t.id"
                " WHERE t.fold = ?",
                (fold,),
            ).fetchall()
        return [row[0] for row in rows]

    def get_notes(self, note_ids: Iterable[int]) -> list[Note]:
        """The live notes among `note_ids`, in that order (missing and trashed ones left out)."""
        wanted = [_checked_id(note_id) for note_id in note_ids]
        with self._transaction(write=False) as conn:
            live = set()
            for start in range(0, len(wanted), _IDS_PER_QUERY):
                part = wanted[start : start + _IDS_PER_QUERY]
                live.update(
                    row[0]
                    for row in conn.execute(
                        f"SELECT id FROM notes WHERE id IN ({','.join('?' * len(part))})"
                        " AND deleted IS NULL",
                        part,
                    )
                )
            return [_read_note(conn, i) for i in dict.fromkeys(wanted) if i in live]


    # Tag suggestions

    def accept_suggestion(
        self, note_id: int, name: str, source: str, confidence: float | None
    ) -> Note:
        """Links a suggested tag with origin "accepted" and records the acceptance."""
        note_id = _checked_id(note_id)
        name = clean_tag_name(name)
        feedback = _checked_feedback(source, confidence)
        now = self._clock()
        with self._transaction(write=True) as conn:
            _require_live(conn, note_id)
            _link(conn, note_id, _tag_id_for(conn, name), "accepted", now)
            _add_feedback(conn, note_id, name, "accepted", feedback, now)
            return _read_note(conn, note_id)

    def reject_suggestion(
        self, note_id: int, name: str, source: str, confidence: float | None
    ) -> None:
        """Records that the user does not want `name` suggested for this note."""
        note_id = _checked_id(note_id)
        name = clean_tag_name(name)
        feedback = _checked_feedback(source, confidence)
        with self._transaction(write=True) as conn:
            _require_live(conn, note_id)
            _add_feedback(conn, note_id, name, "rejected", feedback, self._clock())

    def rejected_tags(self, note_id: int) -> list[str]:
        """Tags whose latest feedback for this note is a rejection, once each ignoring case."""
        note_id = _checked_id(note_id)
        with self._transaction(write=False) as conn:
            _require_live(conn, note_id)
            rows = conn.execute(
                "SELECT tag, state FROM suggestion_feedback WHERE note_id = ? ORDER BY at, id",
                (note_id,),
            ).fetchall()
        return _rejected(rows)

    def tag_names_of(self, note_ids: Iterable[int]) -> dict[int, list[str]]:
        """Each given note's tag names, for the notes that have any."""
        ids = _checked_ids(note_ids)
        names: dict[int, list[str]] = {}
        with self._transaction(write=False) as conn:
            for part in _parts(ids):
                names.update(_tag_names_of(conn, part))
        return names

    def existing_tag_names(self, names: Iterable[str]) -> dict[str, str]:
        """For each given name that is a tag already (ignoring case): its fold -> the
        tag's own spelling."""
        folds = sorted({tag_fold(name) for name in names})
        found: dict[str, str] = {}
        with self._transaction(write=False) as conn:
            for start in range(0, len(folds), _IDS_PER_QUERY):
                part = folds[start : start + _IDS_PER_QUERY]
                found.update(
                    conn.execute(
                        f"SELECT fold, name FROM tags WHERE fold IN ({_marks(part)})", part
                    ).fetchall()
                )
        return found

    def put_many_tag_suggestions(
        self, tagger: str, items: Iterable[tuple[int, str, list[dict[str, object]]]]
    ) -> list[bool | None]:
        """Keeps what `tagger` suggested for notes (note id, content hash, suggestions)
        in one transaction: a background batch's are kept at once. For each: True
        (kept), False (its text changed since: nothing kept), or None (the note is
        missing or in the trash)."""
        tagger = _checked_text(tagger, "tagger")
        checked = []
        for note_id, content_hash, suggestions in items:
            try:
                encoded = json.dumps(suggestions, ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise Invalid(f"suggestions must be plain JSON data: {exc}") from None
            checked.append((_checked_id(note_id), _checked_text(content_hash, "content_hash"),
                            encoded))
        kept: list[bool | None] = []
        with self._transaction(write=True) as conn:
            for note_id, content_hash, encoded in checked:
                current = _text_is_current(conn, note_id, content_hash)
                kept.append(current)
                if not current:
                    continue
                conn.execute(
                    "INSERT INTO tag_suggestions (note_id, content_hash, tagger, suggestions)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (note_id) DO UPDATE SET"
                    " content_hash = excluded.content_hash, tagger = excluded.tagger,"
                    " suggestions = excluded.suggestions",
                    (note_id, content_hash, tagger, encoded),
                )
        return kept

    def get_tag_suggestions(self, note_id: int) -> StoredSuggestions | None:
        """The note's stored suggestions (maybe of older text), None if it has none."""
        note_id = _checked_id(note_id)
        with self._transaction(write=False) as conn:
            _require_live(conn, note_id)
            row = conn.execute(
                "SELECT content_hash, tagger, suggestions FROM tag_suggestions WHERE note_id = ?",
                (note_id,),
            ).fetchone()
        if row is None:
            return None
        return {"content_hash": row[0], "tagger": row[1], "suggestions": json.loads(row[2])}

    def notes_needing_suggestions(
        self, model_id: str, tagger: str, limit: int = 100
    ) -> SuggestionJobs:
        """Live notes with a current vector of `model_id` whose suggestions are missing,
        of older text or from another tagger; newest first."""
        model_id = _checked_text(model_id, "model_id")
        tagger = _checked_text(tagger, "tagger")
        limit = _checked_count(limit, "limit")
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT n.id, n.content_hash, e.vector" + _NEEDING_SUGGESTIONS
                + " ORDER BY n.updated DESC, n.id DESC LIMIT ?",
                (model_id, tagger, limit),
            ).fetchall()
        return {
            "ids": [row[0] for row in rows],
            "hashes": [row[1] for row in rows],
            "vectors": b"".join(row[2] for row in rows),
        }

    def count_needing_suggestions(self, model_id: str, tagger: str, cap: int) -> int:
        """How many notes notes_needing_suggestions would list, counting at most `cap`."""
        model_id = _checked_text(model_id, "model_id")
        tagger = _checked_text(tagger, "tagger")
        cap = _checked_count(cap, "cap")
        with self._transaction(write=False) as conn:
            return conn.execute(
                "SELECT count(*) FROM (SELECT 1" + _NEEDING_SUGGESTIONS + " LIMIT ?)",
                (model_id, tagger, cap),
            ).fetchone()[0]

    def personal_examples(self, model_id: str) -> list[PersonalExample]:
        """Live notes with a current vector of `model_id` that carry a tag or had a
        suggestion rejected, by id: what the personal head is trained on."""
        model_id = _checked_text(model_id, "model_id")
        with self._transaction(write=False) as conn:
            notes = conn.execute(
                "SELECT n.id, n.content_hash FROM notes AS n"
                " JOIN embeddings AS e ON e.note_id = n.id"
                " WHERE n.deleted IS NULL AND e.model_id = ? AND e.content_hash = n.content_hash"
                " AND (EXISTS (SELECT 1 FROM note_tags WHERE note_id = n.id)"
                " OR EXISTS (SELECT 1 FROM suggestion_feedback"
                " WHERE state = 'rejected' AND note_id = n.id))"
                " ORDER BY n.id",
                (model_id,),
            ).fetchall()
            tags: dict[int, list[str]] = {}
            for note_id, name in conn.execute(
                "SELECT nt.note_id, t.name FROM note_tags AS nt JOIN tags AS t ON t.id = nt.tag_id"
                " ORDER BY nt.note_id, t.fold"
            ):
                tags.setdefault(note_id, []).append(name)
            feedback: dict[int, list[tuple[str, str]]] = {}
            for note_id, name, state in conn.execute(
                "SELECT note_id, tag, state FROM suggestion_feedback WHERE note_id IN"
                " (SELECT note_id FROM suggestion_feedback WHERE state = 'rejected')"
                " ORDER BY note_id, at, id"
            ):
                feedback.setdefault(note_id, []).append((name, state))
        return [
            {
                "id": note_id,
                "content_hash": digest,
                "tags": tags.get(note_id, []),
                "rejected": _rejected(feedback.get(note_id, [])),
            }
            for note_id, digest in notes
        ]

    def put_personal_head(
        self, model_id: str, signature: str, labels: list[str], weights: bytes
    ) -> None:
        """Keeps the personal head (replacing the one kept before)."""
        model_id = _checked_text(model_id, "model_id")
        signature = _checked_text(signature, "signature")
        labels = [clean_tag_name(label) for label in labels]
        if not isinstance(weights, bytes | bytearray | memoryview):
            raise Invalid("the head's weights must be bytes")
        with self._transaction(write=True) as conn:
            conn.execute(
                "INSERT INTO personal_head (id, model_id, signature, labels, weights, trained)"
                " VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " model_id = excluded.model_id, signature = excluded.signature,"
                " labels = excluded.labels, weights = excluded.weights,"
                " trained = excluded.trained",
                (model_id, signature, json.dumps(labels, ensure_ascii=False), bytes(weights),
                 self._clock()),
            )

    def delete_personal_head(self) -> None:
        with self._transaction(write=True) as conn:
            conn.execute("DELETE FROM personal_head")

    def get_personal_head(self) -> PersonalHead | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(
                "SELECT model_id, signature, labels, weights, trained FROM personal_head"
            ).fetchone()
        if row is None:
            return None
        return {
            "model_id": row[0],
            "signature": row[1],
            "labels": json.loads(row[2]),
            "weights": row[3],
            "trained": row[4],
        }

    # Imports, exports and changes to many notes at once

    def begin_import(self, source: str, format: str) -> ImportJob:
        """The import of `source` in `format`: the latest one if it never finished
        (cancelled or cut short), resumed with the items it has done; else a new one."""
        source = _checked_text(source, "source")
        format = _checked_text(format, "format")
        with self._transaction(write=True) as conn:
            row = conn.execute(
                "SELECT id, state FROM import_jobs WHERE source = ? AND format = ?"
                " ORDER BY id DESC LIMIT 1",
                (source, format),
            ).fetchone()
            if row is not None and row[1] != "done":
                return _resumed_import(conn, row[0], source, format)
            job_id = conn.execute(
                "INSERT INTO import_jobs (source, format, state, started)"
                " VALUES (?, ?, 'running', ?)",
                (source, format, self._clock()),
            ).lastrowid
            assert job_id is not None
            return {"id": job_id, "source": source, "format": format, "resumed": False, "done": []}

    def record_import(self, job_id: int, entries: Sequence[ImportEntry]) -> list[str]:
        """Imports a batch of an import job's entries in one transaction.

        Each entry's outcome, in order: "imported"; "duplicate" when a live note
        has the same content hash (one imported earlier in the batch included);
        "failed" for an entry without a note, or with a note the store refuses
        (its reason is kept); "done" for an item this job already recorded.
        A failed entry never stops the others.
        """
        job_id = _checked_id(job_id)
        checked: list[tuple[str, ImportedNote | None, str | None]] = []
        for entry in entries:
            item = _checked_text(entry["item"], "item")
            note, reason = entry["note"], entry["reason"]
            if note is not None:
                try:
                    note = _checked_import(note)
                except Invalid as e:
                    note, reason = None, e.message
            checked.append((item, note, reason or (None if note else "unreadable")))
        outcomes: list[str] = []
        with self._transaction(write=True) as conn:
            if conn.execute("SELECT 1 FROM import_jobs WHERE id = ?", (job_id,)).fetchone() is None:
                raise NotFound(f"no import job {job_id}")
            for item, note, reason in checked:
                seen = conn.execute(
                    "SELECT 1 FROM import_items WHERE job_id = ? AND item = ?", (job_id, item)
                ).fetchone()
                if seen is not None:
                    outcomes.append("done")
                    continue
                if note is None:
                    outcome = "failed"
                elif _live_note_with_hash(conn, content_hash(note["title"], note["body"])):
                    outcome, reason = "duplicate", None
                else:
                    self._touched.add(_insert_imported(conn, note))
                    outcome, reason = "imported", None
                conn.execute(
                    "INSERT INTO import_items (job_id, item, outcome, reason) VALUES (?, ?, ?, ?)",
                    (job_id, item, outcome, reason),
                )
                outcomes.append(outcome)
        return outcomes

    def resume_import(self, job_id: int) -> ImportJob:
        """Unfinished import job `job_id` again, with the items it has done."""
        job_id = _checked_id(job_id)
        with self._transaction(write=True) as conn:
            row = conn.execute(
                "SELECT source, format FROM import_jobs WHERE id = ? AND state != 'done'",
                (job_id,),
            ).fetchone()
            if row is None:
                raise NotFound(f"no unfinished import job {job_id}")
            return _resumed_import(conn, job_id, row[0], row[1])

    def unfinished_imports(self) -> list[UnfinishedImport]:
        """Import jobs that never finished, newest first."""
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT j.id, j.source, j.format, j.state, j.started, count(i.item),"
                " coalesce(sum(i.outcome = 'imported'), 0)"
                " FROM import_jobs AS j LEFT JOIN import_items AS i ON i.job_id = j.id"
                " WHERE j.state != 'done' GROUP BY j.id ORDER BY j.id DESC"
            ).fetchall()
        return [
            {
                "id": row[0], "source": row[1], "format": row[2], "state": row[3],
                "started": row[4], "done": row[5], "imported": row[6],
            }
            for row in rows
        ]

    def discard_import(self, job_id: int) -> None:
        """Forgets unfinished import job `job_id` and its record of items (the notes it
        brought in stay): it is offered no more, and importing its source again starts
        a new job, which skips those notes as duplicates by content hash."""
        job_id = _checked_id(job_id)
        with self._transaction(write=True) as conn:
            # import_items go with it (ON DELETE CASCADE).
            gone = conn.execute(
                "DELETE FROM import_jobs WHERE id = ? AND state != 'done'", (job_id,)
            ).rowcount
            if not gone:
                raise NotFound(f"no unfinished import job {job_id}")

    def finish_import(self, job_id: int, state: Literal["cancelled", "done"]) -> None:
        """Marks the job cancelled (a later import of its source resumes it) or done."""
        job_id = _checked_id(job_id)
        if state not in ("cancelled", "done"):
            raise Invalid("an import ends cancelled or done")
        with self._transaction(write=True) as conn:
            changed = conn.execute(
                "UPDATE import_jobs SET state = ?, finished = ? WHERE id = ?",
                (state, self._clock(), job_id),
            ).rowcount
            if not changed:
                raise NotFound(f"no import job {job_id}")

    def import_tally(self, job_id: int) -> ImportTally:
        """What the job has done over all its runs; failures by item."""
        job_id = _checked_id(job_id)
        with self._transaction(write=False) as conn:
            counts = dict(
                conn.execute(
                    "SELECT outcome, count(*) FROM import_items WHERE job_id = ? GROUP BY outcome",
                    (job_id,),
                ).fetchall()
            )
            failures = conn.execute(
                "SELECT item, reason FROM import_items WHERE job_id = ? AND outcome = 'failed'"
                " ORDER BY item",
                (job_id,),
            ).fetchall()
        return {
            "imported": counts.get("imported", 0),
            "duplicates": counts.get("duplicate", 0),
            "failed": counts.get("failed", 0),
            "failures": [{"item": item, "reason": reason} for item, reason in failures],
        }

    def export_notes(self, *, after_id: int = 0, limit: int = 500) -> list[ExportedNote]:
        """Live notes with ids above `after_id`, by id, with their kept front matter
        and suggestion feedback: everything an export writes."""
        after_id = _checked_count(after_id, "after_id")
        limit = _checked_count(limit, "limit")
        with self._transaction(write=False) as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM notes WHERE id > ? AND deleted IS NULL ORDER BY id LIMIT ?",
                    (after_id, limit),
                )
            ]
            return [_read_exported(conn, note_id) for note_id in ids]

    def export_note(self, note_id: int) -> ExportedNote:
        """One note as export_notes gives it; NotFound like get_note."""
        note_id = _checked_id(note_id)
        with self._transaction(write=False) as conn:
            _require_live(conn, note_id)
            return _read_exported(conn, note_id)

    def add_tag_to_notes(self, note_ids: Iterable[int], name: str, origin: str = "user") -> int:
        """add_tag for many notes in one transaction; missing and trashed ids are
        left out. Returns how many live notes carry the tag now."""
        ids = _checked_ids(note_ids)
        name = clean_tag_name(name)
        origin = _checked_origin(origin)
        now = self._clock()
        with self._transaction(write=True) as conn:
            live = _live_ids(conn, ids)
            if live:
                tag_id = _tag_id_for(conn, name)
                for note_id in live:
                    _link(conn, note_id, tag_id, origin, now)
            return len(live)

    def remove_tag_from_notes(self, note_ids: Iterable[int], name: str) -> int:
        """remove_tag for many notes in one transaction; returns how many live notes had it."""
        ids = _checked_ids(note_ids)
        fold = _fold(clean_tag_name(name))
        with self._transaction(write=True) as conn:
            row = conn.execute("SELECT id FROM tags WHERE fold = ?", (fold,)).fetchone()
            if row is None:
                return 0
            removed = 0
            for part in _parts(_live_ids(conn, ids)):
                removed += conn.execute(
                    f"DELETE FROM note_tags WHERE tag_id = ? AND note_id IN ({_marks(part)})",
                    (row[0], *part),
                ).rowcount
            return removed

    def delete_notes(self, note_ids: Iterable[int]) -> list[int]:
        """delete_note for many notes in one transaction; returns the ids moved to the trash."""
        ids = _checked_ids(note_ids)
        with self._transaction(write=True) as conn:
            live = _live_ids(conn, ids)
            now = self._clock()
            for part in _parts(live):
                conn.execute(
                    f"UPDATE notes SET deleted = ? WHERE id IN ({_marks(part)})", (now, *part)
                )
            self._touched.update(live)
            return live

    def undo_delete_notes(self, note_ids: Iterable[int]) -> list[int]:
        """undo_delete for many notes in one transaction; returns the ids brought back."""
        ids = _checked_ids(note_ids)
        restored: list[int] = []
        with self._transaction(write=True) as conn:
            for part in _parts(ids):
                restored += [
                    row[0]
                    for row in conn.execute(
                        f"UPDATE notes SET deleted = NULL WHERE id IN ({_marks(part)})"
                        " AND deleted IS NOT NULL RETURNING id",
                        part,
                    )
                ]
            self._touched.update(restored)
        return sorted(restored)

# The notes notes_needing_suggestions lists: (model_id, tagger) as parameters.
_NEEDING_SUGGESTIONS = (
    " FROM notes AS n JOIN embeddings AS e ON e.note_id = n.id"
    " LEFT JOIN tag_suggestions AS s ON s.note_id = n.id"
    " WHERE n.deleted IS NULL AND e.model_id = ? AND e.content_hash = n.content_hash"
    " AND (s.note_id IS NULL OR s.content_hash != n.content_hash OR s.tagger != ?)"
)


def _checked_feedback(source: object, confidence: object) -> tuple[str, float | None]:
    source = _checked_text(source, "a suggestion's source")
    if confidence is None:
        return source, None
    if not isinstance(confidence, int | float) or isinstance(confidence, bool):
        raise Invalid("a suggestion's confidence must be a number or None")
    return source, float(confidence)


def _add_feedback(
    conn: sqlite3.Connection,
    note_id: int,
    name: str,
    state: str,
    feedback: tuple[str, float | None],
    now: int,
) -> None:
    conn.execute(
        "INSERT INTO suggestion_feedback (note_id, tag, state, source, confidence, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (note_id, name, state, *feedback, now),
    )


def _rejected(rows: Iterable[tuple[str, str]]) -> list[str]:
    """Of (tag, state) rows oldest first: the tags whose latest state is "rejected"."""
    latest: dict[str, tuple[str, str]] = {}
    for name, state in rows:
        fold = _fold(name)
        latest.pop(fold, None)  # re-inserted, so the order is of the latest feedback
        latest[fold] = (name, state)
    return [name for name, state in latest.values() if state == "rejected"]


# Live notes' vectors whose content hash is still the note's.
_CURRENT_VECTORS = (
    "SELECT e.note_id, n.updated, e.vector FROM embeddings AS e"
    " JOIN notes AS n ON n.id = e.note_id"
    " WHERE n.deleted IS NULL AND e.model_id = ? AND e.content_hash = n.content_hash"
)
# Well under SQLite's limit on bound parameters.
_IDS_PER_QUERY = 500


def _vector_rows(rows: list[tuple[int, int, bytes]]) -> VectorRows:
    return {
        "ids": [row[0] for row in rows],
        "updated": [row[1] for row in rows],
        "vectors": b"".join(row[2] for row in rows),
    }


def _checked_time(value: object, field: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"{field} must be a time in milliseconds or None")
    return value


def _phrases(words: list[str]) -> list[str]:
    """FTS5 phrases for `words`, repeats removed, the last a prefix if long enough."""
    *others, last = words
    distinct: dict[str, str] = {}
    for word in others:
        distinct.setdefault(fold_term(word), word)
    distinct.pop(fold_term(last), None)
    phrases = [_quoted(word) for word in distinct.values()]
    tokens = text_tokens(last)
    prefix = bool(tokens) and len(tokens[-1][2]) >= MIN_PREFIX_CHARS
    return [*phrases, _quoted(last) + ("*" if prefix else "")]


def _add_bm25(
    conn: sqlite3.Connection,
    table: str,
    weights: str,
    match: str,
    where: str,
    params: list[object],
    order: str,
    limit: int,
    scores: dict[int, float],
) -> None:
    """Adds -BM25 of the first `limit` matches in `order` to `scores`."""
    rows = conn.execute(
        f"SELECT f.rowid, bm25({table}, {weights}) AS rank FROM {table} AS f"
        f" WHERE {where.format(table=table)} ORDER BY {order} LIMIT ?",
        (match, *params, limit),
    ).fetchall()
    for note_id, rank in rows:
        scores[note_id] = scores.get(note_id, 0.0) - rank


def _require_live(conn: sqlite3.Connection, note_id: int) -> str:
    """The live note's content hash; NotFound when it is missing or in the trash."""
    row = conn.execute(
        "SELECT content_hash FROM notes WHERE id = ? AND deleted IS NULL", (note_id,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no note {note_id}")
    return row[0]


def _text_is_current(conn: sqlite3.Connection, note_id: int, content_hash: str) -> bool | None:
    """True when the live note's text has this content hash, False when it has
    changed since, None when the note is missing or in the trash."""
    row = conn.execute(
        "SELECT content_hash FROM notes WHERE id = ? AND deleted IS NULL", (note_id,)
    ).fetchone()
    return None if row is None else row[0] == content_hash


def _read_note(conn: sqlite3.Connection, note_id: int) -> Note:
    row = conn.execute(
        "SELECT title, body, source_url, created, updated, content_hash FROM notes WHERE id = ?",
        (note_id,),
    ).fetchone()
    tags = conn.execute(
        "SELECT t.name, nt.origin, nt.added FROM note_tags AS nt"
        " JOIN tags AS t ON t.id = nt.tag_id WHERE nt.note_id = ? ORDER BY nt.added, t.fold",
        (note_id,),
    ).fetchall()
    return {
        "id": note_id,
        "title": row[0],
        "body": row[1],
        "source_url": row[2],
        "created": row[3],
        "updated": row[4],
        "content_hash": row[5],
        "tags": [{"name": name, "origin": origin, "added": added} for name, origin, added in tags],
    }


def _tag_names_of(conn: sqlite3.Connection, note_ids: list[int]) -> dict[int, list[str]]:
    if not note_ids:
        return {}
    placeholders = ",".join("?" * len(note_ids))
    rows = conn.execute(
        "SELECT nt.note_id, t.name FROM note_tags AS nt JOIN tags AS t ON t.id = nt.tag_id"
        f" WHERE nt.note_id IN ({placeholders}) ORDER BY nt.added, t.fold",
        note_ids,
    ).fetchall()
    names: dict[int, list[str]] = {}
    for note_id, name in rows:
        names.setdefault(note_id, []).append(name)
    return names


def _tag_id_for(conn: sqlite3.Connection, clean_name: str) -> int:
    """The id of the tag with this name ignoring case, created with this spelling if new."""
    fold = _fold(clean_name)
    row = conn.execute("SELECT id FROM tags WHERE fold = ?", (fold,)).fetchone()
    if row is not None:
        return row[0]
    tag_id = conn.execute(
        "INSERT INTO tags (name, fold) VALUES (?, ?)", (clean_name, fold)
    ).lastrowid
    assert tag_id is not None
    return tag_id


def _link(conn: sqlite3.Connection, note_id: int, tag_id: int, origin: str, now: int) -> None:
    conn.execute(
        "INSERT INTO note_tags (note_id, tag_id, origin, added) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (note_id, tag_id) DO UPDATE SET origin = 'user'"
        " WHERE excluded.origin = 'user'",
        (note_id, tag_id, origin, now),
    )


def _checked_ids(note_ids: Iterable[int]) -> list[int]:
    if isinstance(note_ids, str | bytes):
        raise Invalid("note ids must be a list of integers")
    return list(dict.fromkeys(_checked_id(note_id) for note_id in note_ids))


def _parts(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield ids[start : start + _IDS_PER_QUERY]


def _marks(part: list[int]) -> str:
    return ",".join("?" * len(part))


def _live_ids(conn: sqlite3.Connection, ids: list[int]) -> list[int]:
    """The live notes among `ids`, in their order."""
    live: set[int] = set()
    for part in _parts(ids):
        live.update(
            row[0]
            for row in conn.execute(
                f"SELECT id FROM notes WHERE id IN ({_marks(part)}) AND deleted IS NULL", part
            )
        )
    return [note_id for note_id in ids if note_id in live]


def _live_note_with_hash(conn: sqlite3.Connection, digest: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM notes WHERE content_hash = ? AND deleted IS NULL LIMIT 1", (digest,)
    ).fetchone()
    return row is not None


def _checked_time_ms(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**63:
        raise Invalid(f"{field} must be a time in milliseconds")
    return value


def _checked_import(note: ImportedNote) -> ImportedNote:
    """The note with its fields checked and tag names cleaned; Invalid says what is wrong."""
    tags: list[NoteTag] = []
    for tag in note["tags"]:
        tags.append({
            "name": clean_tag_name(tag["name"]),
            "origin": _checked_origin(tag["origin"]),
            "added": _checked_time_ms(tag["added"], "a tag's added time"),
        })
    feedback: list[Feedback] = []
    for row in note["feedback"]:
        if row["state"] not in ("accepted", "rejected"):
            raise Invalid("suggestion feedback is accepted or rejected")
        confidence = row["confidence"]
        if confidence is not None and (
            not isinstance(confidence, int | float) or isinstance(confidence, bool)
        ):
            raise Invalid("a suggestion's confidence must be a number or None")
        feedback.append({
            "tag": _checked_text(row["tag"], "a suggested tag"),
            "state": row["state"],
            "source": _checked_text(row["source"], "a suggestion's source"),
            "confidence": None if confidence is None else float(confidence),
            "at": _checked_time_ms(row["at"], "a suggestion's time"),
        })
    front_matter = note["front_matter"]
    return {
        "title": _checked_text(note["title"], "title"),
        "body": _checked_text(note["body"], "body"),
        "source_url": _checked_url(note["source_url"]),
        "created": _checked_time_ms(note["created"], "created"),
        "updated": _checked_time_ms(note["updated"], "updated"),
        "tags": tags,
        "front_matter": (
            None if front_matter is None else _checked_text(front_matter, "front matter")
        ),
        "feedback": feedback,
    }


def _resumed_import(conn: sqlite3.Connection, job_id: int, source: str, format: str) -> ImportJob:
    conn.execute(
        "UPDATE import_jobs SET state = 'running', finished = NULL WHERE id = ?", (job_id,)
    )
    done = [
        item
        for (item,) in conn.execute("SELECT item FROM import_items WHERE job_id = ?", (job_id,))
    ]
    return {"id": job_id, "source": source, "format": format, "resumed": True, "done": done}


def _insert_imported(conn: sqlite3.Connection, note: ImportedNote) -> int:
    title, body = note["title"], note["body"]
    note_id = conn.execute(
        "INSERT INTO notes (title, body, source_url, created, updated, content_hash)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (title, body, note["source_url"], note["created"], note["updated"],
         content_hash(title, body)),
    ).lastrowid
    assert note_id is not None
    for tag in note["tags"]:
        _link(conn, note_id, _tag_id_for(conn, tag["name"]), tag["origin"], tag["added"])
    if note["front_matter"] is not None:
        conn.execute(
            "INSERT INTO note_front_matter (note_id, yaml) VALUES (?, ?)",
            (note_id, note["front_matter"]),
        )
    conn.executemany(
        "INSERT INTO suggestion_feedback (note_id, tag, state, source, confidence, at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(note_id, row["tag"], row["state"], row["source"], row["confidence"], row["at"])
         for row in note["feedback"]],
    )
    return note_id


def _read_exported(conn: sqlite3.Connection, note_id: int) -> ExportedNote:
    note = _read_note(conn, note_id)
    row = conn.execute(
        "SELECT yaml FROM note_front_matter WHERE note_id = ?", (note_id,)
    ).fetchone()
    feedback = conn.execute(
        "SELECT tag, state, source, confidence, at FROM suggestion_feedback"
        " WHERE note_id = ? ORDER BY at, id",
        (note_id,),
    ).fetchall()
    return {
        **note,
        "front_matter": None if row is None else row[0],
        "feedback": [
            {"tag": tag, "state": state, "source": source, "confidence": confidence, "at": at}
            for tag, state, source, confidence, at in feedback
        ],
    }
