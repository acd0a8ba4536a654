"""Everything in one JSON file: notes with their times, tags with origins and when
they were added, kept front matter, and suggestion feedback. Vectors are left
out (the app computes them again), and so is the trash.

    {"format": "margin-notes", "version": 1, "exported": <ms>,
     "notes": [{"id", "title", "body", "source_url", "created", "updated",
                "tags": [{"name", "origin", "added"}], "front_matter": <YAML text|null>,
                "feedback": [{"tag", "state", "source", "confidence", "at"}]}, ...]}
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from desktop.exports.filenames import NamePicker
from desktop.store import Store, now_ms

FORMAT = "margin-notes"
VERSION = 1
PAGE = 500
NOTE_KEYS = (
    "id", "title", "body", "source_url", "created", "updated", "tags", "front_matter", "feedback"
)


def export(store: Store, folder: Path) -> dict[str, Any]:
    """Writes "Margin notes <date>.json" into `folder` (made if missing); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    notes = []
    after = 0
    while page := store.export_notes(after_id=after, limit=PAGE):
        notes += [{key: note[key] for key in NOTE_KEYS} for note in page]
        after = page[-1]["id"]
    document = {"format": FORMAT, "version": VERSION, "exported": now_ms(), "notes": notes}
    text = json.dumps(document, ensure_ascii=False, indent=1)
    path = NamePicker(folder).write(f"Margin notes {dt.date.today().isoformat()}", ".json", text)
    return {"count": len(notes), "path": str(path)}
