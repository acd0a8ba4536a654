"""webui/worker/personal.js in headless Chromium (TF.js, wasm backend): the targets
and weights the head learns from, a rejected suggestion as a negative example, the
head's probabilities against numpy's, and training that separates tags. Vectors are
made here (clusters of unit vectors), so the outcome is known."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Page

from tests.webui.server import TF_WASM_JS, blank_page

START = """async () => {
  window.personal = await import("/worker/personal.js");
}"""

# Trains on [run, vectors, background] and returns the head's probabilities of `probe`.
TRAIN = """([run, vectors, background, probe]) => {
  const { Training } = window.personal;
  const training = new Training(globalThis.tf, run,
    vectors.map((v) => Float32Array.from(v)), background.map((v) => Float32Array.from(v)));
  while (!training.done) training.step(1000);
  const head = training.finish();
  return { weights: Array.from(head.weights),
           probabilities: probe.map((v) => Array.from(head.probabilities(v))),
           suggestions: head.suggest(probe) };
}"""


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with blank_page() as opened:
        assert opened.evaluate(TF_WASM_JS) == "wasm"
        opened.evaluate(START)
        yield opened


def unit_rows(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def cluster(centre: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors around a unit centre, at cosine about 0.7 from it (like notes on one
    subject), about 0.5 from each other."""
    return unit_rows(centre + rng.standard_normal((count, 512)) / np.sqrt(512))


def example(note_id: int, positive=(), rejected=(), tagged=True) -> dict:
    return {"id": note_id, "version": "v", "positive": list(positive),
            "rejected": list(rejected), "tagged": tagged}


def test_targets_and_weights(page: Page) -> None:
    got = page.evaluate(
        """([examples]) => {
          const { targets, weights } = window.personal.trainingTargets(2, examples, 2);
          return { targets: Array.from(targets), weights: Array.from(weights) };
        }""",
        [[example(1, [0]), example(2, [], [1]), example(3, [], [0], tagged=False)]],
    )
    rejected, background = 2, 0.5  # REJECTED_WEIGHT, BACKGROUND_WEIGHT
    raw = np.array([[1, 1], [1, rejected], [rejected, 0], [background] * 2, [background] * 2])
    assert np.allclose(np.array(got["weights"]).reshape(5, 2), raw / raw.sum(0))
    assert got["targets"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]


def test_a_rejected_suggestion_is_a_negative_example(page: Page) -> None:
    rng = np.random.default_rng(1)
    soups, runs = unit_rows(rng.standard_normal((2, 512)))
    vectors = np.vstack([cluster(soups, 4, rng), cluster(runs, 4, rng)])
    # An untagged note near the soups, which the head would tag "recipes".
    doubtful = cluster(soups, 1, rng)
    background = unit_rows(rng.standard_normal((20, 512)))
    examples = [example(i, [0]) for i in range(4)] + [example(i, [1]) for i in range(4, 8)]
    run = {"signature": "s" * 64, "labels": ["recipes", "running"], "examples": examples}
    probe = [doubtful[0].tolist()]
    before = page.evaluate(TRAIN, [run, vectors.tolist(), background.tolist(), probe])
    assert before["probabilities"][0][0] > 0.6
    assert [s["tag"] for s in before["suggestions"][0]] == ["recipes"]

    rejected = {**run, "examples": [*examples, example(8, [], [0], tagged=False)]}
    after = page.evaluate(
        TRAIN, [rejected, [*vectors.tolist(), doubtful[0].tolist()], background.tolist(), probe]
    )
    assert after["probabilities"][0][0] < before["probabilities"][0][0] - 0.3
    assert after["suggestions"][0] == []


def test_the_head_separates_tags_and_leaves_other_texts_alone(page: Page) -> None:
    rng = np.random.default_rng(2)
    centres = unit_rows(rng.standard_normal((3, 512)))
    vectors = np.vstack([cluster(c, 5, rng) for c in centres])
    examples = [example(i, [i // 5]) for i in range(15)]
    # The third tag's notes also carry the first: several tags per note.
    examples[10:] = [example(i, [0, 2]) for i in range(10, 15)]
    run = {"signature": "s" * 64, "labels": ["a", "b", "c"], "examples": examples}
    background = unit_rows(rng.standard_normal((40, 512)))
    fresh = [cluster(c, 1, rng)[0] for c in centres]
    unrelated = unit_rows(rng.standard_normal((5, 512)))
    probe = [v.tolist() for v in [*fresh, *unrelated]]
    got = page.evaluate(TRAIN, [run, vectors.tolist(), background.tolist(), probe])
    tags = [sorted(s["tag"] for s in row) for row in got["suggestions"]]
    assert tags[:3] == [["a"], ["b"], ["a", "c"]]
    assert tags[3:] == [[]] * 5

    # The head's numbers are numpy's: sigmoid(v W + b).
    weights = np.array(got["weights"], np.float64)
    w, b = weights[: 512 * 3].reshape(512, 3), weights[512 * 3 :]
    expected = 1 / (1 + np.exp(-(np.array(probe) @ w + b)))
    assert np.allclose(got["probabilities"], expected, atol=1e-5)


def test_a_head_refuses_weights_of_the_wrong_size(page: Page) -> None:
    message = page.evaluate(
        """() => { try { new window.personal.PersonalHead(
             { signature: "s", labels: ["a", "b"], weights: new Float32Array(513) });
             return "accepted"; } catch (e) { return e.message; } }"""
    )
    assert "513 weights for 2 labels" in message
