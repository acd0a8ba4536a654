"""File names from titles: safe on Windows, macOS and Linux, and never the same twice."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.exports.filenames import FALLBACK, MAX_STEM_BYTES, NamePicker, safe_stem

WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{name}{digit}" for name in ("COM", "LPT") for digit in "0123456789¹²³"
}


def check_portable(stem: str) -> None:
    assert stem
    assert not set(stem) & set('<>:"/\\|?*')
    assert not any(ord(char) < 32 or ord(char) == 127 for char in stem)
    assert stem not in (".", "..") and not stem.startswith(".")
    assert not stem.endswith((".", " ")) and not stem.startswith(" ")
    assert stem.split(".")[0].rstrip().upper() not in WINDOWS_RESERVED
    assert len(unicodedata.normalize("NFD", stem).encode("utf-8")) <= MAX_STEM_BYTES
    assert len(stem.encode("utf-16-le")) // 2 <= MAX_STEM_BYTES


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=600))
def test_any_title_gives_a_portable_name(title: str) -> None:
    check_portable(safe_stem(title))


def test_names_of_odd_titles() -> None:
    cases = {
        "Lisbon: trams?": "Lisbon- trams",
        "../../etc/passwd": "-..-etc-passwd",
        "a\\b|c": "a-b-c",
        "CON": "CON_",
        "nul.txt": "nul_.txt",
        "Com1 .backup": "Com1_.backup",
        "LPT¹": "LPT¹_",
        "Console": "Console",
        "trailing dots...": "trailing dots",
        " .hidden ": "hidden",
        "tab\there\nnewline": "tab here newline",
        "": FALLBACK,
        "???": FALLBACK,
        "Cafe\u0301": "Café",  # NFC, as most file systems and people expect
    }
    for title, stem in cases.items():
        assert safe_stem(title) == stem, title
    # Cut on a character, never between a letter and its accent.
    long = safe_stem("e\u0301" * 300)
    assert long == "é" * len(long) and len(long) < 300


def test_names_are_unique_without_regard_to_case_and_files_already_there(tmp_path: Path) -> None:
    (tmp_path / "Notes.md").write_text("not ours")
    picker = NamePicker(tmp_path)
    titles = ("notes", "Notes", "NOTES", "Café", "Cafe\u0301")
    names = [picker.pick(title, ".md") for title in titles]
    assert names == ["notes (2).md", "Notes (3).md", "NOTES (4).md", "Café.md", "Café (2).md"]
    written = [picker.write(title, ".md", title) for title in ("CON", "CON", "a/b", "")]
    assert [path.name for path in written] == ["CON_.md", "CON_ (2).md", "a-b.md", "Untitled.md"]
    assert all(path.parent == tmp_path for path in written)
    assert (tmp_path / "Notes.md").read_text() == "not ours"
