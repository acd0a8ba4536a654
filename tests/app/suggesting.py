"""What the tag suggestion tests share: the suggestions on screen, and waiting until
they are the ones for the open note's current text."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from desktop import paths
from tests.app.harness import AppProcess

SUGGESTIONS_JS = """[...document.querySelectorAll('#suggestions .suggestion')].map(s => ({
  tag: s.dataset.tag,
  source: s.dataset.source,
  confidence: s.querySelector('.suggestion-confidence').textContent,
  why: s.querySelector('.suggestion-why').textContent,
  key: s.querySelector('kbd').textContent,
}))"""
SHOWN_FOR_JS = "Number(document.getElementById('suggestions').dataset.noteId)"


def shown(app: AppProcess) -> list[dict]:
    return app.eval(SUGGESTIONS_JS)


def shown_tags(app: AppProcess) -> list[str]:
    return [suggestion["tag"] for suggestion in shown(app)]


def wait_for_suggestion(app: AppProcess, note_id: int, tag: str, timeout: float = 20) -> dict:
    """The suggestion of `tag` for the open note `note_id`, once it shows."""
    app.wait_for(
        f"{SHOWN_FOR_JS} === {note_id}"
        f" && [...document.querySelectorAll('#suggestions .suggestion')]"
        f".some(s => s.dataset.tag === {json.dumps(tag)})",
        timeout=timeout,
    )
    return next(s for s in shown(app) if s["tag"] == tag)


def kept_hash(data: Path, note_id: int) -> str | None:
    """The content hash the note's kept tagger outputs are for (read-only, beside the app)."""
    uri = f"file:{paths.database_file(data)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        row = conn.execute(
            "SELECT s.content_hash FROM tag_suggestions AS s JOIN notes AS n ON n.id = s.note_id"
            " WHERE s.note_id = ? AND s.content_hash = n.content_hash",
            (note_id,),
        ).fetchone()
    return row[0] if row else None


def settled(app: AppProcess, data: Path, note_id: int, timeout: float = 20) -> list[str]:
    """The open note's suggestions once the taggers' outputs for its current text are
    kept and the page shows what Python answers for it."""
    deadline = time.monotonic() + timeout
    while kept_hash(data, note_id) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"note {note_id} got no tagger outputs within {timeout}s")
        time.sleep(0.05)
    expected = [s["tag"] for s in app.call("suggestions", note_id, "any:tagger")["suggestions"]]
    app.wait_for(
        f"{SHOWN_FOR_JS} === {note_id} && JSON.stringify("
        "[...document.querySelectorAll('#suggestions .suggestion')].map(s => s.dataset.tag))"
        f" === {json.dumps(json.dumps(expected))}",
        timeout=timeout,
    )
    return expected
