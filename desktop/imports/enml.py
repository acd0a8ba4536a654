"""Evernote's note markup (ENML, an XHTML subset) as readable plain text.

Block elements end lines, list items start with "- " (indented when nested),
table cells are joined with " | ", to-dos become "[ ] " or "[x] ", links keep
their address after the text, attachments leave a marker ("[image/png]").
Scripts, styles and anything the parser does not know contribute only their text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
    "en-note", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "tfoot",
    "thead", "tr", "ul",
})
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"})
_HIDDEN = frozenset({"script", "style", "head", "title"})
_LISTS = frozenset({"ul", "ol"})
_SPACE = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


def to_text(enml: str) -> str:
    parser = _TextParser()
    parser.feed(enml)
    parser.close()
    return parser.text()


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._breaks = 0  # newlines owed before the next text
        self._hidden = 0
        self._pre = 0
        self._lists = 0
        self._cells = 0  # cells begun in the current table row
        self._after_marker = False  # a list marker was written, its text not yet
        # Open links: each one's address, and where its text starts in _out.
        self._links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self._break(2 if tag in _PARAGRAPHS else 1)
            if tag in _LISTS:
                self._lists += 1
            elif tag == "li":
                self._write("  " * max(self._lists - 1, 0) + "- ")
                self._after_marker = True
            elif tag == "pre":
                self._pre += 1
            elif tag == "tr":
                self._cells = 0
        elif tag in ("td", "th"):
            if self._cells:
                self._write(" | ")
            self._cells += 1
        elif tag == "br":
            self._break(1, force=True)
        elif tag == "hr":
            self._break(2)
            self._write("---")
            self._break(2)
        elif tag == "en-todo":
            self._write("[x] " if attributes.get("checked") == "true" else "[ ] ")
        elif tag == "en-media":
            self._write(f"[{attributes.get('type') or 'attachment'}]")
        elif tag == "en-crypt":
            self._write("[encrypted text]")
            self._hidden += 1
        elif tag == "a":
            self._links.append((attributes.get("href"), len(self._out)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "en-todo", "en-media"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN or tag == "en-crypt":
            self._hidden = max(self._hidden - 1, 0)
        elif tag in _BLOCKS:
            if tag in _LISTS:
                self._lists = max(self._lists - 1, 0)
            elif tag == "pre":
                self._pre = max(self._pre - 1, 0)
            self._break(2 if tag in _PARAGRAPHS else 1)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            shown = "".join(self._out[start:]).strip()
            if href and href.startswith(("http://", "https://")) and href != shown:
                self._write(f" ({href})" if shown else href)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if not self._pre:
            data = _SPACE.sub(" ", data)
            at_line_start = not self._out or self._out[-1].endswith(("\n", " ")) or self._breaks
            if at_line_start:
                data = data.lstrip(" ")
            if not data:
                return
        self._write(data)

    def _break(self, lines: int, *, force: bool = False) -> None:
        if self._after_marker and not force:
            return
        self._breaks = max(self._breaks, lines) if not force else self._breaks + lines

    def _write(self, text: str) -> None:
        if self._breaks and self._out:
            self._out.append("\n" * self._breaks)
        self._breaks = 0
        self._after_marker = False
        self._out.append(text)

    def text(self) -> str:
        lines = "".join(self._out).split("\n")
        joined = "\n".join(line.rstrip() for line in lines)
        return _BLANK_LINES.sub("\n\n", joined).strip("\n")
