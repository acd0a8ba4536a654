"""A trained Keras tagger -> a TF.js graph model plus its JSON, in webui/models/tagger/.

Keras 3 layers models do not load in TF.js, graph models do: the head is wrapped in a
tf.function taking float32 vectors [B, 512] and returning the K tag probabilities
[B, K] (the "no tag" column dropped), saved as a SavedModel and converted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ml.train import DIM, predict, suggest, tensorflow

if TYPE_CHECKING:
    import keras

# Files this module writes; anything else in the folder is left alone.
GRAPH_FILES = ("model.json", "group1-shard*.bin")
TAGGER_JSON = "tagger.json"
METRICS_JSON = "metrics.json"
FORMAT = 1


def export_graph(model: keras.Model, n_tags: int, out_dir: Path) -> None:
    """Writes model.json and its weight shards for the first n_tags outputs of model."""
    tf = tensorflow()
    import tensorflowjs

    module = tf.Module()
    module.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, DIM], tf.float32, name="vectors")])
    def serve(vectors):
        return {"probabilities": module.model(vectors, training=False)[:, :n_tags]}

    module.serve = serve
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "saved_model"
        graph = Path(tmp) / "graph"
        tf.saved_model.save(module, str(saved), signatures={"serving_default": serve})
        tensorflowjs.converters.convert_tf_saved_model(str(saved), str(graph))
        out_dir.mkdir(parents=True, exist_ok=True)
        for pattern in GRAPH_FILES:
            for old in out_dir.glob(pattern):
                old.unlink()
        for new in graph.iterdir():
            shutil.copyfile(new, out_dir / new.name)
    # The converter writes node attributes in protobuf map order, which changes from
    # run to run; sorted keys make the same weights give the same bytes (and digest).
    topology = out_dir / "model.json"
    topology.write_text(json.dumps(json.loads(topology.read_text()), sort_keys=True,
                                   separators=(",", ":")) + "\n")


def graph_digest(out_dir: Path) -> str:
    """SHA-256 over the graph model's files, to tie the JSON files to these weights."""
    h = hashlib.sha256()
    for pattern in GRAPH_FILES:
        for path in sorted(out_dir.glob(pattern)):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def write_tagger(model: keras.Model, out_dir: Path, *, labels: list[str], threshold: float,
                 head: str, seed: int, encoder_model_id: str, mapping: dict,
                 metrics: dict, command: str, examples: list[str],
                 example_vectors: np.ndarray) -> None:
    """The graph model, tagger.json (what the webview needs) and metrics.json (the numbers).

    metrics.json also keeps the example texts' probabilities as Python computed them,
    for the check that the committed graph in TF.js gives the same.
    """
    export_graph(model, len(labels), out_dir)
    digest = graph_digest(out_dir)
    probabilities = predict(model, example_vectors)[:, : len(labels)]
    tagger = {
        "format": FORMAT,
        "labels": labels,
        "threshold": threshold,
        "head": head,
        "seed": seed,
        "encoder_model_id": encoder_model_id,
        "graph_sha256": digest,
        "mapping": mapping,
        "command": command,
    }
    (out_dir / TAGGER_JSON).write_text(json.dumps(tagger, indent=1, ensure_ascii=False) + "\n")
    (out_dir / METRICS_JSON).write_text(
        json.dumps({
            "graph_sha256": digest,
            **metrics,
            "examples": [
                {"text": text, "probabilities": row.tolist(),
                 "suggestions": suggest(row[None], labels, threshold)[0]}
                for text, row in zip(examples, probabilities, strict=True)
            ],
        }, indent=1, ensure_ascii=False) + "\n")
