"""Bringing notes into Margin: one module per format, and a runner (job.py).

Each format module turns what it reads into store.ImportedNote dicts, and what it
cannot read into Unreadable, whose reason is shown to the user with the file's
name. job.py stores them in batches, deduplicated and recorded for resuming.
"""

from __future__ import annotations

import math

from desktop import validate


class Unreadable(Exception):
    """A file or entry that cannot become a note; `reason` is for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def megabytes(size: int) -> str:
    """"5.1 MB": rounded up, so a size just over a limit never reads as the limit."""
    return f"{math.ceil(size / 100_000) / 10:g} MB"


def tag_name(name: str) -> str:
    """A tag name as the app keeps it: whitespace collapsed, cut to what can be typed."""
    return " ".join(name.split())[: validate.MAX_TAG_CHARS].strip()


def check_sizes(title: str, body: str) -> None:
    """Raises Unreadable for a note the app could not save (validate's limits)."""
    if len(title) > validate.MAX_TITLE_CHARS:
        raise Unreadable(f"the title is longer than {validate.MAX_TITLE_CHARS} characters")
    size = len(body.encode("utf-8"))
    if size > validate.MAX_BODY_BYTES:
        raise Unreadable(
            f"too large: {megabytes(size)} of text (a note holds at most "
            f"{megabytes(validate.MAX_BODY_BYTES)})"
        )


def name_text(name: str) -> str:
    """A file or folder name as text that can be stored and shown. Bytes of the name
    that are not UTF-8 (which Python keeps as lone surrogates) are written as \\xNN,
    so no two names become one."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def utf8_text(data: bytes) -> str:
    """The bytes as text (a leading byte-order mark dropped); Unreadable if not UTF-8."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise Unreadable(
            f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None
