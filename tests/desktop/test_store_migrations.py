"""Schema versions: new files, upgrades of older files, and files the app must not touch."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from desktop import migrations
from desktop.store import Store, StoreError, content_hash

# A schema-version-1 database as the first release writes it, spelled out by hand
# and frozen: migrations must keep upgrading files like this one, whatever
# the current code would create.
VERSION_1_LAYOUT = """
CREATE TABLE notes (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, source_url TEXT,
    created INTEGER NOT NULL, updated INTEGER NOT NULL, content_hash TEXT NOT NULL,
    deleted INTEGER
);
CREATE INDEX notes_live_by_updated ON notes (updated DESC, id DESC) WHERE deleted IS NULL;
CREATE INDEX notes_trash_by_deleted ON notes (deleted) WHERE deleted IS NOT NULL;
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL, fold TEXT NOT NULL UNIQUE);
CREATE TABLE note_tags (
    note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    origin TEXT NOT NULL CHECK (origin IN ('user', 'accepted')),
    added INTEGER NOT NULL,
    PRIMARY KEY (note_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX note_tags_by_tag ON note_tags (tag_id, note_id);
CREATE TRIGGER note_tags_drop_orphan_tag AFTER DELETE ON note_tags
WHEN NOT EXISTS (SELECT 1 FROM note_tags WHERE tag_id = old.tag_id)
BEGIN DELETE FROM tags WHERE id = old.tag_id; END;
CREATE TABLE embeddings (
    note_id INTEGER PRIMARY KEY REFERENCES notes (id) ON DELETE CASCADE,
    model_id TEXT NOT NULL, content_hash TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE VIEW live_notes AS SELECT id, title, body FROM notes WHERE deleted IS NULL;
CREATE VIRTUAL TABLE notes_fts USING fts5 (
    title, body, content = 'live_notes', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER notes_fts_after_insert AFTER INSERT ON notes WHEN new.deleted IS NULL
BEGIN INSERT INTO notes_fts (rowid, title, body) VALUES (new.id, new.title, new.body); END;
CREATE TRIGGER notes_fts_after_delete AFTER DELETE ON notes WHEN old.deleted IS NULL
BEGIN
    INSERT INTO notes_fts (notes_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER notes_fts_after_update AFTER UPDATE OF title, body, deleted ON notes
BEGIN
    INSERT INTO notes_fts (notes_fts, rowid, title, body)
    SELECT 'delete', old.id, old.title, old.body WHERE old.deleted IS NULL;
    INSERT INTO notes_fts (rowid, title, body)
    SELECT new.id, new.title, new.body WHERE new.deleted IS NULL;
END;
PRAGMA user_version = 1;
"""

T0 = 1_600_000_000_000
VECTOR = bytes(range(256)) * 8


def make_version_1_database(path: Path) -> None:
    """A version-1 file with a live note (tags, vector) and a recently trashed one."""
    lisbon = ("Lisbon trip", "Trams and tiles")
    idea = ("Old idea", "Compost bins")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(VERSION_1_LAYOUT)
        conn.executemany(
            "INSERT INTO notes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (1, *lisbon, "https://example.org/lx", T0, T0 + 5, content_hash(*lisbon), None),
                (2, *idea, None, T0, T0, content_hash(*idea), None),
            ],
        )
        conn.execute("INSERT INTO tags VALUES (1, 'Travel', 'travel'), (2, 'ideas', 'ideas')")
        conn.executemany(
            "INSERT INTO note_tags VALUES (?, ?, ?, ?)",
            [(1, 1, "user", T0), (1, 2, "accepted", T0 + 1), (2, 2, "user", T0)],
        )
        conn.execute(
            "INSERT INTO embeddings VALUES (1, 'use-m-v3', ?, ?)",
            (content_hash("Lisbon trip", "Trams and tiles"), VECTOR),
        )
        # Trashed through an update, as the version-1 app did it, so its triggers run.
        conn.execute("UPDATE notes SET deleted = ? WHERE id = 2", (T0 + 10,))


def schema_of(path: Path) -> list[tuple[str, str, str, str]]:
    """Every schema object with its SQL, whitespace removed so layout does not count."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY name"
        ).fetchall()
    return [(kind, name, table, "".join(sql.split())) for kind, name, table, sql in rows]


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def test_new_and_empty_files_get_the_latest_schema(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (tmp_path / "new.db", empty):
        store = Store(path)
        assert store.schema_version() == migrations.LATEST_VERSION == len(migrations.MIGRATIONS)
        store.close()
        assert user_version(path) == migrations.LATEST_VERSION
    assert schema_of(empty) == schema_of(tmp_path / "new.db")


def test_version_1_file_upgrades_with_its_data_intact(tmp_path: Path) -> None:
    old = tmp_path / "v1.db"
    make_version_1_database(old)
    store = Store(old, clock=lambda: T0 + 20)
    assert store.schema_version() == migrations.LATEST_VERSION
    assert store.get_note(1) == {
        "id": 1,
        "title": "Lisbon trip",
        "body": "Trams and tiles",
        "source_url": "https://example.org/lx",
        "created": T0,
        "updated": T0 + 5,
        "content_hash": content_hash("Lisbon trip", "Trams and tiles"),
        "tags": [
            {"name": "Travel", "origin": "user", "added": T0},
            {"name": "ideas", "origin": "accepted", "added": T0 + 1},
        ],
    }
    assert store.get_embedding(1) == {
        "vector": VECTOR,
        "model_id": "use-m-v3",
        "content_hash": content_hash("Lisbon trip", "Trams and tiles"),
    }
    assert [s["id"] for s in store.list_notes("tram")] == [1]
    assert store.list_notes("compost") == []
    assert store.list_tags() == [{"name": "ideas", "count": 1}, {"name": "Travel", "count": 1}]
    assert store.undo_delete(2)["tags"] == [{"name": "ideas", "origin": "user", "added": T0}]
    assert [s["id"] for s in store.list_notes("compost")] == [2]
    store.close()

    # The upgraded file is indistinguishable in layout from a new one.
    fresh = tmp_path / "fresh.db"
    Store(fresh).close()
    assert schema_of(old) == schema_of(fresh)
    with sqlite3.connect(old) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(
            "INSERT INTO suggestion_feedback (note_id, tag, state, source, confidence, at)"
            " VALUES (1, 'travel', 'accepted', 'tagger', 0.9, ?)",
            (T0,),
        )
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "INSERT INTO suggestion_feedback (note_id, tag, state, source, at)"
                " VALUES (1, 'travel', 'maybe', 'tagger', ?)",
                (T0,),
            )


def test_a_failed_migration_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    make_version_1_database(path)
    # An object in the way of migration 2's second statement.
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE INDEX suggestion_feedback_by_note ON notes (title)")
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert caught.value.code == "storage"
    assert user_version(path) == 1
    with sqlite3.connect(path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert "suggestion_feedback" not in names
        conn.execute("DROP INDEX suggestion_feedback_by_note")
    store = Store(path)
    assert store.schema_version() == migrations.LATEST_VERSION
    assert store.get_note(1)["title"] == "Lisbon trip"
    store.close()


def test_several_openers_of_one_old_file_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    make_version_1_database(path)
    start = threading.Barrier(4)
    outcomes: list[object] = []

    def open_store() -> None:
        start.wait()
        try:
            store = Store(path)
            outcomes.append(store.schema_version())
            store.close()
        except Exception as exc:  # collected so the main thread can report it
            outcomes.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == [migrations.LATEST_VERSION] * 4


def test_a_file_from_a_newer_app_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, something_new TEXT)")
        conn.execute("PRAGMA user_version = 99")
    before = schema_of(path)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert caught.value.code == "schema_too_new"
    assert user_version(path) == 99
    assert schema_of(path) == before


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not an SQLite file, just some text " * 100)
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert caught.value.code == "storage"
