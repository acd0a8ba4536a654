"""desktop/search.py and the store's search support, on real SQLite files.

Vectors here are random unit vectors (the real encoder's quality is measured in
test_search_quality.py): a note is "near" a query when its vector was made near
the query's.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from desktop import migrations, search
from desktop.search import Search, fuse, keyword_weight_for, query_vector
from desktop.store import TRASH_KEEP_MS, Invalid, NotFound, Store
from desktop.vector_index import sign_codes
from tests.desktop.clock import DAY_MS, START_MS, Clock
from tests.desktop.test_store_migrations import make_version_1_database

MODEL = "use-m-v3@test"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def random_vector(rng: np.random.Generator) -> np.ndarray:
    return unit(rng.standard_normal(512))


def near(vector: np.ndarray, rng: np.random.Generator, noise: float = 0.02) -> np.ndarray:
    return unit(vector + noise * rng.standard_normal(512))


def add(store: Store, title: str, body: str, vector: np.ndarray | None, **fields) -> int:
    note = store.create_note(title, body, **fields)
    if vector is not None:
        assert store.put_embedding(note["id"], vector.tobytes(), MODEL, note["content_hash"])
    return note["id"]


def started(store: Store, model_id: str | None = MODEL) -> Search:
    found = Search(store, model_id)
    found.start()
    assert found.wait_ready(30)
    return found


def keyword_ids(store: Store, text: str, **filters) -> list[int]:
    return [hit["id"] for hit in store.keyword_search(text, **filters)]


def top(found: Search, vector: np.ndarray) -> int | None:
    """The note the semantic side puts first for this vector."""
    nearest = found.nearest(vector.tobytes(), 1)
    return nearest[0][0] if nearest else None


# The store's keyword search


def test_keyword_search_ranks_by_shared_and_rarer_words(store: Store) -> None:
    both = add(store, "", "walrus tusks are ivory", None)
    rare = add(store, "", "a walrus on the ice", None)
    long = add(store, "", "ivory keys on the old piano", None)
    short = add(store, "", "ivory soap", None)
    add(store, "", "nothing to see here", None)
    # BM25: the rarer word first, and of equal matches the shorter note.
    assert keyword_ids(store, "walrus ivory") == [both, rare, short, long]
    assert keyword_ids(store, "walrus ivory", limit=2) == [both, rare]
    hits = store.keyword_search("walrus ivory")
    assert all(a["score"] >= b["score"] > 0 for a, b in zip(hits, hits[1:], strict=False))
    assert keyword_ids(store, "zebra") == []


def test_title_words_weigh_more_than_body_words(store: Store) -> None:
    in_body = add(store, "Notes", "about the harbour cranes", None)
    in_title = add(store, "Harbour", "notes about cranes", None)
    assert keyword_ids(store, "harbour") == [in_title, in_body]


def test_the_last_word_is_a_prefix_from_three_characters(store: Store) -> None:
    garden = add(store, "", "garden hose", None)
    gargoyle = add(store, "", "gargoyle", None)
    add(store, "", "ga", None)
    assert set(keyword_ids(store, "gar")) == {garden, gargoyle}
    assert keyword_ids(store, "gard") == [garden]
    # Two letters match whole words only.
    assert keyword_ids(store, "ga") == [gargoyle + 1]
    # Earlier words match whole.
    assert keyword_ids(store, "gar hose") == [garden]


def test_common_words_are_left_out_of_the_ranking(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("desktop.store.MAX_SCORED_NOTES", 5)
    commons = [add(store, "", f"the meeting number {i}", None) for i in range(8)]
    quokka = add(store, "", "the quokka", None)
    # "the" is in 9 notes: past the budget, so only "quokka" ranks.
    assert keyword_ids(store, "the quokka") == [quokka]
    # A query of common words only: the newest notes holding all of them.
    assert keyword_ids(store, "the meeting", limit=3) == sorted(commons[-3:], reverse=True)
    assert keyword_ids(store, "meeting the") == sorted(commons, reverse=True)


def test_word_counts_follow_changes(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("desktop.store.MAX_SCORED_NOTES", 2)
    for i in range(3):
        add(store, "", f"the day {i}", None)
    first = add(store, "", "the quokka", None)
    assert keyword_ids(store, "the quokka") == [first]  # "quokka" is rare: ranked alone
    alone = add(store, "", "quokka", None)
    assert keyword_ids(store, "the quokka") == [alone, first]
    add(store, "", "the quokka again", None)
    # In three notes, "quokka" is common too: the (newest) notes holding both words.
    assert keyword_ids(store, "the quokka") == [first, alone + 1]


def test_a_long_paste_ranks_by_its_longest_words(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("desktop.store.MAX_KEYWORD_WORDS", 2)
    target = add(store, "", "photosynthesis in chloroplasts", None)
    add(store, "", "a b c d e f", None)
    paste = "a b c d e f photosynthesis g h chloroplasts i j"
    assert keyword_ids(store, paste) == [target]


def test_keyword_filters_by_tag_and_updated_time(store: Store, clock: Clock) -> None:
    old = add(store, "", "orchid care", None, tags=["Plants"])
    clock.now += 10 * DAY_MS
    new = add(store, "", "orchid prices", None, tags=["plants", "money"])
    clock.now += 10 * DAY_MS
    untagged = add(store, "", "orchid show", None)
    assert set(keyword_ids(store, "orchid")) == {old, new, untagged}
    assert set(keyword_ids(store, "orchid", tag="PLANTS")) == {old, new}
    assert keyword_ids(store, "orchid", tag="money") == [new]
    assert keyword_ids(store, "orchid", tag="nothing") == []
    assert set(keyword_ids(store, "orchid", tag="  ")) == {old, new, untagged}
    day = START_MS + 10 * DAY_MS
    assert set(keyword_ids(store, "orchid", updated_from=day)) == {new, untagged}
    assert keyword_ids(store, "orchid", updated_from=day, updated_to=day) == [new]
    assert keyword_ids(store, "orchid", updated_to=day - 1) == [old]
    assert keyword_ids(store, "orchid", tag="plants", updated_from=day) == [new]
    with pytest.raises(Invalid):
        store.keyword_search("orchid", updated_from="yesterday")  # type: ignore[arg-type]


def test_keyword_search_leaves_out_the_trash(store: Store) -> None:
    kept = add(store, "", "lantern", None)
    gone = add(store, "", "lantern festival", None)
    store.delete_note(gone)
    assert keyword_ids(store, "lantern festival") == [kept]
    store.undo_delete(gone)
    assert keyword_ids(store, "lantern festival") == [gone, kept]


NASTY = [
    "", "   ", '"', '"unclosed', "*", "(", ")", "-", "^", ":", "...", "!!! ??? ---",
    "— – …", "😀", "\x00", "a\x00b", "AND", "OR NOT", "NEAR(a b, 2)", "title:x",
    "{title body}: x", "x*", "*x", "(a OR b) AND c*", "'; DROP TABLE notes; --", "\\",
    "x" * 10_000, " ".join(["word"] * 3_000)[:10_000], "日本語 ، فارسی עברית ü ß İ",
    "\u200b\u200d\ufeff", "東" * 10_000, "\U0010ffff" * 3,
]


@pytest.mark.parametrize("text", NASTY)
def test_no_text_makes_keyword_search_or_query_raise(
    store: Store, rng: np.random.Generator, text: str
) -> None:
    add(store, "apple pie", "with cinnamon", random_vector(rng))
    add(store, "notes on NEAR and OR", "operators", random_vector(rng))
    assert isinstance(store.keyword_search(text), list)
    found = started(store)
    results = found.query(random_vector(rng).tobytes(), text)
    assert {r["title"] for r in results} <= {"apple pie", "notes on NEAR and OR"}


def test_blank_and_punctuation_queries_find_nothing(store: Store, rng: np.random.Generator) -> None:
    vector = random_vector(rng)
    add(store, "", "anything", vector)
    found = started(store)
    for text in ["", "  \n", "!!!", "— …", '"*"']:
        assert found.query(vector.tobytes(), text) == []
        assert store.keyword_search(text) == []
    assert [r["id"] for r in found.query(vector.tobytes(), "x")] == [1]


# CJK and Thai: notes_grams


def test_cjk_and_thai_are_found_inside_runs(store: Store) -> None:
    tokyo = add(store, "東京の天気", "今日の東京都庁の周りは晴れです。", None)
    seoul = add(store, "", "서울에서 만나요", None)
    thai = add(store, "", "ภาษาไทยเป็นภาษาที่สวยงาม", None)
    chinese = add(store, "", "我们明天去北京大学", None)
    halfwidth = add(store, "", "ｶﾀｶﾅのメモ", None)
    assert keyword_ids(store, "都庁") == [tokyo]
    assert keyword_ids(store, "東京都") == [tokyo]
    assert keyword_ids(store, "天気") == [tokyo]
    assert keyword_ids(store, "庁") == [tokyo]
    assert keyword_ids(store, "서울") == [seoul]
    assert keyword_ids(store, "만나") == [seoul]
    assert keyword_ids(store, "ไทย") == [thai]
    assert keyword_ids(store, "北京") == [chinese]
    assert keyword_ids(store, "大学 明天") == [chinese]
    assert keyword_ids(store, "カタカナ") == [halfwidth]
    assert keyword_ids(store, "东京") == []
    assert set(keyword_ids(store, "北京 都庁")) == {tokyo, chinese}


def grams_agree_with_content(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        migrations.register_functions(conn)
        conn.execute("INSERT INTO notes_grams (notes_grams, rank) VALUES ('integrity-check', 1)")
        conn.execute("INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)")
        indexed = conn.execute("SELECT count(*) FROM notes_grams").fetchone()[0]
        live_cjk = conn.execute("SELECT count(*) FROM live_note_grams").fetchone()[0]
        assert indexed == live_cjk


def test_grams_index_follows_edits_trash_undo_and_purge(db_path: Path, clock: Clock) -> None:
    store = Store(db_path, clock=clock)
    note = add(store, "買い物", "牛乳と卵", None)
    latin = add(store, "shopping", "milk and eggs", None)
    assert keyword_ids(store, "牛乳") == [note]
    store.update_note(note, body="パンとバター")
    assert keyword_ids(store, "牛乳") == []
    assert keyword_ids(store, "バター") == [note]
    store.update_note(latin, body="milk 牛乳")
    assert keyword_ids(store, "牛乳") == [latin]
    store.delete_note(note)
    assert keyword_ids(store, "バター") == []
    store.undo_delete(note)
    assert keyword_ids(store, "バター") == [note]
    store.update_note(note, title="", body="no longer Japanese")
    assert keyword_ids(store, "買い") == []
    store.update_note(note, body="また日本語")
    store.delete_note(note)
    store.close()
    grams_agree_with_content(db_path)
    clock.now += TRASH_KEEP_MS + 1
    store = Store(db_path, clock=clock)
    assert keyword_ids(store, "日本語") == []
    assert keyword_ids(store, "牛乳") == [latin]
    store.close()
    grams_agree_with_content(db_path)


def test_an_old_file_gets_its_cjk_notes_indexed_when_migrated(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    make_version_1_database(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO notes VALUES (3, '旅行', 'リスボンの路面電車', NULL, 1, 1, 'x', NULL)"
        )
    store = Store(path)
    assert store.schema_version() == migrations.LATEST_VERSION
    assert keyword_ids(store, "路面電車") == [3]
    assert keyword_ids(store, "tram") == [1]
    store.close()
    grams_agree_with_content(path)


def test_unspaced_grams() -> None:
    assert migrations.unspaced_grams("東京都庁") == "東京 京都 都庁 庁"
    assert migrations.unspaced_grams("Tokyo 東京 and 京都", "ｶﾅ") == "東京 京 京都 都 カナ ナ"
    assert migrations.unspaced_grams("no cjk here", "") == ""


# Listening to changes


def test_watch_hears_each_committed_change_once(store: Store, rng: np.random.Generator) -> None:
    heard: list[list[int]] = []
    store.watch(heard.append)
    note = store.create_note("a", "b")
    note_id = note["id"]
    assert heard == [[note_id]]
    store.update_note(note_id, title="a")  # nothing changed
    store.add_tag(note_id, "tags are not heard")
    store.remove_tag(note_id, "tags are not heard")
    assert heard == [[note_id]]
    changed = store.update_note(note_id, body="c")
    vector = random_vector(rng).tobytes()
    assert store.put_embedding(note_id, vector, MODEL, changed["content_hash"])
    assert not store.put_embedding(note_id, vector, MODEL, note["content_hash"])  # stale
    store.update_note(note_id, source_url="https://example.org/")
    store.delete_note(note_id)
    store.undo_delete(note_id)
    assert heard == [[note_id]] * 6
    with pytest.raises(NotFound):
        store.delete_note(note_id + 1)
    assert len(heard) == 6


def test_a_failing_listener_does_not_fail_the_write(store: Store) -> None:
    def broken(note_ids: list[int]) -> None:
        raise RuntimeError("listener bug")

    heard: list[list[int]] = []
    store.watch(broken)
    store.watch(heard.append)
    note = store.create_note("still saved")
    assert store.get_note(note["id"])["title"] == "still saved"
    assert heard == [[note["id"]]]


# Vectors as search reads them


def test_vector_rows_hold_only_current_vectors_of_live_notes(
    store: Store, rng: np.random.Generator
) -> None:
    vectors = [random_vector(rng) for _ in range(6)]
    ids = [add(store, f"n{i}", "", v) for i, v in enumerate(vectors)]
    other = store.get_note(ids[1])
    store.put_embedding(ids[1], vectors[1].tobytes(), "another-model", other["content_hash"])
    store.update_note(ids[2], body="changed, so the vector is stale")
    store.delete_note(ids[3])
    add(store, "no vector", "", None)

    rows = store.vector_rows(MODEL)
    assert rows["ids"] == [ids[0], ids[4], ids[5]]
    assert rows["vectors"] == b"".join(vectors[i].tobytes() for i in (0, 4, 5))
    assert rows["updated"] == [store.get_note(i)["updated"] for i in rows["ids"]]
    assert store.vector_rows(MODEL, after_id=ids[0], limit=1)["ids"] == [ids[4]]
    assert store.vector_rows(MODEL, after_id=ids[5])["ids"] == []
    assert store.vector_rows("another-model")["ids"] == [ids[1]]
    assert store.vector_rows_of(MODEL, [ids[5], ids[2], ids[0], 999])["ids"] == [ids[0], ids[5]]
    assert store.vector_rows_of(MODEL, [])["ids"] == []


def test_new_files_have_pages_that_hold_several_vectors(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    new = Store(tmp_path / "new.db")
    for _ in range(300):
        add(new, "", "", random_vector(rng))
    new.close()
    old_path = tmp_path / "old.db"
    with sqlite3.connect(old_path) as conn:
        conn.execute("PRAGMA page_size = 4096")
        conn.execute("VACUUM")
    old = Store(old_path)
    assert [add(old, "", "", random_vector(rng)) for _ in range(2)] == [1, 2]
    old.close()
    with sqlite3.connect(tmp_path / "new.db") as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 8192
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        # One vector to a 4 KiB page would take 1.2 MB before anything else.
        assert pages * 8192 < 300 * 4096
    with sqlite3.connect(old_path) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096


def test_get_notes_and_tagged_note_ids(store: Store) -> None:
    a = store.create_note("a", tags=["Red"])["id"]
    b = store.create_note("b", tags=["red"])["id"]
    c = store.create_note("c")["id"]
    store.delete_note(b)
    assert [n["title"] for n in store.get_notes([c, 999, b, a, c])] == ["c", "a"]
    assert store.get_notes([]) == []
    assert sorted(store.tagged_note_ids("RED")) == [a, b]  # the trash too
    assert store.tagged_note_ids("blue") == []


# Search: results


def test_results_carry_the_note_and_its_matched_words(
    store: Store, rng: np.random.Generator
) -> None:
    query = random_vector(rng)
    both = add(store, "Tram lines", "The 28 tram climbs to the castle.", near(query, rng),
               tags=["Lisbon"])
    meaning = add(store, "Funicular", "A lift up the hill.", near(query, rng, 0.05))
    words = add(store, "Bus", "Night tram replacement", random_vector(rng))
    add(store, "Other", "nothing related", random_vector(rng))
    found = started(store)
    results = found.query(query.tobytes(), "tram", limit=3)
    assert [r["id"] for r in results][:1] == [both]
    assert {r["id"] for r in results} == {both, meaning, words}
    first = results[0]
    assert first["title"] == "Tram lines"
    assert first["tags"] == ["Lisbon"]
    assert first["snippet"] == "The 28 tram climbs to the castle."
    assert first["highlights"] == {
        "title": [["Tram", True], [" lines", False]],
        "snippet": [["The 28 ", False], ["tram", True], [" climbs to the castle.", False]],
    }
    assert first["semantic"] > 0.9 and first["keyword"] > 0
    assert first["updated"] == store.get_note(both)["updated"]
    by_id = {r["id"]: r for r in results}
    assert by_id[meaning]["keyword"] is None
    assert by_id[meaning]["highlights"]["snippet"] == [["A lift up the hill.", False]]
    assert by_id[words]["semantic"] is None
    assert all(a["score"] >= b["score"] for a, b in zip(results, results[1:], strict=False))


def test_markup_in_notes_comes_back_as_text(store: Store, rng: np.random.Generator) -> None:
    body = '<img src=x onerror="alert(1)"> <b>bold</b> &amp; <script>x</script>'
    add(store, "<i>title</i>", body, random_vector(rng))
    found = started(store)
    result = found.query(None, "bold script")[0]
    assert "".join(text for text, _ in result["highlights"]["snippet"]) == result["snippet"]
    assert result["snippet"] == body
    assert [t for t, hit in result["highlights"]["snippet"] if hit] == ["bold", "script", "script"]
    assert result["highlights"]["title"] == [["<i>title</i>", False]]


def test_the_snippet_shows_the_first_match_of_a_long_body(store: Store) -> None:
    body = " ".join(f"filler{i}" for i in range(300)) + " the aardvark sleeps " + "tail " * 50
    add(store, "", body, None)
    result = started(store).query(None, "aardvark")[0]
    segments = result["highlights"]["snippet"]
    assert segments[0] == ["…", False] and segments[-1] == ["…", False]
    assert ["aardvark", True] in segments
    assert "".join(text for text, _ in segments) == result["snippet"]
    assert len(result["snippet"]) <= search.SNIPPET_CHARS + 2
    assert result["snippet"].split()[1].startswith("filler")  # starts at a whole word


def test_highlights_follow_the_index_folding_and_the_prefix(store: Store) -> None:
    add(store, "Café Crème", "CAFES and cafés; cafeteria", None)
    result = started(store).query(None, "cafe caf")[0]
    assert [t for t, hit in result["highlights"]["title"] if hit] == ["Café"]
    assert [t for t, hit in result["highlights"]["snippet"] if hit] == [
        "CAFES", "cafés", "cafeteria"
    ]


# Search: in step with the store


def expect_in_step(found: Search, store: Store, vectors: dict[int, np.ndarray]) -> None:
    """Each live note with a current vector is found first by it; no other note is."""
    current = set(store.vector_rows(MODEL)["ids"])
    assert found.status()["vectors"] == len(current)
    for note_id, vector in vectors.items():
        assert (top(found, vector) == note_id) == (note_id in current), note_id


def test_the_semantic_side_follows_every_change(
    db_path: Path, clock: Clock, rng: np.random.Generator
) -> None:
    store = Store(db_path, clock=clock)
    vectors = {}
    for i in range(8):
        vector = random_vector(rng)
        vectors[add(store, f"n{i}", "", vector)] = vector
    ids = list(vectors)
    found = started(store)
    expect_in_step(found, store, vectors)

    fresh = store.create_note("new", "")
    vectors[fresh["id"]] = random_vector(rng)
    expect_in_step(found, store, vectors)  # no vector yet
    store.put_embedding(fresh["id"], vectors[fresh["id"]].tobytes(), MODEL, fresh["content_hash"])
    expect_in_step(found, store, vectors)

    edited = store.update_note(ids[0], body="new text: the vector is stale")
    expect_in_step(found, store, vectors)
    vectors[ids[0]] = random_vector(rng)
    store.put_embedding(ids[0], vectors[ids[0]].tobytes(), MODEL, edited["content_hash"])
    expect_in_step(found, store, vectors)

    store.delete_note(ids[1])
    expect_in_step(found, store, vectors)
    store.undo_delete(ids[1])
    expect_in_step(found, store, vectors)
    note = store.get_note(ids[2])
    store.put_embedding(ids[2], vectors[ids[2]].tobytes(), "another-model", note["content_hash"])
    expect_in_step(found, store, vectors)

    store.delete_note(ids[3])
    store.close()
    clock.now += TRASH_KEEP_MS + 1
    store = Store(db_path, clock=clock)
    found = started(store)
    expect_in_step(found, store, vectors)
    assert found.related(ids[4], k=10) and ids[3] not in [r["id"] for r in found.related(ids[4])]
    store.close()


def test_loading_while_notes_change_ends_in_step(
    store: Store, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "LOAD_BATCH", 3)
    vectors = {}
    for i in range(300):
        vector = random_vector(rng)
        vectors[add(store, "", f"note {i}", vector)] = vector
    ids = list(vectors)
    found = Search(store, MODEL)
    changes = np.random.default_rng(5)

    def change() -> None:
        for _ in range(300):
            note_id = int(changes.choice(ids))
            action = changes.integers(4)
            try:
                if action == 0:
                    note = store.get_note(note_id)
                    vectors[note_id] = random_vector(changes)
                    store.put_embedding(
                        note_id, vectors[note_id].tobytes(), MODEL, note["content_hash"]
                    )
                elif action == 1:
                    store.update_note(note_id, body=f"edited {changes.integers(10**9)}")
                elif action == 2:
                    store.delete_note(note_id)
                else:
                    store.undo_delete(note_id)
            except NotFound:
                pass

    writer = threading.Thread(target=change)
    found.start()
    writer.start()
    writer.join()
    assert found.wait_ready(30)
    expect_in_step(found, store, vectors)


# Search: filters, odd queries, related


def test_filters_apply_to_both_sides(
    store: Store, clock: Clock, rng: np.random.Generator
) -> None:
    query = random_vector(rng)
    old = add(store, "", "heron", near(query, rng), tags=["Birds"])
    clock.now += 5 * DAY_MS
    new = add(store, "", "heron", near(query, rng), tags=["birds"])
    clock.now += 5 * DAY_MS
    other = add(store, "", "heron", near(query, rng), tags=["other"])
    by_meaning_only = add(store, "", "egret", near(query, rng), tags=["birds"])
    found = started(store)

    def ids(**filters) -> set[int]:
        return {r["id"] for r in found.query(query.tobytes(), "heron", **filters)}

    assert ids() == {old, new, other, by_meaning_only}
    assert ids(tag="BIRDS") == {old, new, by_meaning_only}
    assert ids(tag="unknown") == set()
    assert ids(date_from=START_MS + 5 * DAY_MS) == {new, other, by_meaning_only}
    assert ids(date_to=START_MS + 5 * DAY_MS) == {old, new}
    assert ids(tag="birds", date_from=START_MS + DAY_MS, date_to=START_MS + 6 * DAY_MS) == {new}
    assert ids(date_from=START_MS + 100 * DAY_MS) == set()
    assert {i for i, _ in found.nearest(query.tobytes(), 10, tag="other")} == {other}
    with pytest.raises(Invalid):
        found.query(query.tobytes(), "heron", tag=3)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        found.query(query.tobytes(), "heron", date_from=1.5)  # type: ignore[arg-type]


def test_a_word_or_two_finds_notes_holding_them_despite_their_meaning(
    store: Store, rng: np.random.Generator
) -> None:
    query = random_vector(rng)
    for i in range(60):
        add(store, f"similar {i}", "close in meaning", near(query, rng, 0.05))
    far = add(store, "Minutes", "Zanzibar was mentioned once", random_vector(rng))
    found = started(store)
    assert far in [r["id"] for r in found.query(query.tobytes(), "zanzibar", limit=5)]
    assert keyword_weight_for("zanzibar") > keyword_weight_for("what did we decide in the meeting")
    assert keyword_weight_for("東京大学の図書館で会いましょう") == search.KEYWORD_WEIGHT
    assert keyword_weight_for("田中太郎") == keyword_weight_for("zanzibar")


def test_words_alone_without_a_vector_or_a_model(store: Store, rng: np.random.Generator) -> None:
    note = add(store, "Kettle", "descale with vinegar", random_vector(rng))
    assert [r["id"] for r in started(store).query(None, "vinegar")] == [note]
    wordy = started(store, model_id=None)
    assert wordy.status() == {"model_id": None, "ready": True, "vectors": 0}
    assert [r["id"] for r in wordy.query(random_vector(rng).tobytes(), "vinegar")] == [note]
    assert wordy.related(note) == []


def test_related_notes_are_the_nearest_others_without_the_trash(
    store: Store, rng: np.random.Generator
) -> None:
    centre = random_vector(rng)
    me = add(store, "me", "", centre)
    closest = [add(store, f"close {i}", "", near(centre, rng, 0.01 * (i + 1))) for i in range(7)]
    for i in range(30):
        add(store, f"far {i}", "", random_vector(rng))
    no_vector = add(store, "no vector", "", None)
    store.delete_note(closest[0])
    found = started(store)
    related = found.related(me, k=5)
    assert [r["id"] for r in related] == closest[1:6]
    assert all(r["semantic"] == r["score"] for r in related)
    assert found.related(me, k=0) == []
    assert found.related(no_vector) == []
    with pytest.raises(NotFound):
        found.related(closest[0])
    # Edited since its vector was made: compared by that vector still.
    store.update_note(me, body="edited")
    assert [r["id"] for r in found.related(me, k=5)] == closest[1:6]


def test_nearest_reranks_as_many_candidates_as_asked(
    store: Store, rng: np.random.Generator
) -> None:
    vectors = np.array([random_vector(rng) for _ in range(400)])
    ids = [add(store, "", "", vector) for vector in vectors]
    found = started(store)
    query = random_vector(rng)
    cosines = vectors @ query
    exact = [ids[i] for i in np.argsort(-cosines)[:5]]
    distance = np.bitwise_count(sign_codes(vectors) ^ sign_codes(query[None])).sum(axis=1)
    by_signs = {ids[i] for i in np.argsort(distance, kind="stable")[:5]}
    assert set(exact) != by_signs  # random vectors: the scan alone gets the order wrong
    assert [i for i, _ in found.nearest(query.tobytes(), 5)] == exact
    shallow = found.nearest(query.tobytes(), 5, rerank=5)
    assert {i for i, _ in shallow} == by_signs
    assert [c for _, c in shallow] == sorted((c for _, c in shallow), reverse=True)


def test_queries_during_loading_are_answered(store: Store, rng: np.random.Generator) -> None:
    vector = random_vector(rng)
    add(store, "", "kiwi", vector)
    found = Search(store, MODEL)
    assert found.status()["ready"] is False
    assert [r["id"] for r in found.query(vector.tobytes(), "kiwi")] == [1]
    found.start()
    assert found.wait_ready(30)
    assert found.query(vector.tobytes(), "kiwi")[0]["semantic"] == pytest.approx(1.0)


def test_query_vectors_are_checked(rng: np.random.Generator) -> None:
    vector = random_vector(rng)
    assert np.allclose(query_vector(vector.tobytes()), vector)
    assert np.allclose(query_vector((3 * vector).tolist()), vector)
    assert query_vector(None) is None
    assert query_vector(bytes(2048)) is None
    for bad in [b"short", [1.0] * 511, ["x"] * 512, [True] * 512, "text", 5,
                np.full(512, np.nan, np.float32).tobytes()]:
        with pytest.raises(Invalid):
            query_vector(bad)


def test_fuse_weighs_ranks() -> None:
    assert fuse([1, 2, 3], [3, 4], k=1, keyword_weight=1) == [
        (3, pytest.approx(1 / 4 + 1 / 2)),
        (1, pytest.approx(1 / 2)),
        (2, pytest.approx(1 / 3)),
        (4, pytest.approx(1 / 3)),
    ]
    assert [i for i, _ in fuse([1, 2], [2, 1], keyword_weight=0.5)] == [1, 2]
    assert fuse([], []) == []
