"""Margin's own JSON export (desktop/exports/margin_json.py) read back: every note
with its times, tag origins and added times, kept front matter and feedback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from desktop import validate
from desktop.exports.margin_json import FORMAT, VERSION
from desktop.imports import (
    Unreadable,
    check_sizes,
    front_matter,
    megabytes,
    tag_name,
    utf8_text,
)
from desktop.store import ORIGINS, Feedback, ImportedNote, NoteTag

SUFFIX = ".json"
MAX_FILE_BYTES = 200_000_000


def load(path: Path) -> list[Any]:
    """The file's note entries; Unreadable when it is not a Margin export this app reads."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise Unreadable(
                f"too large: {megabytes(size)} (the limit is {megabytes(MAX_FILE_BYTES)} "
                "a JSON file)"
            )
        data = path.read_bytes()
    except OSError as e:
        raise Unreadable(f"cannot be read: {e.strerror or e}") from None
    text = utf8_text(data)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise Unreadable(f"malformed JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise Unreadable("malformed JSON: nested too deeply") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise Unreadable("not a Margin export (JSON files from other apps are not read)")
    version = document.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise Unreadable(f"made by a newer Margin (format version {version}); update Margin")
    notes = document.get("notes")
    if not isinstance(notes, list):
        raise Unreadable("not a Margin export (it has no list of notes)")
    return notes


def note(entry: Any) -> ImportedNote:
    """One entry of the file as a note; Unreadable says which field is wrong."""
    if not isinstance(entry, dict):
        raise Unreadable("an entry that is not a note")
    title, body = _text(entry, "title"), _text(entry, "body")
    check_sizes(title, body)
    url = entry.get("source_url")
    try:
        source_url = None if url is None else validate.source_url(url)
    except validate.ValidationError as e:
        raise Unreadable(e.message) from None
    kept = entry.get("front_matter")
    if kept is not None:
        if not isinstance(kept, str):
            raise Unreadable("its front matter is not text")
        try:
            front_matter.load(kept)
        except yaml.YAMLError:
            raise Unreadable("its front matter is not valid YAML") from None
    return {
        "title": title,
        "body": body,
        "source_url": source_url,
        "created": _time(entry, "created"),
        "updated": _time(entry, "updated"),
        "tags": [_tag(item) for item in _list(entry, "tags")],
        "front_matter": kept,
        "feedback": [_feedback(item) for item in _list(entry, "feedback")],
    }


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise Unreadable(f"its {key} is not text")
    return value


def _time(entry: dict[str, Any], key: str) -> int:
    value = entry.get(key)
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or abs(value) > validate.MAX_SAFE_JS_INT
    ):
        raise Unreadable(f"its {key} time is not a number of milliseconds")
    return value


def _list(entry: dict[str, Any], key: str) -> list[Any]:
    value = entry.get(key, [])
    if not isinstance(value, list):
        raise Unreadable(f"its {key} are not a list")
    return value


def _tag(item: Any) -> NoteTag:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise Unreadable("a tag without a name")
    origin = item.get("origin", "user")
    if origin not in ORIGINS:
        raise Unreadable(f"a tag's origin is {origin!r}, not one of {', '.join(ORIGINS)}")
    return {"name": tag_name(item["name"]), "origin": origin, "added": _time(item, "added")}


def _feedback(item: Any) -> Feedback:
    if not isinstance(item, dict):
        raise Unreadable("suggestion feedback that is not an object")
    state = item.get("state")
    if state not in ("accepted", "rejected"):
        raise Unreadable("suggestion feedback that is neither accepted nor rejected")
    confidence = item.get("confidence")
    if confidence is not None and (
        not isinstance(confidence, int | float) or isinstance(confidence, bool)
    ):
        raise Unreadable("a suggestion's confidence is not a number")
    return {
        "tag": _text(item, "tag"),
        "state": state,
        "source": _text(item, "source"),
        "confidence": confidence,
        "at": _time(item, "at"),
    }
