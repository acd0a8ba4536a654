"""Search quality with the real encoder (ml.embed: the webview's vectors) on real data.

CLINC150 val: 3,000 requests, 150 intents, one note each. For 300 of them (seeded
choice) used as queries, recall@10 is the share of same-intent notes among the
top 10 (the query's own note excluded). Measured (bench/search.py gives the
figures for the same queries among 10,000 and 100,000 notes): semantic 0.758,
keyword 0.548, fused 0.763. The floors sit a little below.

SIB-200: the same sentence in 16 languages. A query in one language must find
the English note with the same index_id among the 800 English sentences.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.search import clinc_notes, embed_notes, pick_queries, quality_store, recall_at_10
from desktop.search import Search
from desktop.store import Store
from ml import data

FLOORS = {"semantic": 0.74, "keyword": 0.53, "fused": 0.75}


@pytest.fixture(scope="module")
def clinc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    notes = clinc_notes("val")
    store, search, ids = quality_store(tmp_path_factory.mktemp("clinc") / "notes.db", notes)
    yield store, search, ids, notes
    store.close()


def test_recall_at_10_by_meaning_words_and_both(clinc: tuple) -> None:
    store, search, ids, notes = clinc
    assert len(notes) == 3000
    queries = pick_queries(300, len(notes))
    recall = recall_at_10(search, store, ids, notes, embed_notes(notes), queries)
    print(recall)
    for side, floor in FLOORS.items():
        assert recall[side] >= floor, (side, recall)
    assert recall["fused"] >= max(recall["semantic"], recall["keyword"]), recall


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Search, dict]]:
    from ml.embed import embed, model_id

    rows = {
        index_id: text
        for split in ("dev", "train")
        for index_id, text in zip(*map(data.sib("eng_Latn", split).get, ("index_id", "text")),
                                  strict=True)
    }
    store = Store(tmp_path_factory.mktemp("sib") / "notes.db")
    vectors = embed(["\n\n" + text for text in rows.values()])  # store.content_text("", text)
    index_of = {}
    for (index_id, text), vector in zip(rows.items(), vectors, strict=True):
        note = store.create_note("", text)
        store.put_embedding(note["id"], vector.tobytes(), model_id(), note["content_hash"])
        index_of[note["id"]] = index_id
    search = Search(store, model_id())
    search.start()
    assert search.wait_ready(60)
    yield store, search, index_of
    store.close()


@pytest.mark.parametrize(
    "language", ["deu_Latn", "zho_Hans", "jpn_Jpan", "arb_Arab", "tha_Thai", "kor_Hang"]
)
def test_a_query_in_one_language_finds_the_english_note(english: tuple, language: str) -> None:
    from ml.embed import embed

    store, search, index_of = english
    rows = data.sib(language, "dev")
    vectors = embed(rows["text"])
    first = []
    for index_id, text, vector in zip(rows["index_id"], rows["text"], vectors, strict=True):
        results = search.query(vector.tobytes(), text, limit=3)
        first.append(bool(results) and index_of[results[0]["id"]] == index_id)
    # Measured: top-1 for 98 or all 99 of the 99 dev sentences in each language.
    assert sum(first) / len(first) >= 0.95, sum(first)
