"""Evernote export files (.enex) as notes.

The XML is read as a stream with defusedxml, which refuses entity declarations
(billion laughs) and external references, so a hostile file fails with a reason
instead of exhausting memory or reading other files. Each <note> keeps its title,
its content as readable text (enml.py), its tags, created and updated times and
source URL; its other note-attributes (author, source application, …) are kept as
front matter. Attachments stay behind; the text marks where each one was.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import defusedxml
import defusedxml.ElementTree as SafeElementTree

from desktop import validate
from desktop.imports import Unreadable, check_sizes, enml, front_matter, megabytes, tag_name
from desktop.store import ImportedNote, NoteTag

SUFFIX = ".enex"
MAX_FILE_BYTES = 200_000_000
_NOTE_START = b"<note>"
_CHUNK = 1 << 20
_EVERNOTE_TIME = "%Y%m%dT%H%M%SZ"
_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def check_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise Unreadable(
            f"too large: {megabytes(size)} (the limit is {megabytes(MAX_FILE_BYTES)} an .enex file)"
        )


def count_notes(path: Path) -> int:
    """About how many notes the file holds (the progress bar's total), without parsing it."""
    count = 0
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            data = tail + chunk
            count += data.count(_NOTE_START)
            # Keep a partial "<note>" for the next chunk, never a whole one.
            tail = data[-(len(_NOTE_START) - 1) :]
    return count


def read(path: Path, now: int) -> Iterator[ImportedNote | Unreadable]:
    """Each note of the file in order, or why that note cannot be imported.

    Raises Unreadable when the file itself fails (too large, malformed, hostile);
    the notes before the failure have been yielded by then.
    """
    check_size(path)
    try:
        with path.open("rb") as f:
            yield from _notes(f, now)
    except ElementTree.ParseError as e:
        raise Unreadable(_parse_problem(path, e)) from None
    except defusedxml.EntitiesForbidden:
        raise Unreadable(
            "refused: the XML declares entities, which Evernote never writes "
            "(a “billion laughs” or external-entity attack?)"
        ) from None
    except defusedxml.DefusedXmlException as e:
        raise Unreadable(f"refused: the XML asks for something unsafe ({e})") from None
    except OSError as e:
        raise Unreadable(f"cannot be read: {e.strerror or e}") from None


def _notes(f: IO[bytes], now: int) -> Iterator[ImportedNote | Unreadable]:
    root = None
    for event, element in SafeElementTree.iterparse(f, events=("start", "end")):
        if root is None:
            root = element
            if root.tag != "en-export":
                raise Unreadable(f"not an Evernote export (it starts with <{root.tag}>)")
            continue
        if event == "end" and element.tag == "note":
            try:
                yield _note(element, now)
            except Unreadable as e:
                yield e
            # Notes already read need no memory (attachments can be large).
            root.clear()


def _note(element: Any, now: int) -> ImportedNote:
    title = " ".join((element.findtext("title") or "").split())
    body = enml.to_text(element.findtext("content") or "")
    try:
        check_sizes(title, body)
    except Unreadable as e:
        shown = title if len(title) <= 60 else f"{title[:59]}…"
        raise Unreadable(f"“{shown}”: {e.reason}") from None
    updated = _time(element.findtext("updated"))
    created = _time(element.findtext("created")) or updated or now
    tags: list[NoteTag] = []
    for tag in element.iterfind("tag"):
        name = tag_name(tag.text or "")
        if name:
            tags.append({"name": name, "origin": "user", "added": now})
    source_url, kept = _attributes(element.find("note-attributes"))
    return {
        "title": title,
        "body": body,
        "source_url": source_url,
        "created": created,
        "updated": updated or created,
        "tags": tags,
        "front_matter": front_matter.dump(kept) if kept else None,
        "feedback": [],
    }


def _attributes(element: Any) -> tuple[str | None, dict[str, Any]]:
    """The note's web address, and its other attributes (a name twice: a list)."""
    if element is None:
        return None, {}
    source_url = None
    kept: dict[str, Any] = {}
    for child in element:
        value = (child.text or "").strip()
        if not value:
            continue
        if child.tag == "source-url" and source_url is None:
            with contextlib.suppress(validate.ValidationError):
                source_url = validate.source_url(value)
            if source_url is not None:
                continue
        if child.tag in kept:
            previous = kept[child.tag]
            kept[child.tag] = [*previous, value] if isinstance(previous, list) else [
                previous, value
            ]
        else:
            kept[child.tag] = value
    return source_url, kept


def _time(text: str | None) -> int | None:
    if not text:
        return None
    try:
        when = dt.datetime.strptime(text.strip(), _EVERNOTE_TIME).replace(tzinfo=dt.UTC)
    except ValueError:
        return front_matter.time_ms(text)
    return front_matter.time_ms(when)


def _parse_problem(path: Path, error: ElementTree.ParseError) -> str:
    """Why the parser stopped, in words: text that is not UTF-8, else malformed XML."""
    message = str(error)
    if "invalid token" in message and not _is_utf8(path):
        return f"not UTF-8 text, as the file says it is ({message})"
    return f"malformed XML: {message}"


def _is_utf8(path: Path) -> bool:
    with path.open("rb") as f:
        start = f.read(200)
        declared = _DECLARED_ENCODING.match(start.lstrip(b"\xef\xbb\xbf"))
        if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
            return True  # another encoding, as declared: not a UTF-8 question
        decoder = codecs.getincrementaldecoder("utf-8")()
        f.seek(0)
        try:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True
