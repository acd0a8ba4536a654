"""ml.train: the heads, seeded training, the "no tag" threshold, and the default tagger's
pipeline end to end on a small slice of the real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ml import convert, tagger_labels, train
from ml.data import SIB_LANGUAGES


def clusters(n_per_class: int, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors scattered around one random direction per class."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, train.DIM))
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = centres[y] + rng.normal(scale=1.5, size=(len(y), train.DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), y


@pytest.mark.parametrize("head", sorted(train.HEADS))
def test_heads_map_vectors_to_probabilities(head: str) -> None:
    model = train.HEADS[head](5)
    p = train.predict(model, clusters(2, 3, seed=0)[0])
    assert p.shape == (6, 5)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)


def test_cnn_is_the_articles() -> None:
    layers = train.HEADS["cnn"](7).layers
    conv = next(layer for layer in layers if layer.name.startswith("conv1d"))
    assert (conv.filters, conv.kernel_size, conv.activation.__name__) == (32, (3,), "tanh")
    dense = [layer for layer in layers if layer.name.startswith("dense")]
    assert [(d.units, d.activation.__name__) for d in dense] == [(16, "relu"), (7, "softmax")]


def test_fit_is_seeded_and_learns() -> None:
    x, y = clusters(40, 3, seed=1)
    x_test, y_test = clusters(20, 3, seed=1)
    recipe = train.Recipe(epochs=3, min_steps=30)
    first = train.predict(train.fit(x, y, 3, seed=7, recipe=recipe), x_test)
    again = train.predict(train.fit(x, y, 3, seed=7, recipe=recipe), x_test)
    other = train.predict(train.fit(x, y, 3, seed=8, recipe=recipe), x_test)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.mean(first.argmax(1) == y_test) > 0.9


def test_suggest_applies_the_threshold_most_confident_first() -> None:
    p = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.3], [0.45, 0.05, 0.5]], np.float32)
    got = train.suggest(p, ["a", "b", "c"], threshold=0.4)
    assert [[tag for tag, _ in row] for row in got] == [["b", "c"], [], ["c", "a"]]
    assert got[0][0][1] == pytest.approx(0.5)


def test_threshold_scores() -> None:
    p_in = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.55, 0.45]])
    tags = np.array([0, 1, 1, 0])
    assert train.kept_accuracy(p_in, tags, 0.5) == 0.75  # row 2 ranks the wrong tag first
    assert train.kept_accuracy(p_in, tags, 0.85) == 0.25
    p_out = np.array([[0.5, 0.5], [0.7, 0.3], [0.35, 0.65]])
    assert train.suggestion_rate(p_out, 0.6) == pytest.approx(2 / 3)
    # Above 0.7 no "no tag" text gets a suggestion, and the right 0.9 and 0.8 rows stay.
    sources = np.array(["sib:eng_Latn", "sib:eng_Latn", "clinc:in-scope", "clinc:in-scope",
                        "clinc:oos", "clinc:oos", "clinc:oos", "clinc:small_talk"])
    p = np.concatenate([p_in, p_out, [[0.99, 0.01]]])
    all_tags = np.concatenate([tags, [-1, -1, -1, -1]])
    assert train.tune_threshold(p, all_tags, sources) == pytest.approx(0.71)



def test_threshold_weighs_sib_as_much_as_clinc() -> None:
    # One SIB text tagged right at 0.6, nine CLINC texts at 0.9; out-of-scope texts at
    # 0.7, 0.45 and 0.1 (twice); the rest of each row is "no tag". Counting texts,
    # t = 0.71 keeps 9 of 10 with no false suggestion; per set, keeping the SIB text
    # (t in 0.46..0.60) is worth the one false suggestion at 0.7.
    p = np.array([[0.6, 0.4]] + [[0.9, 0.1]] * 9
                 + [[0.7, 0.3], [0.45, 0.45], [0.1, 0.1], [0.1, 0.1]])
    tags = np.array([0] * 10 + [-1] * 4)
    sources = np.array(["sib:jpn_Jpan"] + ["clinc:in-scope"] * 9 + ["clinc:oos"] * 4)
    assert train.tune_threshold(p, tags, sources) == pytest.approx(0.46)


def small(s: tagger_labels.TaggerSet, per_source: int) -> tagger_labels.TaggerSet:
    """The first rows of each (source, tag) pair: every language and tag, few texts."""
    seen: dict[tuple[str, int], int] = {}
    keep = []
    for i, key in enumerate(zip(s.sources, s.tags, strict=True)):
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= per_source:
            keep.append(i)
    return tagger_labels.TaggerSet([s.texts[i] for i in keep], [s.tags[i] for i in keep],
                                   [s.sources[i] for i in keep])


@pytest.fixture(scope="module")
def slice_splits() -> dict[str, train.Split]:
    sets = {
        "fit": tagger_labels.concat(small(tagger_labels.sib_set("train", 0, "fit"), 3),
                                    small(tagger_labels.clinc_set("train"), 30)),
        "val": tagger_labels.concat(small(tagger_labels.sib_set("train", 0, "validation"), 1),
                                    small(tagger_labels.clinc_set("val"), 10)),
        "dev": small(tagger_labels.sib_set("dev", 0), 1),
    }
    return {name: train.Split.of(s) for name, s in sets.items()}


def test_tagger_pipeline_on_a_slice(slice_splits: dict[str, train.Split], tmp_path: Path) -> None:
    model = train.fit_tagger(slice_splits["fit"], "mlp", seed=0)
    probs = {name: train.tag_probabilities(model, s.x) for name, s in slice_splits.items()}
    assert probs["val"].shape == (len(slice_splits["val"].tags), len(tagger_labels.TAGS))
    val = slice_splits["val"]
    threshold = train.tune_threshold(probs["val"], val.tags, val.sources)
    metrics = train.measure(slice_splits, probs, threshold, seed=0)
    assert set(metrics["sib_dev"]["per_language"]) == set(SIB_LANGUAGES)
    # Even 30 requests per domain teach CLINC's life areas well.
    assert metrics["clinc_val_in_scope"]["top1_accuracy"] > 0.7
    assert 0 <= metrics["oos_val"]["false_suggestion_rate"] <= 1

    dev = slice_splits["dev"]
    convert.write_tagger(model, tmp_path, labels=list(tagger_labels.TAGS), threshold=threshold,
                         head="mlp", seed=0, encoder_model_id="test",
                         mapping=tagger_labels.mapping(), metrics=metrics, command="test",
                         examples=dev.texts[:2], example_vectors=dev.x[:2])
    meta = json.loads((tmp_path / convert.TAGGER_JSON).read_text())
    written = json.loads((tmp_path / convert.METRICS_JSON).read_text())
    assert meta["labels"] == list(tagger_labels.TAGS)
    assert meta["graph_sha256"] == written["graph_sha256"] == convert.graph_digest(tmp_path)
    assert written["threshold"] == meta["threshold"] == threshold
    example = written["examples"][1]
    assert example["text"] == dev.texts[1]
    np.testing.assert_allclose(example["probabilities"], probs["dev"][1], rtol=1e-6)
