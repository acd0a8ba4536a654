"""Which dataset label becomes which default tag, and the labeled sets built with it.

The reasons for each choice, with numbers, are in ml/TAGGER.md.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ml import data

# SIB-200 topics. Encyclopedic sentences in 16 languages.
TOPICS: dict[str, str] = {
    "science/technology": "science & tech",
    "travel": "travel",
    "politics": "politics",
    "sports": "sports",
    "health": "health",
    "entertainment": "entertainment",
    "geography": "geography",
}

# CLINC150 domains ("life areas"). Requests to an assistant, in English. None means
# "no tag": small talk ("tell me a joke") and meta ("say that again", "change your
# name") talk to the assistant about itself, not about a subject a note could have,
# so they join the out-of-scope texts as examples of nothing to tag.
LIFE_AREAS: dict[str, str | None] = {
    "banking": "money",
    "credit_cards": "money",
    "kitchen_and_dining": "food",
    "home": "home",
    "auto_and_commute": "car & commute",
    "travel": "travel",
    "utility": "phone & tools",
    "work": "work",
    "small_talk": None,
    "meta": None,
}

# The tagger's outputs, in this order. SIB's "travel" and CLINC's "travel" are one tag.
TAGS: tuple[str, ...] = tuple(
    dict.fromkeys([*TOPICS.values(), *(t for t in LIFE_AREAS.values() if t is not None)])
)

# SIB-200 has no validation split: this share of its index_ids (the same sentences in
# every language) is held out of train for early stopping and the threshold.
SIB_VALIDATION_SHARE = 0.15


@dataclass(frozen=True)
class TaggerSet:
    """Texts with a tag index into TAGS, or -1 for "no tag", and where each came from."""

    texts: list[str]
    tags: list[int]
    sources: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def mapping() -> dict:
    """The whole dataset-to-tag mapping, recorded with a trained tagger to detect staleness."""
    return {"tags": list(TAGS), "sib200": TOPICS, "clinc150": LIFE_AREAS}


def life_area_only() -> list[int]:
    """Indices into TAGS of the tags that only CLINC150 teaches."""
    return [i for i, t in enumerate(TAGS) if t in LIFE_AREAS.values() and t not in TOPICS.values()]


def sib_validation_ids(seed: int) -> set[str]:
    """index_ids held out of SIB-200 train, the same in every language."""
    ids = sorted(set(data.sib(data.SIB_LANGUAGES[0], "train")["index_id"]), key=int)
    random.Random(seed).shuffle(ids)
    return set(ids[: round(len(ids) * SIB_VALIDATION_SHARE)])


def _add(out: dict[str, list], texts: list[str], tags: list[int], source: str) -> None:
    out["texts"] += texts
    out["tags"] += tags
    out["sources"] += [source] * len(texts)


def _tag_index(tag: str | None) -> int:
    return -1 if tag is None else TAGS.index(tag)


def clinc_set(split: str) -> TaggerSet:
    """CLINC150 in-scope rows mapped to life areas (or none), plus the out-of-scope texts."""
    out: dict[str, list] = {"texts": [], "tags": [], "sources": []}
    rows = data.clinc(split)
    for domain in LIFE_AREAS:
        picked = [i for i, d in enumerate(rows["domain"]) if d == domain]
        source = "clinc:in-scope" if LIFE_AREAS[domain] else f"clinc:{domain}"
        _add(out, [rows["text"][i] for i in picked],
             [_tag_index(LIFE_AREAS[domain])] * len(picked), source)
    oos = data.clinc_oos(split)
    _add(out, oos, [-1] * len(oos), "clinc:oos")
    return TaggerSet(**out)


def sib_set(split: str, seed: int, part: str = "all") -> TaggerSet:
    """SIB-200 rows of all languages mapped to topics.

    split is 'train' or 'dev'; for 'train', part picks 'fit' (rows whose index_id is not
    held out), 'validation' (rows whose index_id is), or 'all'.
    """
    held_out = sib_validation_ids(seed) if split == "train" and part != "all" else set()
    out: dict[str, list] = {"texts": [], "tags": [], "sources": []}
    for language in data.SIB_LANGUAGES:
        rows = data.sib(language, split)
        picked = [
            i for i, index_id in enumerate(rows["index_id"])
            if part == "all" or (index_id in held_out) == (part == "validation")
        ]
        _add(out, [rows["text"][i] for i in picked],
             [_tag_index(TOPICS[rows["category"][i]]) for i in picked], f"sib:{language}")
    return TaggerSet(**out)


def concat(*sets: TaggerSet) -> TaggerSet:
    return TaggerSet(
        [t for s in sets for t in s.texts],
        [t for s in sets for t in s.tags],
        [t for s in sets for t in s.sources],
    )
