"""Notes as Markdown files: one per note, YAML front matter, then the body as typed.

Front matter: title, created and updated (UTC timestamps), source_url, tags (all
of them), accepted_suggestions (the tags that came from accepted suggestions),
the keys an import kept, and `margin_export` (the format's version), which tells
desktop/imports/markdown.py that the tags listed are all the note's tags.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from desktop.exports.filenames import NamePicker
from desktop.imports import front_matter
from desktop.imports.markdown import ACCEPTED_KEY, EXPORT_MARKER
from desktop.store import ExportedNote, Store

FORMAT_VERSION = 1
SUFFIX = ".md"
PAGE = 500


def note_markdown(note: ExportedNote) -> str:
    meta: dict[Any, Any] = {
        "title": note["title"],
        "created": front_matter.yaml_time(note["created"]),
        "updated": front_matter.yaml_time(note["updated"]),
    }
    if note["source_url"] is not None:
        meta["source_url"] = note["source_url"]
    meta["tags"] = [tag["name"] for tag in note["tags"]]
    accepted = [tag["name"] for tag in note["tags"] if tag["origin"] == "accepted"]
    if accepted:
        meta[ACCEPTED_KEY] = accepted
    if note["front_matter"] is not None:
        for key, value in front_matter.load(note["front_matter"]).items():
            meta.setdefault(key, value)
    meta[EXPORT_MARKER] = FORMAT_VERSION
    return f"---\n{front_matter.dump(meta)}---\n{note['body']}"


def export(store: Store, folder: Path) -> dict[str, Any]:
    """Writes every live note into `folder` (made if missing); never replaces a file."""
    folder.mkdir(parents=True, exist_ok=True)
    picker = NamePicker(folder)
    count = 0
    after = 0
    while notes := store.export_notes(after_id=after, limit=PAGE):
        for note in notes:
            _write(picker, note)
            count += 1
        after = notes[-1]["id"]
    return {"count": count, "path": str(folder)}


def _write(picker: NamePicker, note: ExportedNote) -> None:
    path = picker.write(note["title"], SUFFIX, note_markdown(note))
    updated_ns = note["updated"] * 1_000_000
    # A time the file system cannot hold stays in the front matter only.
    with contextlib.suppress(OverflowError, OSError, ValueError):
        os.utime(path, ns=(updated_ns, updated_ns))
