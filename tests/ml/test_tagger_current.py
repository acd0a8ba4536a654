"""The committed tagger (webui/models/tagger/) matches the current pipeline: the label
mapping in code, the encoder the webview ships, and its own metrics file. When one of
them changes, retrain: `python -m ml.train` (a few minutes), and commit the folder."""

from __future__ import annotations

import json

import pytest

from ml import convert, tagger_labels, train

RETRAIN = "stale tagger: retrain with `python -m ml.train` and commit webui/models/tagger/"


@pytest.fixture(scope="module")
def meta() -> dict:
    return json.loads((train.TAGGER_DIR / convert.TAGGER_JSON).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def metrics() -> dict:
    return json.loads((train.TAGGER_DIR / convert.METRICS_JSON).read_text(encoding="utf-8"))


def test_labels_and_mapping_are_the_codes(meta: dict) -> None:
    assert meta["format"] == convert.FORMAT
    assert meta["labels"] == list(tagger_labels.TAGS), RETRAIN
    assert meta["mapping"] == tagger_labels.mapping(), RETRAIN


def test_trained_on_the_encoder_the_webview_ships(meta: dict) -> None:
    assert train.ENCODER_MANIFEST.exists(), "no encoder: run `python -m ml.build_encoder`"
    shipped = json.loads(train.ENCODER_MANIFEST.read_text())["model_id"]
    assert meta["encoder_model_id"] == shipped, RETRAIN


def test_files_belong_together(meta: dict, metrics: dict) -> None:
    digest = convert.graph_digest(train.TAGGER_DIR)
    assert meta["graph_sha256"] == digest, "model files changed without tagger.json"
    assert metrics["graph_sha256"] == digest, "metrics.json is from another training run"
    assert metrics["threshold"] == meta["threshold"]
    assert meta["head"] in train.HEADS
    assert meta["command"].startswith("python -m ml.train")
    assert [e["text"] for e in metrics["examples"]] == train.EXAMPLES, RETRAIN


def test_graph_maps_vectors_to_one_probability_per_label(meta: dict) -> None:
    model = json.loads((train.TAGGER_DIR / "model.json").read_text())
    (vectors,) = model["signature"]["inputs"].values()
    (probabilities,) = model["signature"]["outputs"].values()

    def shape(t: dict) -> list[int]:
        return [int(d["size"]) for d in t["tensorShape"]["dim"]]

    assert (vectors["dtype"], shape(vectors)) == ("DT_FLOAT", [-1, train.DIM])
    assert (probabilities["dtype"], shape(probabilities)) == ("DT_FLOAT", [-1, len(meta["labels"])])


def test_as_good_as_ml_tagger_md_says(metrics: dict) -> None:
    # Floors a little under the documented figures: a broken retrain fails here.
    assert metrics["clinc_val_in_scope"]["top1_accuracy"] > 0.95
    assert metrics["sib_dev"]["top1_accuracy"] > 0.75
    assert metrics["clinc_val_in_scope"]["kept_accuracy"] > 0.85
    assert metrics["oos_val"]["false_suggestion_rate"] < 0.2
    assert metrics["small_talk_meta_val"]["false_suggestion_rate"] < 0.05
