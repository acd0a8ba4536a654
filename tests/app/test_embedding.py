"""Every note's vector, kept current through the real window: the model loads
without holding up the notes, a typed note gets Python's vector once, the
background catch-up survives a kill and finishes on the next start, and typing
during a big import works as ever.

Vectors are read from the data dir's SQLite file (read-only) and compared with
ml.embed, the build-time Python encoder (its first use here loads TensorFlow).
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from desktop import paths
from desktop.store import Store, content_text
from tests.app.harness import AppProcess
from tests.app.indexing import (
    CAUGHT_UP_JS,
    MODEL_READY_JS,
    MODEL_TEXT_JS,
    PROGRESS_JS,
    current_vectors,
    sib_sentences,
    stats,
    wait_for_vector,
)
from tests.app.suggesting import wait_for_suggestion
from tests.app.test_window import SAVED_JS, new_note_by_keyboard, value

MIN_COSINE = 0.9999


def python_vectors(texts: list[str]) -> np.ndarray:
    from ml.embed import embed

    return embed(texts)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("embedding") / "data"


@pytest.fixture(scope="module")
def app(module_app_factory, data: Path) -> AppProcess:
    return module_app_factory(data)


def test_the_notes_do_not_wait_for_the_model(app: AppProcess) -> None:
    # The page said it was usable (the harness waited for that) before the model loaded.
    assert app.eval(MODEL_TEXT_JS) == "Loading language model…"
    text = app.wait_for(f"{MODEL_READY_JS} && {MODEL_TEXT_JS}", timeout=60)
    assert re.fullmatch(r"Model ready · wasm( \(.+\))?", text), text
    app.wait_for(CAUGHT_UP_JS)
    assert app.eval("document.getElementById('index-progress').hidden") is True


def test_a_typed_note_gets_its_vector_once(app: AppProcess, data: Path) -> None:
    app.wait_for(f"{MODEL_READY_JS} && {CAUGHT_UP_JS}", timeout=60)
    title, body = "Rain in Lisbon", "The umbrella stayed in the hotel, of course."
    note_id = new_note_by_keyboard(app, title, body)
    saved = time.monotonic()
    vector = wait_for_vector(data, note_id)
    print(f"\nsave to stored vector: {time.monotonic() - saved:.3f} s")
    expected = python_vectors([content_text(title, body)])[0]
    assert float(vector @ expected) >= MIN_COSINE

    # Saves that leave the text as it was (the same body again, a source link) embed nothing.
    before = stats(app)
    app.eval("document.getElementById('body').dispatchEvent(new Event('input')); true")
    app.wait_for(SAVED_JS)
    app.eval("document.getElementById('source-url').focus()")
    app.type_text("https://example.org/rain\n")
    app.wait_for(f"{SAVED_JS} && !document.getElementById('open-source').hidden")
    assert app.call("get_note", note_id)["source_url"] == "https://example.org/rain"
    time.sleep(1.0)
    assert stats(app) == before

    # New text is embedded again, and the vector follows it.
    app.eval("document.getElementById('body').focus()")
    app.type_text(" It rained all week.")
    app.wait_for(f"document.getElementById('body').value.endsWith('week.') && {SAVED_JS}")
    vector = wait_for_vector(data, note_id)
    after = stats(app)
    assert after["embedded"]["saved"] > before["embedded"]["saved"]
    assert after["embedded"]["background"] == before["embedded"]["background"]
    expected = python_vectors([content_text(title, body + " It rained all week.")])[0]
    assert float(vector @ expected) >= MIN_COSINE


def test_the_bridge_refuses_bad_and_stale_vectors(app: AppProcess) -> None:
    note = app.call("create_note", {"title": "Vector target"})
    good = base64.b64encode(struct.pack("<512f", 1.0, *[0.0] * 511)).decode()
    zeros = base64.b64encode(bytes(2048)).decode()
    refused = {
        "short": app.call("put_embedding", note["id"], "AAAA", "m", note["content_hash"]),
        "zeros": app.call("put_embedding", note["id"], zeros, "m", note["content_hash"]),
        "hash": app.call("put_embedding", note["id"], good, "m", "not a hash"),
        "model": app.call("put_embedding", note["id"], good, "", note["content_hash"]),
        "limit": app.call("notes_needing_embedding", "m", 0),
        "filters": app.call("search", "x", None, {"from": 2, "to": 1}),
        "query vector": app.call("search", "x", "AAAA", None),
    }
    for case, reply in refused.items():
        assert reply["error"]["code"] == "invalid", case
    stale = app.call("put_embedding", note["id"], good, "m", "0" * 64)
    assert stale == {"stored": False}
    assert app.call("put_embedding", note["id"], good, "m", note["content_hash"]) == {
        "stored": True
    }
    assert app.call("put_embedding", 10**12, good, "m", "0" * 64)["error"]["code"] == "not_found"


def test_background_indexing_resumes_after_a_kill(app_factory, tmp_path: Path) -> None:
    # An older database: 270 notes in three languages, and no vectors at all. Enough
    # that the kill comes mid-way (about 25 notes/s here).
    data = tmp_path / "data"
    data.mkdir()
    sentences = [
        *sib_sentences("eng_Latn", 360),
        *sib_sentences("deu_Latn", 225),
        *sib_sentences("jpn_Jpan", 225),
    ]
    store = Store(paths.database_file(data))
    for i in range(0, len(sentences), 3):
        topic = sentences[i][0]
        store.create_note(
            title=topic.capitalize(), body=" ".join(s for _, s in sentences[i : i + 3])
        )
    store.close()
    total = len(sentences) // 3

    first = app_factory(data)
    shown = first.wait_for(PROGRESS_JS, timeout=60)
    assert re.fullmatch(rf"Indexing notes for search: \d+ of {total} · .+ left…?", shown), shown
    first.wait_for("window.marginStats.vectors.stored >= 40", timeout=60)
    shown = first.eval(PROGRESS_JS)
    estimate = rf"Indexing notes for search: \d+ of {total} · about \d+ (s|min) left"
    assert re.fullmatch(estimate, shown), shown
    # Typing during the catch-up: the note goes ahead of the queue.
    note_id = new_note_by_keyboard(first, "Typed meanwhile", "Saved notes go first.")
    wait_for_vector(data, note_id)
    os.kill(first.pid, signal.SIGKILL)
    assert first.stop() == -signal.SIGKILL
    kept = current_vectors(data)
    assert note_id in kept
    assert 40 < len(kept) < total + 1, "the kill came too late to test resuming"

    second = app_factory(data)
    started = time.monotonic()
    second.wait_for(CAUGHT_UP_JS, timeout=180)
    took = time.monotonic() - started
    done = current_vectors(data)
    assert len(done) == total + 1
    # It went on where the first stopped: nothing stored before the kill was redone.
    assert stats(second)["embedded"]["background"] == total + 1 - len(kept)
    assert all(np.array_equal(done[i], kept[i]) for i in kept)
    print(f"\nresumed {total + 1 - len(kept)} notes in {took:.1f} s after start")
    assert second.eval("document.getElementById('index-progress').hidden") is True

    # The vectors are Python's.
    sample = [second.call("get_note", i) for i in sorted(done)[:: len(done) // 6]]
    expected = python_vectors([content_text(n["title"], n["body"]) for n in sample])
    for note, vector in zip(sample, expected, strict=True):
        assert float(done[note["id"]] @ vector) >= MIN_COSINE

    # Unchanged notes are never embedded again, not after a restart either.
    assert second.stop() == 0
    third = app_factory(data)
    third.wait_for(f"{MODEL_READY_JS} && {CAUGHT_UP_JS}", timeout=60)
    assert stats(third)["embedded"] == {"query": 0, "saved": 0, "background": 0}


def test_typing_during_an_import(app_factory, tmp_path: Path) -> None:
    # 1,400 short notes: the import and the vectors and suggestions that follow it
    # keep the worker and the bridge busy for a while.
    folder = tmp_path / "notes"
    folder.mkdir()
    sentences = [*sib_sentences("eng_Latn", 700), *sib_sentences("fra_Latn", 700)]
    for i, (topic, sentence) in enumerate(sentences):
        (folder / f"{i:04}.md").write_text(
            f"---\ntitle: {json.dumps(f'{i:04} {topic}')}\n---\n{sentence}\n", encoding="utf-8"
        )
    app = app_factory(tmp_path / "data")
    app.wait_for(MODEL_READY_JS, timeout=60)
    app.call_async(f"window.marginImport({json.dumps(str(folder))})")
    app.wait_for("window.marginStats.vectors.stored > 0", timeout=60)

    # Typed meanwhile: every key lands, the note is saved, and its suggestions show
    # while the background work goes on.
    title, body = "Football final", "The match went to extra time and our striker scored twice."
    note_id = new_note_by_keyboard(app, title, body)
    assert (value(app, "title"), value(app, "body")) == (title, body)
    wait_for_suggestion(app, note_id, "sports", timeout=30)
    assert app.eval("window.marginStats.vectors.stored") < len(sentences), (
        "the background work ended before the typed note's suggestions showed")
