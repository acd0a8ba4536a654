"""Markdown files and folders of them (an Obsidian vault, say) as notes.

- Title: the front matter's `title`, else the file name without its extension.
- Body: the text after the front matter, exactly as in the file.
- Tags: the front matter's `tags` (a list, or one text of names split at commas
  or spaces), inline #tags outside code, and the folder the file is in, relative
  to the imported folder, as one tag ("Projects/2024"). A file Margin exported
  (front matter `margin_export`) lists all its tags, so only those count.
- Times: front matter `created` and `updated`, else the file's own times.
- Source: `source_url`, `source` or `url` when it is a web address.
- Every other key is kept (note_front_matter) and written back on export; so is a
  known key whose value Margin cannot use, under the same name plus " (as imported)".
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop import validate
from desktop.imports import (
    Unreadable,
    check_sizes,
    front_matter,
    megabytes,
    name_text,
    tag_name,
    utf8_text,
)
from desktop.store import ImportedNote, NoteTag

SUFFIXES = (".md", ".markdown", ".txt")
MAX_FILE_BYTES = 5_000_000
# Written by desktop/exports/markdown.py: the file's tags are all in its front matter.
EXPORT_MARKER = "margin_export"
ACCEPTED_KEY = "accepted_suggestions"
_SOURCE_KEYS = ("source_url", "source", "url")
_TIME_KEYS = ("created", "updated")
_KEPT_SUFFIX = " (as imported)"

# Fenced code blocks and inline code spans hold no tags.
_CODE = re.compile(r"^(```|~~~).*?(?:^\1[^\n]*$|\Z)|`[^`\n]*`", re.DOTALL | re.MULTILINE)
# Obsidian's inline tags: after a space or at a line start, letters, digits, _ - /,
# not only digits.
_INLINE_TAG = re.compile(r"(?:(?<=\s)|^)#([\w/-]*[^\W\d][\w/-]*)", re.MULTILINE)


def read(path: Path, root: Path | None, now: int) -> ImportedNote:
    """The note in a Markdown file; `root` is the imported folder (None for one file).

    Raises Unreadable with the reason when the file cannot be a note.
    """
    try:
        stat = path.stat()
    except OSError as e:
        raise Unreadable(f"cannot be read: {e.strerror or e}") from None
    meta, body = front_matter.split(utf8_text(_read_bytes(path, stat.st_size)))
    meta = dict(meta or {})
    title = _take_title(meta, path)
    exported = meta.pop(EXPORT_MARKER, None) is not None
    # Obsidian lets a listed tag start with "#"; Margin's own tags may, as they are.
    hash_mark = "" if exported else "#"
    tags = _take_tags(meta, "tags", "user", now, hash_mark) + _take_tags(
        meta, "tag", "user", now, hash_mark
    )
    accepted = _take_tags(meta, ACCEPTED_KEY, "accepted", now, hash_mark)
    if not exported:
        tags += [_tag(name, "user", now) for name in inline_tags(body)]
        if root is not None:
            folder = name_text(path.parent.relative_to(root).as_posix())
            if folder != ".":
                tags.append(_tag(unicodedata.normalize("NFC", folder), "user", now))
    updated = _take_time(meta, "updated")
    if updated is None:
        updated = _file_ms(stat.st_mtime_ns)
    created = _take_time(meta, "created")
    if created is None:
        created = _birth_ms(stat)
    if created is None:
        created = updated
    source_url = _take_source(meta)
    check_sizes(title, body)
    return {
        "title": title,
        "body": body,
        "source_url": source_url,
        "created": created,
        "updated": updated,
        "tags": _merged(accepted + tags),
        "front_matter": front_matter.dump(_renamed_known(meta)) if meta else None,
        "feedback": [],
    }


def _read_bytes(path: Path, size: int) -> bytes:
    if size > MAX_FILE_BYTES:
        raise Unreadable(
            f"too large: {megabytes(size)} (the limit is {megabytes(MAX_FILE_BYTES)} a file)"
        )
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise Unreadable(f"cannot be read: {e.strerror or e}") from None
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"too large (the limit is {megabytes(MAX_FILE_BYTES)} a file)")
    return data


def inline_tags(body: str) -> Iterator[str]:
    """The #tags written in a Markdown text, outside code, without the "#"."""
    for match in _INLINE_TAG.finditer(_CODE.sub(" ", body)):
        name = match.group(1).strip("/")
        if name:
            yield name


def _take_title(meta: dict[Any, Any], path: Path) -> str:
    value = meta.get("title")
    if value is None or _is_plain(value):
        meta.pop("title", None)
    if _is_plain(value):
        return str(value)
    return unicodedata.normalize("NFC", name_text(path.stem))


def _take_tags(
    meta: dict[Any, Any], key: str, origin: str, now: int, hash_mark: str
) -> list[NoteTag]:
    value = meta.get(key)
    if value is None:
        meta.pop(key, None)
        return []
    if isinstance(value, str):
        names = re.split(r"[,\s]+", value) if "," not in value else value.split(",")
    elif isinstance(value, list) and all(_is_plain(item) for item in value):
        names = [str(item) for item in value]
    else:
        return []  # kept as it is, under a changed name (_renamed_known)
    del meta[key]
    names = [name.strip().lstrip(hash_mark) for name in names]
    return [_tag(name, origin, now) for name in names if name.strip()]


def _is_plain(item: object) -> bool:
    return isinstance(item, str | int | float) and not isinstance(item, bool)


def _tag(name: str, origin: str, now: int) -> NoteTag:
    return {"name": tag_name(name), "origin": origin, "added": now}


def _merged(tags: list[NoteTag]) -> list[NoteTag]:
    """One tag per name (ignoring case), the first kept; empty names dropped."""
    seen: set[str] = set()
    merged = []
    for tag in tags:
        fold = tag["name"].casefold()
        if tag["name"] and fold not in seen:
            seen.add(fold)
            merged.append(tag)
    return merged


def _take_time(meta: dict[Any, Any], key: str) -> int | None:
    if meta.get(key) is None:
        meta.pop(key, None)
        return None
    ms = front_matter.time_ms(meta[key])
    if ms is not None:
        del meta[key]
    return ms


def _take_source(meta: dict[Any, Any]) -> str | None:
    for key in _SOURCE_KEYS:
        value = meta.get(key)
        if isinstance(value, str):
            try:
                url = validate.source_url(value)
            except validate.ValidationError:
                continue
            if url is not None:
                del meta[key]
                return url
    return None


def _renamed_known(meta: dict[Any, Any]) -> dict[Any, Any]:
    """Keys Margin writes on export, kept here because their value was unusable, renamed
    so that the export writes both."""
    written = {"title", "tags", ACCEPTED_KEY, EXPORT_MARKER, "source_url", *_TIME_KEYS}
    return {
        (f"{key}{_KEPT_SUFFIX}" if key in written else key): value for key, value in meta.items()
    }


def _file_ms(ns: int) -> int:
    return ns // 1_000_000


def _birth_ms(stat: os.stat_result) -> int | None:
    """When the file was made, where the system says (macOS, Windows); never after mtime."""
    birth = getattr(stat, "st_birthtime_ns", None)
    if birth is None:
        seconds = getattr(stat, "st_birthtime", None)
        birth = None if seconds is None else int(seconds * 1e9)
    if birth is None:
        return None
    return min(_file_ms(birth), _file_ms(stat.st_mtime_ns))
