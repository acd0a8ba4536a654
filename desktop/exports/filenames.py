"""File names from note titles that are safe on Windows, macOS and Linux.

A name never leaves its folder (no separators, no "." or ".."), avoids what
Windows refuses (<>:"/\\|?* and control characters, CON, NUL, COM1…, a trailing
dot or space), is short enough everywhere (255 UTF-16 units on NTFS, 255 bytes
on ext4 and APFS, where macOS may store the decomposed form), and is unique in
its folder without regard to case or Unicode normalisation, as macOS and
Windows compare names: "Title.md", "Title (2).md", …
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

FALLBACK = "Untitled"
# Bytes of the decomposed UTF-8 stem; with " (99999)" and an extension it stays under 255.
MAX_STEM_BYTES = 200
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{name}{digit}" for name in ("COM", "LPT") for digit in "0123456789¹²³"}
)
_DASHED = re.compile(r"[/\\|:]")
_DROPPED = re.compile(r"[<>\"?*\x00-\x1f\x7f]")


def safe_stem(title: str) -> str:
    """A file name without extension for `title`; FALLBACK when nothing usable is left."""
    # Tabs and line breaks are spaces; other control characters go.
    stem = " ".join(unicodedata.normalize("NFC", title).split())
    stem = " ".join(_DROPPED.sub("", _DASHED.sub("-", stem)).split())
    stem = _shortened(stem).strip(" .")
    if not stem:
        return FALLBACK
    first, dot, rest = stem.partition(".")
    # Windows refuses a reserved name before any extension too ("nul.txt").
    if first.rstrip().upper() in _RESERVED:
        stem = f"{first.rstrip()}_{dot}{rest}"
    return stem


def _shortened(stem: str) -> str:
    while len(unicodedata.normalize("NFD", stem).encode("utf-8")) > MAX_STEM_BYTES:
        stem = stem[:-1]
        # Never leave a base letter without the marks that follow it.
        while stem and unicodedata.combining(stem[-1]):
            stem = stem[:-1]
    return stem


def name_key(name: str) -> str:
    """How case-insensitive, normalising file systems see a name."""
    return unicodedata.normalize("NFC", name).casefold()


class NamePicker:
    """Unique names in one folder: those already there and those handed out count."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._taken = {name_key(entry.name) for entry in folder.iterdir()}

    def write(self, title: str, suffix: str, text: str) -> Path:
        """A new file named after `title` holding `text`; an existing file is never replaced."""
        while True:
            path = self._folder / self.pick(title, suffix)
            try:
                # "x": a file that appeared meanwhile is not overwritten; the next name is tried.
                with path.open("x", encoding="utf-8", newline="") as f:
                    f.write(text)
                return path
            except FileExistsError:
                continue

    def pick(self, title: str, suffix: str) -> str:
        stem = safe_stem(title)
        name = f"{stem}{suffix}"
        number = 1
        while name_key(name) in self._taken:
            number += 1
            name = f"{stem} ({number}){suffix}"
        self._taken.add(name_key(name))
        return name
