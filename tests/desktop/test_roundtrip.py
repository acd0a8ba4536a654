"""Margin → Markdown → a fresh Margin, and Margin → JSON → a fresh Margin, give back the
same notes: text, times, source, tags (with origins; with their added times through
JSON), kept front matter, and (through JSON) suggestion feedback. Hypothesis makes
a few hundred notes at a time, with any Unicode, empty bodies and odd titles."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.exports import margin_json as json_export
from desktop.exports import markdown as markdown_export
from desktop.imports import front_matter
from desktop.imports.job import ImportRun
from desktop.store import ExportedNote, ImportedNote, Store, _fold, clean_tag_name

# Any character a note can hold: everything but lone surrogates.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
TITLES = st.one_of(
    TEXT,
    st.sampled_from(["", " ", "CON", "nul.txt", "../../etc/passwd", "a/b\\c:d", "...", "-",
                     "yes", "null", "~", "1e3", "#tag", "---", "title: x", "Ünïcödé ✓ 🙂",
                     "e\u0301" * 80, "x" * 500]),
)
BODIES = st.one_of(
    st.just(""),
    TEXT,
    st.sampled_from(["---\nlooks: like front matter\n---\n", "#notatag here", "\r\n\r\n",
                     "line\rreturn", "\x00nul", "\ufeffbom", "ends with ---\n---"]),
)
TIMES = st.integers(min_value=0, max_value=4_102_444_800_000)  # 1970 to 2100
TAG_NAMES = TEXT.filter(lambda name: bool(name.split()) and len(" ".join(name.split())) <= 64)
# Keys an import would read as one of the note's own fields are not "other keys".
KNOWN_KEYS = {"title", "tags", "tag", "created", "updated", "source_url", "source", "url",
              "accepted_suggestions", "margin_export"}
EXTRA = st.dictionaries(
    TEXT.filter(lambda key: key not in KNOWN_KEYS and not key.endswith(" (as imported)")),
    st.one_of(TEXT, st.integers(-(2**40), 2**40), st.booleans(), st.none(),
              st.lists(TEXT, max_size=3), st.dates(dt.date(1900, 1, 1))),
    max_size=3,
)


@st.composite
def notes(draw) -> ImportedNote:
    names = draw(st.lists(TAG_NAMES, max_size=4, unique_by=lambda n: _fold(clean_tag_name(n))))
    extra = draw(EXTRA)
    return {
        "title": draw(TITLES),
        "body": draw(BODIES),
        "source_url": draw(st.one_of(st.none(), st.just("https://example.org/a?b=c#d"))),
        "created": draw(TIMES),
        "updated": draw(TIMES),
        "tags": [{"name": name, "origin": draw(st.sampled_from(["user", "accepted"])),
                  "added": draw(TIMES)} for name in names],
        "front_matter": front_matter.dump(extra) if extra else None,
        "feedback": draw(st.lists(st.fixed_dictionaries({
            "tag": TEXT, "state": st.sampled_from(["accepted", "rejected"]),
            "source": st.just("tagger"), "confidence": st.one_of(st.none(), st.floats(0, 1)),
            "at": TIMES,
        }), max_size=2)),
    }


# Hypothesis draws up to 25 notes at a time; each comes back in COPIES with the same
# title (so file names collide) and a body that differs past its end (so none is
# a duplicate), which makes a few hundred notes per example.
COPIES = 12
NOTE_LISTS = st.lists(notes(), min_size=12, max_size=25,
                      unique_by=lambda note: (note["title"], note["body"]))


def copies(items: list[ImportedNote]) -> list[ImportedNote]:
    return [{**note, "body": note["body"] + "\n" * k} for k in range(COPIES) for note in items]


def fill(store: Store, items: list[ImportedNote]) -> list[ExportedNote]:
    job = store.begin_import("generated", "test")
    outcomes = store.record_import(
        job["id"], [{"item": str(i), "note": note, "reason": None} for i, note in enumerate(items)]
    )
    assert set(outcomes) == {"imported"}
    return store.export_notes(limit=1000)


def comparable(note: ExportedNote, *, added: bool, feedback: bool) -> dict:
    tags = sorted(
        (tag["name"], tag["origin"], tag["added"] if added else None) for tag in note["tags"]
    )
    kept = front_matter.load(note["front_matter"]) if note["front_matter"] else None
    return {
        "title": note["title"], "body": note["body"], "source_url": note["source_url"],
        "created": note["created"], "updated": note["updated"], "tags": tags,
        "front_matter": kept, "feedback": note["feedback"] if feedback else None,
    }


def round_trip(items: list[ImportedNote], export, *, added: bool, feedback: bool) -> None:
    items = copies(items)
    assert len(items) >= 144
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source, target = Store(root / "a.db"), Store(root / "b.db")
        try:
            original = fill(source, items)
            written = export(source, root / "out")
            assert written["count"] == len(items)
            progress = ImportRun(target, Path(written["path"])).run()
            assert (progress["state"], progress["failed"], progress["duplicates"]) == (
                "done", 0, 0), progress["failures"][:3]
            back = target.export_notes(limit=1000)
        finally:
            source.close()
            target.close()
    key = lambda note: (note["title"], note["body"])  # noqa: E731
    assert [comparable(n, added=added, feedback=feedback) for n in sorted(back, key=key)] == [
        comparable(n, added=added, feedback=feedback) for n in sorted(original, key=key)
    ]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NOTE_LISTS)
def test_margin_to_markdown_to_margin(items: list[ImportedNote]) -> None:
    round_trip(items, markdown_export.export, added=False, feedback=False)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NOTE_LISTS)
def test_margin_to_json_to_margin(items: list[ImportedNote]) -> None:
    round_trip(items, json_export.export, added=True, feedback=True)


def test_exported_markdown_reads_well(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    fill(store, [{
        "title": "Lisbon: trams?", "body": "Yellow #28.\n", "source_url": "https://example.org",
        "created": 1_700_000_000_000, "updated": 1_700_000_000_500,
        "tags": [{"name": "travel", "origin": "user", "added": 1},
                 {"name": "city", "origin": "accepted", "added": 2}],
        "front_matter": "aliases:\n- lx\n", "feedback": [],
    }])
    markdown_export.export(store, tmp_path / "out")
    store.close()
    [path] = (tmp_path / "out").iterdir()
    assert path.name == "Lisbon- trams.md"
    assert path.read_text(encoding="utf-8") == (
        "---\n"
        "title: 'Lisbon: trams?'\n"
        "created: 2023-11-14T22:13:20Z\n"
        "updated: 2023-11-14T22:13:20.500Z\n"
        "source_url: https://example.org\n"
        "tags:\n- travel\n- city\n"
        "accepted_suggestions:\n- city\n"
        "aliases:\n- lx\n"
        "margin_export: 1\n"
        "---\n"
        "Yellow #28.\n"
    )
    assert path.stat().st_mtime_ns == 1_700_000_000_500 * 1_000_000
