"""The text filter of Store.list_notes and the FTS5 index behind it."""

from __future__ import annotations

import random
import re
import sqlite3
from pathlib import Path

import pytest

from desktop.store import TRASH_KEEP_MS, Store

WORDS = ["apple", "apricot", "banana", "cherry", "date", "elder", "fig", "grape"]


def found(store: Store, text: str, tag: str | None = None) -> set[str]:
    return {summary["title"] for summary in store.list_notes(text, tag=tag, limit=10_000)}


def test_every_word_must_match_and_the_last_is_a_prefix(store: Store) -> None:
    store.create_note("quick brown fox", "jumps")
    store.create_note("quick red fox", "runs")
    store.create_note("slow brown bear", "sleeps")
    assert found(store, "quick") == {"quick brown fox", "quick red fox"}
    assert found(store, "quick bro") == {"quick brown fox"}
    assert found(store, "qui") == {"quick brown fox", "quick red fox"}
    assert found(store, "bro quick") == set()
    assert found(store, "brown sleeps") == {"slow brown bear"}
    assert found(store, "  QUICK   Fox  ") == {"quick brown fox", "quick red fox"}
    assert found(store, "zebra") == set()


def test_filter_ignores_case_and_accents_and_handles_unicode(store: Store) -> None:
    store.create_note("Café crème", "déjà vu")
    store.create_note("Москва", "город")
    store.create_note("東京", "日本の首都")
    store.create_note("Straße", "")
    assert found(store, "cafe creme") == {"Café crème"}
    assert found(store, "DEJA") == {"Café crème"}
    assert found(store, "моск") == {"Москва"}
    assert found(store, "東京") == {"東京"}
    assert found(store, "straße") == {"Straße"}


def test_fts_operators_are_plain_words(store: Store) -> None:
    store.create_note("cats or dogs", "")
    store.create_note("cats", "")
    store.create_note("dogs", "")
    store.create_note("near the sea", "not far")
    assert found(store, "cats OR dogs") == {"cats or dogs"}
    assert found(store, "cats AND") == set()
    assert found(store, "NOT far") == {"near the sea"}
    # Words joined by punctuation stay a phrase, as FTS5 tokenizes them.
    assert found(store, "NEAR(the") == {"near the sea"}
    assert found(store, "NEAR(sea") == set()
    assert found(store, "title:cats") == set()
    assert found(store, 'cats"') == {"cats or dogs", "cats"}
    assert found(store, '"dogs') == {"cats or dogs", "dogs"}


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '""',
        '"unclosed',
        "*",
        "**",
        "(",
        ")",
        "()",
        "-",
        "^",
        ":",
        "+",
        "...",
        "!!! ??? ---",
        "— – …",
        "😀 🎉",
        "\x00",
        "a\x00b",
        "AND",
        "OR",
        "NOT",
        "NEAR",
        "NEAR(",
        "NEAR(a b, 2)",
        "a OR b NOT c AND d",
        "title:x",
        "{title body}: x",
        "x*",
        "*x",
        "x^",
        "(a OR b) AND c*",
        "'; DROP TABLE notes; --",
        "\\",
        "x" * 10_000,
        " ".join(["word"] * 3_000)[:10_000],
        "日本語 ، فارسی עברית ü ß İ",
        "\u200b\u200d\ufeff",
    ],
)
def test_no_filter_text_raises(store: Store, text: str) -> None:
    store.create_note("apple pie", "with cinnamon")
    store.create_note("notes on NEAR and OR", "operators")
    results = store.list_notes(text)
    assert isinstance(results, list)
    assert {r["title"] for r in results} <= {"apple pie", "notes on NEAR and OR"}


@pytest.mark.parametrize("text", ["!!!", '"', "(*)", "— …", "😀", "   ", "\t\n", ""])
def test_punctuation_only_returns_the_unfiltered_list(store: Store, text: str) -> None:
    for i in range(3):
        store.create_note(f"note {i}", "body")
    assert store.list_notes(text) == store.list_notes()
    assert len(store.list_notes(text)) == 3


def test_text_and_tag_filters_combine(store: Store) -> None:
    store.create_note("apple tart", tags=["Baking"])
    store.create_note("apple juice", tags=["drinks"])
    store.create_note("pear tart", tags=["baking"])
    assert found(store, "apple", tag="BAKING") == {"apple tart"}
    assert found(store, "tart", tag="baking") == {"apple tart", "pear tart"}


def test_index_follows_edits_deletes_and_undo(store: Store) -> None:
    note = store.create_note("first draft", "about gardening")
    assert found(store, "gardening") == {"first draft"}
    store.update_note(note["id"], body="about cooking")
    assert found(store, "gardening") == set()
    assert found(store, "cooking") == {"first draft"}
    store.update_note(note["id"], title="final copy")
    assert found(store, "draft") == set()
    assert found(store, "final cook") == {"final copy"}
    store.delete_note(note["id"])
    assert found(store, "cooking") == set()
    store.undo_delete(note["id"])
    assert found(store, "cooking") == {"final copy"}


def matches(title: str, body: str, text: str) -> bool:
    """What the filter should do, worked out without SQLite (for plain ASCII words)."""
    tokens = re.findall(r"[a-z0-9]+", (title + " " + body).lower())
    *whole, last = text.split()
    return all(word in tokens for word in whole) and any(t.startswith(last) for t in tokens)


def fts_agrees_with_content(db_path: Path) -> None:
    """FTS5's own check that the index holds exactly what its content (live notes) says."""
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_index_stays_in_step_through_random_changes(db_path: Path) -> None:
    now = [1_700_000_000_000]
    store = Store(db_path, clock=lambda: now[0])
    rng = random.Random(20240601)

    def words(k: int) -> str:
        return " ".join(rng.choices(WORDS, k=k))

    live: set[int] = set()
    trash: set[int] = set()
    for _ in range(300):
        now[0] += 1000
        action = rng.random()
        if action < 0.35 or not live:
            live.add(store.create_note(words(2), words(5))["id"])
        elif action < 0.65:
            store.update_note(
                rng.choice(sorted(live)),
                **rng.choice([{"title": words(2)}, {"body": words(4)}, {"body": ""}]),
            )
        elif action < 0.8:
            note_id = rng.choice(sorted(live))
            store.delete_note(note_id)
            live.remove(note_id)
            trash.add(note_id)
        elif trash:
            note_id = rng.choice(sorted(trash))
            store.undo_delete(note_id)
            trash.remove(note_id)
            live.add(note_id)
    store.close()
    fts_agrees_with_content(db_path)

    # Reopening a month later purges the trash, which must leave the index in step too.
    now[0] += TRASH_KEEP_MS + 1
    store = Store(db_path, clock=lambda: now[0])
    notes = [store.get_note(note_id) for note_id in live]
    assert len(store.list_notes(limit=10_000)) == len(live)
    for text in [*WORDS, "ap", "a", "apple gr", "fig date ch", "banana banana", "elder fi"]:
        expected = {n["id"] for n in notes if matches(n["title"], n["body"], text)}
        got = {s["id"] for s in store.list_notes(text, limit=10_000)}
        assert got == expected, text
    store.close()
    fts_agrees_with_content(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == len(live)
