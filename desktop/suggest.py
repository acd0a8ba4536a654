"""Tag suggestions for a note: three sources merged, less what it has or was refused.

Sources, as named in each suggestion's reasons:
- "topic": the default tagger (webui/models/tagger), run in the webview's worker;
- "personal": the head the webview trains on the user's own tags (desktop/personal.py);
- "neighbours": the tags of the nearest already-tagged notes, found here by Search.

The webview runs both taggers on a note's vector and sends their outputs here with
the content hash of the text they read (`for_text`), and gets the merged suggestions
back; it keeps the outputs afterwards (Store.put_many_tag_suggestions), off the path
to the screen, so that opening the note later shows its suggestions at once. The
neighbours' tags are looked up each time instead: other notes are tagged and
untagged all the time.

A tag is suggested once however many sources name it: at the highest confidence
any gives it, with every source's reason. Tags the note carries, and tags the user
rejected for it, are left out, compared without regard to case; a tag that exists
is shown in its own spelling. A note without text gets none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NotRequired, TypedDict, cast

from desktop.search import Search
from desktop.store import Note, Store, tag_fold

# Suggestions shown for a note, best first (Alt+1..3 accept them).
MAX_SHOWN = 3
# The nearest notes looked at, and how many of the tagged ones among them vote.
# Only these are re-ranked by exact cosine, not Search's usual RERANK_DEPTH: the
# vectors read from the store were most of a suggest call's Python time (on the
# path from a pause in typing to suggestions shown), and the 10 nearest with
# cosine >= NEIGHBOUR_FLOOR come out the same (measured on CLINC150/SIB-200
# vectors, 300 queries: recall 0.9996 at 1,000 notes either way, 0.9990 against
# 0.9993 at 10,000, 0.9947 against 0.9950 at 50,000).
NEIGHBOURS_CONSIDERED = 100
NEIGHBOURS_USED = 10
# A neighbour less similar than this says nothing about the note (unrelated
# texts sit near cosine 0, texts on one subject mostly above 0.4).
NEIGHBOUR_FLOOR = 0.4
# A tag takes this many voting neighbours carrying it...
MIN_NEIGHBOURS = 2
# ...and a share of the vote (each neighbour weighs its cosine; NEIGHBOUR_PRIOR
# stands for "none of these tags") of at least NEIGHBOUR_THRESHOLD. Measured on
# CLINC150 intents as users' tags (20 tags, 3 notes each): about 43% of notes on a
# tagged intent get its tag and 4% of other notes get any.
NEIGHBOUR_PRIOR = 1.0
NEIGHBOUR_THRESHOLD = 0.5
MODEL_SOURCES = ("topic", "personal")
SOURCES = (*MODEL_SOURCES, "neighbours")


class Output(TypedDict):
    """One tag a model suggested (model sources only)."""

    tag: str
    confidence: float
    source: str


class Reason(TypedDict):
    source: str
    confidence: float
    # For "neighbours": how many of the voting neighbours carry the tag.
    count: NotRequired[int]


class Suggestion(TypedDict):
    tag: str
    confidence: float
    # The source of the highest confidence; reasons has them all, strongest first.
    source: str
    reasons: list[Reason]


class NoteSuggestions(TypedDict):
    content_hash: str
    suggestions: list[Suggestion]
    # The taggers' outputs are missing, of older text, or of another tagger.
    stale: bool
    # The note's current vector (float32 bytes), to compute them from; None if none yet.
    vector: bytes | None


class TextSuggestions(TypedDict):
    # False: the note's text changed since (or it is gone), and nothing is suggested.
    current: bool
    suggestions: list[Suggestion]


def neighbour_reasons(
    nearest: Sequence[tuple[int, float]], tags_of: dict[int, list[str]]
) -> dict[str, tuple[str, Reason]]:
    """Tags the nearest tagged notes vote for: fold -> (name, reason).

    `nearest` is (note id, cosine), nearest first; `tags_of` the tags of those notes.
    """
    voters = [
        (note_id, cosine)
        for note_id, cosine in nearest
        if cosine >= NEIGHBOUR_FLOOR and tags_of.get(note_id)
    ][:NEIGHBOURS_USED]
    total = sum(cosine for _, cosine in voters) + NEIGHBOUR_PRIOR
    weight: dict[str, float] = {}
    count: dict[str, int] = {}
    names: dict[str, str] = {}
    for note_id, cosine in voters:
        for name in tags_of[note_id]:
            fold = tag_fold(name)
            names.setdefault(fold, name)
            weight[fold] = weight.get(fold, 0.0) + cosine
            count[fold] = count.get(fold, 0) + 1
    reasons = {}
    for fold, votes in count.items():
        share = weight[fold] / total
        if votes >= MIN_NEIGHBOURS and share >= NEIGHBOUR_THRESHOLD:
            reasons[fold] = (names[fold], {"source": "neighbours", "confidence": share,
                                           "count": votes})
    return reasons


def merge(
    outputs: Iterable[Output],
    neighbours: dict[str, tuple[str, Reason]],
    leave_out: set[str],
    spelling: dict[str, str],
    limit: int = MAX_SHOWN,
) -> list[Suggestion]:
    """The best `limit` suggestions from the models' outputs and the neighbours' votes.

    `leave_out` holds folds of tags not to suggest; `spelling` maps the folds of
    existing tags to their names.
    """
    found: dict[str, tuple[str, list[Reason]]] = {}
    for output in outputs:
        fold = tag_fold(output["tag"])
        reason: Reason = {"source": output["source"], "confidence": output["confidence"]}
        found.setdefault(fold, (output["tag"], []))[1].append(reason)
    for fold, (name, reason) in neighbours.items():
        found.setdefault(fold, (name, []))[1].append(reason)
    suggestions: list[Suggestion] = []
    for fold, (name, reasons) in found.items():
        if fold in leave_out:
            continue
        # One reason per source: a model listing a tag twice counts once.
        best: dict[str, Reason] = {}
        for reason in reasons:
            kept = best.get(reason["source"])
            if kept is None or reason["confidence"] > kept["confidence"]:
                best[reason["source"]] = reason
        ordered = sorted(
            best.values(), key=lambda r: (-r["confidence"], SOURCES.index(r["source"]))
        )
        suggestions.append({
            "tag": spelling.get(fold, name),
            "confidence": ordered[0]["confidence"],
            "source": ordered[0]["source"],
            "reasons": ordered,
        })
    suggestions.sort(key=lambda s: (-s["confidence"], tag_fold(s["tag"])))
    return suggestions[:limit]


class Suggester:
    """Suggestions for notes, from the store's kept tagger outputs and Search's neighbours."""

    def __init__(self, store: Store, search: Search) -> None:
        self._store = store
        self._search = search

    def for_note(self, note_id: int, tagger: str) -> NoteSuggestions:
        """The note's suggestions from what is kept; `tagger` names the webview's taggers."""
        note = self._store.get_note(note_id)
        kept = self._store.get_tag_suggestions(note_id)
        if kept is not None and kept["content_hash"] != note["content_hash"]:
            kept = None
        vector = self._current_vector(note)
        # Kept as validated outputs (desktop/validate.py tagger_outputs).
        outputs = cast(list[Output], kept["suggestions"]) if kept is not None else []
        return {
            "content_hash": note["content_hash"],
            "suggestions": self._merged(note, outputs, vector),
            "stale": kept is None or kept["tagger"] != tagger,
            "vector": vector,
        }

    def for_text(
        self, note_id: int, content_hash: str, vector: bytes, outputs: list[Output]
    ) -> TextSuggestions:
        """The note's suggestions from the taggers' outputs for its text with
        `content_hash`, computed from `vector`; none if the text changed since.

        Reads only: it sits between a pause in typing and the suggestions showing,
        where a write (a commit waits for the disk) measured up to 15 ms under load."""
        note = self._store.get_note(note_id)
        if note["content_hash"] != content_hash:
            return {"current": False, "suggestions": []}
        return {"current": True, "suggestions": self._merged(note, outputs, vector)}

    def _merged(self, note: Note, outputs: list[Output], vector: bytes | None) -> list[Suggestion]:
        if not (note["title"].strip() or note["body"].strip()):
            return []
        neighbours = {}
        if vector is not None:
            nearest = self._search.nearest(
                vector, NEIGHBOURS_CONSIDERED, exclude=note["id"], rerank=NEIGHBOURS_CONSIDERED
            )
            close = [(i, cosine) for i, cosine in nearest if cosine >= NEIGHBOUR_FLOOR]
            tags_of = self._store.tag_names_of(i for i, _ in close)
            neighbours = neighbour_reasons(close, tags_of)
        leave_out = {tag_fold(tag["name"]) for tag in note["tags"]}
        leave_out.update(map(tag_fold, self._store.rejected_tags(note["id"])))
        names = [output["tag"] for output in outputs]
        spelling = self._store.existing_tag_names(names) if names else {}
        return merge(outputs, neighbours, leave_out, spelling)

    def _current_vector(self, note: Note) -> bytes | None:
        kept = self._store.get_embedding(note["id"])
        if kept is None or kept["content_hash"] != note["content_hash"]:
            return None
        if kept["model_id"] != self._search.status()["model_id"]:
            return None
        return kept["vector"]
