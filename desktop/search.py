"""Finding notes by meaning and by words: the ranking behind the search box.

    search = Search(store, encoder_model_id(paths.webui_dir()))
    search.start()                                   # loads vectors on a thread
    search.query(vector, "tram lisbon", tag="travel", limit=20)
    search.related(note_id, k=5)

A query has two sides. Meaning: the webview embeds the query text with the same
encoder as the notes, and the nearest note vectors by cosine come first (sign
codes of every vector live in a VectorIndex; the few hundred nearest by code are
re-ranked by exact cosine over their float32 vectors from the store). Words: the
store's full-text index ranks notes by BM25 on the words typed. The two rankings
are fused by weighted reciprocal rank (see RRF_K), and each result carries its
matched words as [text, is_match] segments: note text never becomes markup.

The index follows every change the store makes (Store.watch). It is loaded on a
background thread after start; until then queries rank over what is loaded.

The date filter bounds `updated`, the time the note list shows and sorts by.

CJK and Thai: the store's notes_grams index finds any part of a run of those
scripts by its character pairs (see migrations.unspaced_grams), and the
multilingual encoder covers their meaning.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

import numpy as np

from desktop import migrations
from desktop.store import (
    MAX_KEYWORD_WORDS,
    SNIPPET_CHARS,
    VECTOR_BYTES,
    VECTOR_DIMENSIONS,
    Invalid,
    Note,
    Store,
    StoreError,
    fold_term,
    query_words,
    text_tokens,
)
from desktop.vector_index import VectorIndex

log = logging.getLogger(__name__)

# Weighted reciprocal rank fusion: a note scores 1 / (RRF_K + its semantic rank)
# plus keyword_weight / (RRF_K + its keyword rank). Tuned on CLINC150 (val and 20
# per intent of train, bench/search.py --tune; best or near it on both, while
# equal weights fall below the semantic side alone): on sentences, words add
# little to meaning.
RRF_K = 20
KEYWORD_WEIGHT = 0.15
# A query of a word or two is mostly a name or a term the user wants to see as
# typed, and its embedding says little: then both sides weigh the same. (Not
# tuned: CLINC150 has few such queries; a product choice.)
SHORT_QUERY_WORDS = 2
SHORT_QUERY_CHARS = 24
# CJK writes a sentence as one "word"; a name or term in it is a few characters.
SHORT_QUERY_UNSPACED_CHARS = 4
SHORT_QUERY_KEYWORD_WEIGHT = 1.0
# Notes less similar than this to the query take no part by meaning: unrelated
# texts sit near cosine 0, a CLINC150 query's 10th best same-intent match above
# 0.38 in 99% of queries, and recall@10 is the same with this floor as without.
# So a query that matches nothing finds nothing, rather than the least far notes.
SEMANTIC_FLOOR = 0.2
# How many notes of each ranking take part in the fusion.
FUSION_DEPTH = 100
# Notes re-ranked by exact cosine after the sign-code scan (see vector_index).
RERANK_DEPTH = 300
# Vectors read from the store per batch while loading (one short read each,
# so the UI's own calls go in between).
LOAD_BATCH = 1000
# The body is searched this far for the passage to show.
_SNIPPET_SCAN_CHARS = 20_000


class Result(TypedDict):
    id: int
    title: str
    snippet: str
    # The title and the snippet as [text, is_match] segments.
    highlights: dict[str, list[list[str | bool]]]
    updated: int
    tags: list[str]
    score: float
    # Cosine similarity and BM25 score, None when that side did not rank the note.
    semantic: float | None
    keyword: float | None


def encoder_model_id(webui: Path) -> str | None:
    """The id of the encoder the webview loads (webui/models/use/manifest.json), None if absent."""
    try:
        manifest = json.loads((webui / "models" / "use" / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    model_id = manifest.get("model_id") if isinstance(manifest, dict) else None
    return model_id if isinstance(model_id, str) and model_id else None


def query_vector(vector: object) -> np.ndarray | None:
    """A query vector as unit float32: bytes (float32 little-endian) or 512 numbers.

    None, and a vector of zeros, mean "no vector". Anything else malformed is Invalid.
    """
    if vector is None:
        return None
    if isinstance(vector, bytes | bytearray | memoryview):
        if len(vector) != VECTOR_BYTES:
            raise Invalid(f"a query vector must be {VECTOR_BYTES} bytes (512 float32)")
        array = np.frombuffer(vector, "<f4").astype(np.float32)
    elif isinstance(vector, Sequence) and not isinstance(vector, str):
        if len(vector) != VECTOR_DIMENSIONS or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in vector
        ):
            raise Invalid(f"a query vector must be {VECTOR_DIMENSIONS} numbers")
        array = np.asarray(vector, np.float32)
    else:
        raise Invalid("a query vector must be bytes or a list of numbers")
    if not np.isfinite(array).all():
        raise Invalid("a query vector must be finite")
    norm = float(np.linalg.norm(array))
    return None if norm == 0 else array / norm


def fuse(
    semantic: Sequence[int],
    keyword: Sequence[int],
    *,
    k: float = RRF_K,
    keyword_weight: float = KEYWORD_WEIGHT,
) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion of two rankings (ids, best first), best first."""
    scores: dict[int, float] = {}
    for ranking, weight in ((semantic, 1.0), (keyword, keyword_weight)):
        for rank, note_id in enumerate(ranking, start=1):
            scores[note_id] = scores.get(note_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def keyword_weight_for(text: str) -> float:
    """The keyword side's weight in the fusion for this query text."""
    if (
        len(query_words(text)) <= SHORT_QUERY_WORDS
        and len(text.strip()) <= SHORT_QUERY_CHARS
        and sum(map(len, migrations.unspaced_runs(text))) <= SHORT_QUERY_UNSPACED_CHARS
    ):
        return SHORT_QUERY_KEYWORD_WEIGHT
    return KEYWORD_WEIGHT


class Search:
    """Ranks notes for a query; keeps its vector index in step with the store."""

    def __init__(self, store: Store, model_id: str | None) -> None:
        """`model_id`: the encoder whose vectors are searched (None: words only)."""
        self._store = store
        self._model_id = model_id
        self._index = VectorIndex()
        self._ready = threading.Event()
        self._loader: threading.Thread | None = None
        # While loading: how many changes the listener has applied, and when
        # (in that count) each note last changed, so a batch read before a change
        # does not overwrite it.
        self._state = threading.Lock()
        self._changes = 0
        self._changed_at: dict[int, int] | None = {}
        self.load_seconds: float | None = None
        if model_id is None:
            self._finish_loading()
        store.watch(self._on_change)

    # Loading and keeping in step

    def start(self) -> None:
        """Load the store's vectors on a background thread; searching works meanwhile,
        over the vectors loaded so far (and fully by words)."""
        if self._loader is None and not self._ready.is_set():
            self._loader = threading.Thread(target=self._load, name="search-load", daemon=True)
            self._loader.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once every vector is loaded."""
        return self._ready.wait(timeout)

    def status(self) -> dict[str, object]:
        """What the status bar can show: the model, whether loading is done, vectors held."""
        return {
            "model_id": self._model_id,
            "ready": self._ready.is_set(),
            "vectors": len(self._index),
        }

    def _load(self) -> None:
        assert self._model_id is not None
        started = time.perf_counter()
        after = 0
        try:
            while True:
                with self._state:
                    seen = self._changes
                batch = self._store.vector_rows(self._model_id, after_id=after, limit=LOAD_BATCH)
                if not batch["ids"]:
                    break
                after = batch["ids"][-1]
                vectors = np.frombuffer(batch["vectors"], "<f4").reshape(-1, VECTOR_DIMENSIONS)
                with self._state:
                    assert self._changed_at is not None
                    fresh = [
                        i
                        for i, note_id in enumerate(batch["ids"])
                        if self._changed_at.get(note_id, -1) <= seen
                    ]
                    self._index.put(
                        [batch["ids"][i] for i in fresh],
                        [batch["updated"][i] for i in fresh],
                        vectors[fresh],
                    )
        except StoreError as exc:
            log.warning("search stopped loading vectors: %s (%s)", exc.message, exc.code)
            return
        self.load_seconds = time.perf_counter() - started
        log.info("search loaded %d vectors in %.2f s", len(self._index), self.load_seconds)
        self._finish_loading()

    def _finish_loading(self) -> None:
        with self._state:
            self._changed_at = None
        self._ready.set()

    def _on_change(self, note_ids: list[int]) -> None:
        """Store listener: re-read these notes' current vectors (under the store's lock)."""
        if self._model_id is None:
            return
        rows = self._store.vector_rows_of(self._model_id, note_ids)
        vectors = np.frombuffer(rows["vectors"], "<f4").reshape(-1, VECTOR_DIMENSIONS)
        with self._state:
            self._changes += 1
            if self._changed_at is not None:
                for note_id in note_ids:
                    self._changed_at[note_id] = self._changes
            self._index.remove(set(note_ids) - set(rows["ids"]))
            self._index.put(rows["ids"], rows["updated"], vectors)

    # Queries

    def query(
        self,
        vector: object,
        text: str,
        tag: str | None = None,
        date_from: int | None = None,
        date_to: int | None = None,
        limit: int = 20,
    ) -> list[Result]:
        """The best `limit` live notes for a query, best first.

        `vector` is the query text's embedding (see query_vector), or None to rank
        by words alone; notes below SEMANTIC_FLOOR take no part by meaning. A
        text without a letter or digit in it (blank, punctuation) finds nothing.
        `tag` keeps notes carrying it (any case); `date_from` and `date_to` bound
        `updated`, inclusive, in ms since the epoch.
        """
        if not isinstance(text, str):
            raise Invalid("the search text must be a string")
        _check_count(limit, "limit")
        _check_filters(tag, date_from, date_to)
        query = query_vector(vector)
        if not (query_words(text) or migrations.unspaced_runs(text)) or limit == 0:
            return []
        semantic = []
        if query is not None:
            nearest = self.nearest(
                query, FUSION_DEPTH, tag=tag, date_from=date_from, date_to=date_to
            )
            semantic = [(i, cosine) for i, cosine in nearest if cosine >= SEMANTIC_FLOOR]
        keyword = self._store.keyword_search(
            text, tag=tag, updated_from=date_from, updated_to=date_to, limit=FUSION_DEPTH
        )
        cosine = dict(semantic)
        bm25 = {hit["id"]: hit["score"] for hit in keyword}
        fused = fuse(
            [i for i, _ in semantic],
            [hit["id"] for hit in keyword],
            keyword_weight=keyword_weight_for(text),
        )[:limit]
        highlight = _Highlighter(text)
        scores = dict(fused)
        results = []
        for note in self._store.get_notes(scores):
            i = note["id"]
            results.append(_result(note, highlight, scores[i], cosine.get(i), bm25.get(i)))
        return results

    def related(self, note_id: int, k: int = 5) -> list[Result]:
        """The `k` live notes nearest in meaning to this one (itself left out).

        A note whose text changed since its vector was made is compared by that
        older vector; a note with no vector has no related notes yet.
        """
        _check_count(k, "k")
        note = self._store.get_note(note_id)
        stored = self._store.get_embedding(note["id"])
        if stored is None or stored["model_id"] != self._model_id:
            return []
        cosine = dict(self.nearest(stored["vector"], k, exclude=note["id"]))
        no_words = _Highlighter("")
        return [
            _result(other, no_words, cosine[other["id"]], cosine[other["id"]], None)
            for other in self._store.get_notes(cosine)
        ]

    def nearest(
        self,
        vector: object,
        count: int,
        *,
        tag: str | None = None,
        date_from: int | None = None,
        date_to: int | None = None,
        exclude: int | None = None,
        rerank: int = RERANK_DEPTH,
    ) -> list[tuple[int, float]]:
        """(id, cosine) of the `count` live notes nearest to `vector`, nearest first.

        The semantic side of query() alone; filters as there, `exclude` leaves a
        note out. The sign-code scan picks max(count, `rerank`) candidates, which
        are re-ranked by exact cosine over their float32 vectors from the store.
        """
        _check_count(count, "count")
        _check_filters(tag, date_from, date_to)
        query = vector if isinstance(vector, np.ndarray) else query_vector(vector)
        if query is None or self._model_id is None or count <= 0:
            return []
        among = None
        if tag is not None and tag.strip():
            among = self._store.tagged_note_ids(tag)
        candidates = self._index.nearest(
            query,
            max(count, rerank),
            among=among,
            updated_from=date_from,
            updated_to=date_to,
            exclude=exclude,
        )
        if not candidates:
            return []
        rows = self._store.vector_rows_of(self._model_id, candidates)
        vectors = np.frombuffer(rows["vectors"], "<f4").reshape(-1, VECTOR_DIMENSIONS)
        cosines = vectors @ query
        order = np.argsort(-cosines, kind="stable")[:count]
        return [(rows["ids"][i], float(cosines[i])) for i in order]


def _check_count(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Invalid(f"{name} must be a non-negative integer")


def _check_filters(tag: object, date_from: object, date_to: object) -> None:
    if tag is not None and not isinstance(tag, str):
        raise Invalid("a tag must be a string or None")
    for value in (date_from, date_to):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise Invalid("a date bound must be a time in milliseconds or None")


def _result(
    note: Note, highlight: _Highlighter, score: float, cosine: float | None, bm25: float | None
) -> Result:
    snippet, snippet_segments = highlight.snippet(note["body"])
    return {
        "id": note["id"],
        "title": note["title"],
        "snippet": snippet,
        "highlights": {"title": highlight.segments(note["title"]), "snippet": snippet_segments},
        "updated": note["updated"],
        "tags": [tag["name"] for tag in note["tags"]],
        "score": score,
        "semantic": cosine,
        "keyword": bm25,
    }


class _Highlighter:
    """Marks the query's words in a note's text, as the keyword side matched them.

    Words match whole, ignoring case and accents (as the full-text index does),
    the last word also as a prefix; CJK and Thai runs match anywhere. A query
    of more than MAX_KEYWORD_WORDS distinct words (a pasted passage) marks
    nothing: its matches would be every common word.
    """

    def __init__(self, text: str) -> None:
        words = query_words(text)
        self._whole: set[str] = set()
        self._prefix: str | None = None
        self._runs: list[str] = []
        if len({fold_term(word) for word in words}) > MAX_KEYWORD_WORDS:
            return
        for position, word in enumerate(words):
            tokens = [token for _, _, token in text_tokens(word)]
            if position == len(words) - 1 and tokens:
                self._prefix = tokens.pop()
            self._whole.update(tokens)
        self._runs = list(dict.fromkeys(migrations.unspaced_runs(text)))

    def spans(self, text: str) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        if self._whole or self._prefix:
            for start, end, token in text_tokens(text):
                if token in self._whole or (self._prefix and token.startswith(self._prefix)):
                    found.append((start, end))
        for run in self._runs:
            start = text.find(run)
            while start >= 0:
                found.append((start, start + len(run)))
                start = text.find(run, start + len(run))
        return _merged(found)

    def segments(self, text: str) -> list[list[str | bool]]:
        return _segments(text, self.spans(text), 0, len(text))

    def snippet(self, body: str) -> tuple[str, list[list[str | bool]]]:
        """About SNIPPET_CHARS of the body on one line, around its first match if any."""
        line = " ".join(body[:_SNIPPET_SCAN_CHARS].split())
        spans = self.spans(line)
        start = 0
        if spans and spans[0][1] > SNIPPET_CHARS:
            # Some words before the match, starting at a word.
            start = max(0, spans[0][0] - SNIPPET_CHARS // 3)
            space = line.find(" ", start, spans[0][0])
            if space >= 0:
                start = space + 1
        end = min(len(line), start + SNIPPET_CHARS)
        if end < len(line):
            space = line.rfind(" ", start + SNIPPET_CHARS // 2, end)
            if space > 0:
                end = space
        segments = _segments(line, spans, start, end)
        if start > 0:
            segments.insert(0, ["…", False])
        if end < len(line) or len(body) > _SNIPPET_SCAN_CHARS:
            segments.append(["…", False])
        return "".join(str(text) for text, _ in segments), segments


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _segments(
    text: str, spans: list[tuple[int, int]], start: int, end: int
) -> list[list[str | bool]]:
    """text[start:end] as [piece, is_match] segments, matches cut to the window."""
    segments: list[list[str | bool]] = []
    at = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start >= span_end:
            continue
        if span_start > at:
            segments.append([text[at:span_start], False])
        segments.append([text[span_start:span_end], True])
        at = span_end
    if at < end:
        segments.append([text[at:end], False])
    return segments

