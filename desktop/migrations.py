"""The notes database schema as a list of forward migrations.

Migration N takes a database from `PRAGMA user_version` N-1 to N. A released
migration is never edited: a change to the schema is a new migration at the end.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata

_INITIAL_SCHEMA = (
    """
    CREATE TABLE notes (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        source_url TEXT,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        deleted INTEGER
    )
    """,
    # The note list's order; partial, so the trash never slows the list down.
    "CREATE INDEX notes_live_by_updated ON notes (updated DESC, id DESC) WHERE deleted IS NULL",
    "CREATE INDEX notes_trash_by_deleted ON notes (deleted) WHERE deleted IS NOT NULL",
    # `fold` is the case-folded name (computed in Python, which folds all of
    # Unicode; SQLite's NOCASE folds ASCII only), so uniqueness ignores case.
    """
    CREATE TABLE tags (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        fold TEXT NOT NULL UNIQUE
    )
    """,
    """
    CREATE TABLE note_tags (
        note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
        tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
        origin TEXT NOT NULL CHECK (origin IN ('user', 'accepted')),
        added INTEGER NOT NULL,
        PRIMARY KEY (note_id, tag_id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX note_tags_by_tag ON note_tags (tag_id, note_id)",
    # A tag lives as long as some note (live or in the trash) carries it.
    """
    CREATE TRIGGER note_tags_drop_orphan_tag AFTER DELETE ON note_tags
    WHEN NOT EXISTS (SELECT 1 FROM note_tags WHERE tag_id = old.tag_id)
    BEGIN
        DELETE FROM tags WHERE id = old.tag_id;
    END
    """,
    """
    CREATE TABLE embeddings (
        note_id INTEGER PRIMARY KEY REFERENCES notes (id) ON DELETE CASCADE,
        model_id TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        vector BLOB NOT NULL
    )
    """,
    # The full-text index covers live notes only; its content is this view so
    # that FTS5's 'rebuild' and 'integrity-check' agree with what is indexed.
    "CREATE VIEW live_notes AS SELECT id, title, body FROM notes WHERE deleted IS NULL",
    """
    CREATE VIRTUAL TABLE notes_fts USING fts5 (
        title, body,
        content = 'live_notes', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER notes_fts_after_insert AFTER INSERT ON notes
    WHEN new.deleted IS NULL
    BEGIN
        INSERT INTO notes_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
    """
    CREATE TRIGGER notes_fts_after_delete AFTER DELETE ON notes
    WHEN old.deleted IS NULL
    BEGIN
        INSERT INTO notes_fts (notes_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END
    """,
    # Moving to the trash and back is an update of `deleted`, so one trigger
    # covers edits, deletes and undos.
    """
    CREATE TRIGGER notes_fts_after_update AFTER UPDATE OF title, body, deleted ON notes
    BEGIN
        INSERT INTO notes_fts (notes_fts, rowid, title, body)
        SELECT 'delete', old.id, old.title, old.body WHERE old.deleted IS NULL;
        INSERT INTO notes_fts (rowid, title, body)
        SELECT new.id, new.title, new.body WHERE new.deleted IS NULL;
    END
    """,
)

# The tagger's accept/reject record, which later tagger work learns from.
_SUGGESTION_FEEDBACK = (
    """
    CREATE TABLE suggestion_feedback (
        id INTEGER PRIMARY KEY,
        note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('accepted', 'rejected')),
        source TEXT NOT NULL,
        confidence REAL,
        at INTEGER NOT NULL
    )
    """,
    "CREATE INDEX suggestion_feedback_by_note ON suggestion_feedback (note_id, at)",
)

# Chinese, Japanese, Korean and Thai write words without spaces between them, so
# unicode61 makes a whole run one token and matches only the start of a run. This
# index holds such runs as overlapping character pairs (see unspaced_grams), so any
# part of a run is found as a phrase of pairs. Other notes have no row in it.
_UNSPACED_GRAMS = (
    """
    CREATE VIEW live_note_grams AS
    SELECT id, margin_grams(title, body) AS grams FROM notes
    WHERE deleted IS NULL AND margin_grams(title, body) != ''
    """,
    # 'ascii' splits on ASCII spaces and punctuation only, so each pair is one token.
    """
    CREATE VIRTUAL TABLE notes_grams USING fts5 (
        grams, content = 'live_note_grams', content_rowid = 'id', tokenize = 'ascii'
    )
    """,
    "INSERT INTO notes_grams (notes_grams) VALUES ('rebuild')",
    """
    CREATE TRIGGER notes_grams_after_insert AFTER INSERT ON notes
    WHEN new.deleted IS NULL AND margin_grams(new.title, new.body) != ''
    BEGIN
        INSERT INTO notes_grams (rowid, grams)
        VALUES (new.id, margin_grams(new.title, new.body));
    END
    """,
    """
    CREATE TRIGGER notes_grams_after_delete AFTER DELETE ON notes
    WHEN old.deleted IS NULL AND margin_grams(old.title, old.body) != ''
    BEGIN
        INSERT INTO notes_grams (notes_grams, rowid, grams)
        VALUES ('delete', old.id, margin_grams(old.title, old.body));
    END
    """,
    """
    CREATE TRIGGER notes_grams_after_update AFTER UPDATE OF title, body, deleted ON notes
    BEGIN
        INSERT INTO notes_grams (notes_grams, rowid, grams)
        SELECT 'delete', old.id, grams FROM (SELECT margin_grams(old.title, old.body) AS grams)
        WHERE old.deleted IS NULL AND grams != '';
        INSERT INTO notes_grams (rowid, grams)
        SELECT new.id, grams FROM (SELECT margin_grams(new.title, new.body) AS grams)
        WHERE new.deleted IS NULL AND grams != '';
    END
    """,
)

# Imports (desktop/imports): notes found again by content hash, so the same note
# is not imported twice; front matter keys Margin has no field for, kept as YAML
# text to be written back on export; and each import's record of what it did
# with every file or entry, so a cancelled or interrupted import resumes.
_IMPORTS = (
    "CREATE INDEX notes_live_by_hash ON notes (content_hash) WHERE deleted IS NULL",
    """
    CREATE TABLE note_front_matter (
        note_id INTEGER PRIMARY KEY REFERENCES notes (id) ON DELETE CASCADE,
        yaml TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE import_jobs (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        format TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'cancelled', 'done')),
        started INTEGER NOT NULL,
        finished INTEGER
    )
    """,
    "CREATE INDEX import_jobs_by_source ON import_jobs (source, format, id)",
    """
    CREATE TABLE import_items (
        job_id INTEGER NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
        item TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('imported', 'duplicate', 'failed')),
        reason TEXT,
        PRIMARY KEY (job_id, item)
    ) WITHOUT ROWID
    """,
)

# Tag suggestions: what the taggers (the default one and the head trained on the
# user's own tags) said about each note's current text, and that head's weights.
# `tagger` names both taggers, so a new default tagger or a retrained head makes
# the stored suggestions stale; suggestions from notes' neighbours are not stored.
_TAG_SUGGESTIONS = (
    """
    CREATE TABLE tag_suggestions (
        note_id INTEGER PRIMARY KEY REFERENCES notes (id) ON DELETE CASCADE,
        content_hash TEXT NOT NULL,
        tagger TEXT NOT NULL,
        suggestions TEXT NOT NULL
    )
    """,
    # One row: the head for the encoder `model_id`, trained on the examples whose
    # digest is `signature`; `weights` is float32 little-endian, as the webview sends it.
    """
    CREATE TABLE personal_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        model_id TEXT NOT NULL,
        signature TEXT NOT NULL,
        labels TEXT NOT NULL,
        weights BLOB NOT NULL,
        trained INTEGER NOT NULL
    )
    """,
    "CREATE INDEX suggestion_feedback_by_state ON suggestion_feedback (state, note_id)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    _INITIAL_SCHEMA,
    _SUGGESTION_FEEDBACK,
    _UNSPACED_GRAMS,
    _IMPORTS,
    _TAG_SUGGESTIONS,
)
LATEST_VERSION = len(MIGRATIONS)


# Han (with its extensions and compatibility forms), kana, Hangul and Thai.
_UNSPACED_RUN = re.compile(
    "[\u0e00-\u0e7f\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff"
    "\U00020000-\U0003134f]+"
)


def unspaced_runs(text: str) -> list[str]:
    """The runs of CJK or Thai characters in `text`, after NFKC (half-width kana, etc.)."""
    return _UNSPACED_RUN.findall(unicodedata.normalize("NFKC", text))


def unspaced_grams(*texts: str) -> str:
    """What notes_grams indexes: each run's overlapping pairs, then its last character.

    "東京都庁" gives "東京 京都 都庁 庁": a run of the query is found as the phrase of
    its pairs, and one character as the prefix of a token. Pairs never span two
    runs, nor the title and the body. The index depends on this exact output:
    changing it needs a migration that rebuilds notes_grams.
    """
    grams: list[str] = []
    for text in texts:
        for run in unspaced_runs(text):
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
            grams.append(run[-1])
    return " ".join(grams)


def register_functions(conn: sqlite3.Connection) -> None:
    """The SQL functions the schema's views and triggers call; on every connection.

    A connection without them (the sqlite3 shell, say) can read the notes but
    cannot change them.
    """
    conn.create_function("margin_grams", 2, unspaced_grams, deterministic=True)


class SchemaTooNew(Exception):
    """The file was written by a newer Margin; opening it could damage it."""


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database up to LATEST_VERSION; returns the version it is at.

    `conn` must be in autocommit mode (isolation_level=None) and have the
    functions of register_functions. Each migration
    runs in its own transaction together with its version bump, and the
    version is read inside that transaction, so two processes opening the same
    old file at once cannot both apply a migration.
    """
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Reading the schema table makes this connection reload a schema that
            # another connection has just migrated. Left stale, SQLite (seen with
            # 3.40) fails the next DELETE FROM notes once with "no such table"
            # while re-preparing it through the FTS trigger and foreign keys.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > LATEST_VERSION:
                raise SchemaTooNew(
                    f"database schema version {version} is newer than this app's "
                    f"{LATEST_VERSION}"
                )
            if version == LATEST_VERSION:
                conn.execute("COMMIT")
                return version
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
