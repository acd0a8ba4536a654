"""What the vector and search tests share: the model's state in the page, and the
vectors as they are on disk (read-only SQLite, beside the running app)."""

from __future__ import annotations

import csv
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import numpy as np

from desktop import paths
from desktop.search import encoder_model_id
from tests.app.harness import AppProcess

MODEL_ID = encoder_model_id(paths.webui_dir())
MODEL_TEXT_JS = "document.getElementById('model-status').textContent"
MODEL_READY_JS = f"{MODEL_TEXT_JS}.startsWith('Model ready')"
# The indexer finished a catch-up run (the first one starts when the model is ready).
CAUGHT_UP_JS = "window.marginStats.vectors.runs >= 1"
PROGRESS_JS = (
    "!document.getElementById('index-progress').hidden"
    " && document.getElementById('index-text').textContent"
)
SIB = Path(__file__).resolve().parents[3] / "shared" / "data" / "sib200"


def stats(app: AppProcess) -> dict:
    """Texts embedded per lane, and vectors stored by outcome, since the page loaded."""
    return app.eval("window.marginStats")


def current_vectors(data: Path) -> dict[int, np.ndarray]:
    """Live notes' vectors of the app's model that match their note's current text."""
    uri = f"file:{paths.database_file(data)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        rows = conn.execute(
            "SELECT e.note_id, e.vector FROM embeddings AS e JOIN notes AS n ON n.id = e.note_id"
            " WHERE n.deleted IS NULL AND e.model_id = ? AND e.content_hash = n.content_hash",
            (MODEL_ID,),
        ).fetchall()
    return {note_id: np.frombuffer(blob, "<f4") for note_id, blob in rows}


def wait_for_vector(data: Path, note_id: int, timeout: float = 30.0) -> np.ndarray:
    """The note's vector once it is stored for its current text."""
    deadline = time.monotonic() + timeout
    while True:
        vector = current_vectors(data).get(note_id)
        if vector is not None:
            return vector
        if time.monotonic() > deadline:
            raise AssertionError(f"note {note_id} got no vector within {timeout}s")
        time.sleep(0.02)


def sib_sentences(language: str, count: int) -> list[tuple[str, str]]:
    """(topic, sentence) pairs of SIB-200's training split, in file order."""
    with (SIB / language / "train.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return [(row[1], row[2]) for row in rows[:count]]
