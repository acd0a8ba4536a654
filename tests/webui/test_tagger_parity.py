"""The tagger in TF.js (webui/worker/tagger.js, wasm backend, headless Chromium) gives
Python's numbers to 1e-5: a head trained here and converted by ml.convert (the shipped
MLP and the article's CNN), and the committed tagger on the example notes its training
run recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page

from ml import convert, data, embed, tagger_labels, train
from tests.webui.server import TF_WASM_JS, WEBUI, blank_page

TOLERANCE = 1e-5

START = """async () => {
  const { loadTagger } = await import("/worker/tagger.js");
  window.loadTagger = (url) => loadTagger(url, globalThis.tf);
}"""

RUN = """async ([url, vectors]) => {
  const tagger = await window.loadTagger(url);
  const probabilities = (await tagger.probabilities(vectors)).map((p) => Array.from(p));
  const suggestions = await tagger.suggest(vectors);
  return { id: tagger.id, labels: tagger.labels, threshold: tagger.threshold, probabilities,
           suggestions };
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Page, Path]]:
    """A page on a server whose root has webui's folders plus room for converted models."""
    root = tmp_path_factory.mktemp("site")
    for name in ("worker", "vendor", "models"):
        (root / name).symlink_to(WEBUI / name, target_is_directory=True)
    with blank_page(root) as page:
        assert page.evaluate(TF_WASM_JS) == "wasm"
        page.evaluate(START)
        yield page, root


def run_js(page: Page, url: str, vectors: np.ndarray) -> dict:
    return page.evaluate(RUN, [url, vectors.tolist()])


def tags_of(suggestions: list[list[dict]]) -> list[list[str]]:
    return [[s["tag"] for s in row] for row in suggestions]


@pytest.mark.parametrize("head", ["mlp", "cnn"])
def test_converted_head_matches_keras(site: tuple[Page, Path], head: str) -> None:
    page, root = site
    rows = data.sib("eng_Latn", "dev")
    labels = sorted(set(rows["category"]))
    x = embed.embed(rows["text"])
    y = np.array([labels.index(c) for c in rows["category"]])
    # One more output than labels, as the default tagger's "no tag", which export drops.
    model = train.fit(x, y, len(labels) + 1, head=head, seed=0,
                      recipe=train.Recipe(epochs=3, min_steps=30))
    rng = np.random.default_rng(0)
    odd = rng.normal(size=(3, train.DIM)).astype(np.float32)
    vectors = np.concatenate([x[:40], odd / np.linalg.norm(odd, axis=1, keepdims=True),
                              np.zeros((1, train.DIM), np.float32)])
    expected = train.predict(model, vectors)[:, : len(labels)]
    # A threshold that splits the rows, so both "some tags" and "no tag" are compared.
    threshold = float(np.median(expected.max(1)))
    convert.write_tagger(model, root / head, labels=labels, threshold=threshold, head=head,
                         seed=0, encoder_model_id=embed.model_id(), mapping={}, metrics={},
                         command="test", examples=rows["text"][:2],
                         example_vectors=x[:2])

    got = run_js(page, f"/{head}/", vectors)
    assert got["labels"] == labels
    assert got["threshold"] == threshold
    np.testing.assert_allclose(got["probabilities"], expected, atol=TOLERANCE, rtol=0)
    settled = np.abs(expected - threshold).min(1) > TOLERANCE
    want = tags_of([[{"tag": t} for t, _ in row] for row in
                    train.suggest(expected, labels, threshold)])
    assert [w for w, s in zip(want, settled, strict=True) if s] == \
        [g for g, s in zip(tags_of(got["suggestions"]), settled, strict=True) if s]
    assert any(want) and not all(want)


def test_committed_tagger_gives_the_recorded_numbers(site: tuple[Page, Path]) -> None:
    page, _ = site
    tagger_dir = train.TAGGER_DIR
    recorded = json.loads((tagger_dir / convert.METRICS_JSON).read_text(encoding="utf-8"))
    examples = recorded["examples"]
    got = run_js(page, "/models/tagger/", embed.embed([e["text"] for e in examples]))
    assert got["id"] == recorded["graph_sha256"][:12]
    assert got["labels"] == list(tagger_labels.TAGS)
    np.testing.assert_allclose(got["probabilities"], [e["probabilities"] for e in examples],
                               atol=TOLERANCE, rtol=0)
    assert tags_of(got["suggestions"]) == [[t for t, _ in e["suggestions"]] for e in examples]
    for row in got["suggestions"]:
        confidences = [s["confidence"] for s in row]
        assert confidences == sorted(confidences, reverse=True)
        assert all(c >= got["threshold"] for c in confidences)


def test_bad_vectors_are_refused(site: tuple[Page, Path]) -> None:
    page, _ = site
    message = page.evaluate("""async () => {
      const tagger = await window.loadTagger("/models/tagger/");
      try { await tagger.suggest([[1, 2, 3]]); return "accepted"; }
      catch (e) { return `${e.name}: ${e.message}`; }
    }""")
    assert message == "RangeError: vector 0: length 3, not 512"
    assert page.evaluate(
        "async () => (await window.loadTagger('/models/tagger/')).suggest([])") == []
