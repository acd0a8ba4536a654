"""The personal head's side in Python: what it learns from, and its kept weights.

The webview trains a small multi-label head on the user's own tags (see
webui/worker/personal.js) from note vectors the store holds. This module says
which tags it learns (those on MIN_NOTES or more notes with a current vector),
which notes teach it what, and keeps the weights it sends back, so the next
start loads them instead of training again.

An example is a note with a current vector that carries a tag or had a
suggestion rejected. A tagged note is a positive example of each of its tags
and a negative one of every other label; a rejected suggestion is a negative
example of that tag for that note (a tagged note's own tags win over an older
rejection). An untagged note is no example: the user may simply not have
tagged it yet.

The signature is a digest of all that (labels, notes, their text's hash, tags
and rejections): equal signatures mean the same training, so a head is trained
again only when its examples changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import NotRequired, TypedDict

from desktop.store import PersonalExample, Store, tag_fold

# A tag is learned once this many notes with a current vector carry it.
MIN_NOTES = 3
# Part of the signature: a change to how examples are built retrains every head.
EXAMPLES_FORMAT = 1
VECTOR_DIMENSIONS = 512
# Notes change version when their text does; this much of the hash tells them apart.
VERSION_CHARS = 16


class Example(TypedDict):
    id: int
    version: str
    # Indices into the labels.
    positive: list[int]
    rejected: list[int]
    # A tagged note is an example for every label; an untagged one only for its rejections.
    tagged: bool


class TrainingSet(TypedDict):
    signature: str
    unchanged: NotRequired[bool]
    labels: NotRequired[list[str]]
    examples: NotRequired[list[Example]]


class Head(TypedDict):
    signature: str
    labels: list[str]
    # float32 little-endian: the [512, K] weights row by row, then the K biases.
    weights: bytes


def weights_bytes(labels: int) -> int:
    return 4 * (VECTOR_DIMENSIONS + 1) * labels


def training_set(store: Store, model_id: str, known_signature: str | None = None) -> TrainingSet:
    """The head's labels and examples; only the signature when it is `known_signature`."""
    notes = store.personal_examples(model_id)
    labels = _labels(notes)
    index = {tag_fold(label): i for i, label in enumerate(labels)}
    examples: list[Example] = []
    for note in notes:
        positive = sorted({index[f] for f in map(tag_fold, note["tags"]) if f in index})
        rejected = sorted(
            {index[f] for f in map(tag_fold, note["rejected"]) if f in index} - set(positive)
        )
        tagged = bool(note["tags"])
        if tagged or rejected:
            examples.append({
                "id": note["id"],
                "version": note["content_hash"][:VERSION_CHARS],
                "positive": positive,
                "rejected": rejected,
                "tagged": tagged,
            })
    if not labels:
        examples = []  # nothing to learn: the webview drops its head
    signature = _signature(labels, examples)
    if signature == known_signature:
        return {"signature": signature, "unchanged": True}
    return {"signature": signature, "labels": labels, "examples": examples}


def _labels(notes: list[PersonalExample]) -> list[str]:
    """Tags on at least MIN_NOTES of the notes, in the spelling they have, by fold."""
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for note in notes:
        for name in note["tags"]:
            fold = tag_fold(name)
            counts[fold] = counts.get(fold, 0) + 1
            names.setdefault(fold, name)
    return [names[fold] for fold in sorted(counts) if counts[fold] >= MIN_NOTES]


def _signature(labels: list[str], examples: list[Example]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([EXAMPLES_FORMAT, labels], ensure_ascii=False).encode("utf-8"))
    for example in examples:
        digest.update(json.dumps(example, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def save_head(store: Store, model_id: str, head: Head | None) -> None:
    """Keeps the head trained for the encoder `model_id`; None forgets the kept one."""
    if head is None:
        store.delete_personal_head()
        return
    store.put_personal_head(model_id, head["signature"], head["labels"], head["weights"])


def load_head(store: Store, model_id: str) -> Head | None:
    """The kept head, if it was trained on vectors of the encoder `model_id`."""
    kept = store.get_personal_head()
    if kept is None or kept["model_id"] != model_id:
        return None
    if len(kept["weights"]) != weights_bytes(len(kept["labels"])):
        return None
    return {"signature": kept["signature"], "labels": kept["labels"], "weights": kept["weights"]}
