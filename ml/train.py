"""Tagger heads on 512-d sentence vectors, their training, and the default tagger.

`python -m ml.train` trains the default tagger from ../shared/data, tunes its "no tag"
threshold, converts it into webui/models/tagger/ and writes its metrics there.
`--head cnn` trains the article's CNN the same way (the documented baseline).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ml import embed, tagger_labels
from ml.data import REPO_ROOT, SIB_LANGUAGES

if TYPE_CHECKING:
    import keras

TAGGER_DIR = REPO_ROOT / "webui" / "models" / "tagger"
ENCODER_MANIFEST = REPO_ROOT / "webui" / "models" / "use" / "manifest.json"
DIM = 512
SEED = 0
TF_THREADS = 2


def tensorflow():
    """TensorFlow set to this machine's 2 cores and to deterministic kernels."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(TF_THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        # TensorFlow already ran (ml.embed computing vectors): its default is one thread
        # per core, which on this machine is the same 2.
        pass
    tf.config.experimental.enable_op_determinism()
    return tf


def _cnn(n_classes: int) -> keras.Model:
    """The article's head: the vector read as a (512, 1) sequence."""
    import keras

    return keras.Sequential([
        keras.Input((DIM,)),
        keras.layers.Reshape((DIM, 1)),
        keras.layers.Conv1D(32, 3, activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(n_classes, activation="softmax"),
    ])


def _mlp(n_classes: int) -> keras.Model:
    import keras

    return keras.Sequential([
        keras.Input((DIM,)),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(n_classes, activation="softmax"),
    ])


def _logreg(n_classes: int) -> keras.Model:
    import keras

    return keras.Sequential([
        keras.Input((DIM,)),
        keras.layers.Dense(n_classes, activation="softmax"),
    ])


HEADS: dict[str, Callable[[int], keras.Model]] = {"mlp": _mlp, "cnn": _cnn, "logreg": _logreg}
SHIPPED_HEAD = "mlp"
# A single layer on unit-length vectors learns slowly at the others' rate.
LEARNING_RATES = {"logreg": 1e-2}


@dataclass(frozen=True)
class Recipe:
    """How every head is trained, so heads differ only in their layers."""

    epochs: int = 16
    # Few-shot sets have few batches per epoch; this many optimiser steps at least.
    min_steps: int = 400
    batch_size: int = 64
    learning_rate: float = 1e-3  # unless LEARNING_RATES names the head
    # Smoothing keeps confidences apart from 1.0, which made the "no tag" threshold
    # separate in-scope from out-of-scope texts better (ml/TAGGER.md).
    label_smoothing: float = 0.1


def fit(x: np.ndarray, y: np.ndarray, n_classes: int, head: str = SHIPPED_HEAD,
        seed: int = SEED, recipe: Recipe = Recipe()) -> keras.Model:
    """Trains head on vectors x (N, 512) and class indices y (N,); same seed, same weights."""
    tf = tensorflow()
    import keras

    keras.utils.set_random_seed(seed)
    model = HEADS[head](n_classes)
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATES.get(head, recipe.learning_rate)),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
    )
    steps = max(recipe.epochs * math.ceil(len(x) / recipe.batch_size), recipe.min_steps)
    targets = np.eye(n_classes, dtype=np.float32)[y]
    # One Keras epoch of all the steps over a reshuffled, repeated stream: a few-shot set
    # would otherwise pay Keras's per-epoch overhead hundreds of times.
    stream = (tf.data.Dataset.from_tensor_slices((x.astype(np.float32), targets))
              .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
              .repeat().batch(recipe.batch_size))
    model.fit(stream, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
    return model


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=1024, verbose=0))


# --- the default tagger: K tags plus a "no tag" class --------------------------------

def suggest(probabilities: np.ndarray, labels: Sequence[str],
            threshold: float) -> list[list[tuple[str, float]]]:
    """Tags at or above threshold, most confident first: what webui/worker/tagger.js does."""
    out = []
    for row in probabilities:
        picked = [(labels[i], float(row[i])) for i in np.flatnonzero(row >= threshold)]
        out.append(sorted(picked, key=lambda p: -p[1]))
    return out


def kept_accuracy(probabilities: np.ndarray, tags: np.ndarray, threshold: float) -> float:
    """Share of in-scope texts whose most confident suggestion exists and is right."""
    top = probabilities.argmax(1)
    return float(np.mean((top == tags) & (probabilities.max(1) >= threshold)))


def suggestion_rate(probabilities: np.ndarray, threshold: float) -> float:
    """Share of texts that get any suggestion (on "no tag" texts: the false-suggestion rate)."""
    return float(np.mean(probabilities.max(1) >= threshold))


# Notes a person might write, for a look at what the tagger suggests (in metrics.json)
# and for the check that TF.js gives the same numbers as Python.
EXAMPLES = [
    "Booked the night train to Vienna, then two days of hiking near Salzburg.",
    "来週の京都旅行のために新幹線のチケットを予約した。",
    "Pay the credit card bill before Friday, and ask the bank about the overdraft fee.",
    "Rezept: 200 g Mehl, 3 Eier, eine Prise Salz, 30 Minuten bei 180 Grad backen.",
    "Le ministre a présenté la réforme des retraites devant l'Assemblée nationale.",
    "El equipo ganó la final en la prórroga con un gol de cabeza.",
    "hmm, not sure yet",
    "Remind me what we talked about",
]

THRESHOLDS = np.round(np.arange(0.30, 0.951, 0.01), 2)


def tune_threshold(probabilities: np.ndarray, tags: np.ndarray, sources: np.ndarray) -> float:
    """The threshold that maximises kept accuracy minus the false-suggestion rate.

    Kept accuracy is the mean of SIB's and CLINC's in-scope texts, so the encyclopedic
    sentences (closer to notes, and less confidently tagged) weigh as much as the
    requests; the false-suggestion rate is CLINC's out-of-scope texts'.
    """
    groups = [np.char.startswith(sources, "sib:"), sources == "clinc:in-scope"]
    oos = sources == "clinc:oos"

    def score(t: float) -> float:
        kept = np.mean([kept_accuracy(probabilities[g], tags[g], t) for g in groups])
        return float(kept) - suggestion_rate(probabilities[oos], t)

    return float(THRESHOLDS[int(np.argmax([score(t) for t in THRESHOLDS]))])


@dataclass(frozen=True)
class Split:
    """One tagger set with its vectors."""

    texts: list[str]
    tags: np.ndarray
    sources: np.ndarray
    x: np.ndarray

    @classmethod
    def of(cls, s: tagger_labels.TaggerSet) -> Split:
        return cls(s.texts, np.array(s.tags), np.array(s.sources), embed.embed(s.texts))

    def where(self, mask: np.ndarray) -> Split:
        return Split([t for t, m in zip(self.texts, mask, strict=True) if m], self.tags[mask],
                     self.sources[mask], self.x[mask])


def tagger_splits(seed: int) -> dict[str, Split]:
    """fit: what the head learns from; val: where the threshold is tuned; dev: SIB's dev."""
    return {
        "fit": Split.of(tagger_labels.concat(
            tagger_labels.sib_set("train", seed, "fit"), tagger_labels.clinc_set("train"))),
        "val": Split.of(tagger_labels.concat(
            tagger_labels.sib_set("train", seed, "validation"), tagger_labels.clinc_set("val"))),
        "dev": Split.of(tagger_labels.sib_set("dev", seed)),
    }


def fit_tagger(fit_split: Split, head: str, seed: int) -> keras.Model:
    k = len(tagger_labels.TAGS)
    y = np.where(fit_split.tags >= 0, fit_split.tags, k)
    return fit(fit_split.x, y, k + 1, head=head, seed=seed)


def tag_probabilities(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The K tag columns; the "no tag" column is dropped, as in the exported graph."""
    return predict(model, x)[:, : len(tagger_labels.TAGS)]


def measure(splits: dict[str, Split], probs: dict[str, np.ndarray], threshold: float,
            seed: int) -> dict:
    """The numbers in metrics.json; ml/TAGGER.md explains each."""
    val, p_val = splits["val"], probs["val"]
    dev, p_dev = splits["dev"], probs["dev"]
    inside = val.tags >= 0
    from_sib = np.char.startswith(val.sources, "sib:")
    clinc_in = val.sources == "clinc:in-scope"
    oos = val.sources == "clinc:oos"
    chat = ~inside & ~oos

    def top1(p: np.ndarray, tags: np.ndarray) -> float:
        return float(np.mean(p.argmax(1) == tags))

    # The threshold tuned on one half of val, measured on the other, both ways round:
    # how much the val figures flatter a threshold chosen on them.
    rng = np.random.default_rng(seed)
    half = rng.random(len(val.tags)) < 0.5
    held = []
    for tune_on in (half, ~half):
        t = tune_threshold(p_val[tune_on], val.tags[tune_on], val.sources[tune_on])
        test_in, test_oos = ~tune_on & inside, ~tune_on & oos
        held.append({
            "threshold": t,
            "kept_accuracy_in_scope": kept_accuracy(p_val[test_in], val.tags[test_in], t),
            "false_suggestion_rate_oos": suggestion_rate(p_val[test_oos], t),
        })
    return {
        "threshold": threshold,
        "in_scope_val": {
            "n": int(inside.sum()),
            "kept_accuracy": kept_accuracy(p_val[inside], val.tags[inside], threshold),
            "top1_accuracy": top1(p_val[inside], val.tags[inside]),
        },
        "clinc_val_in_scope": {
            "n": int(clinc_in.sum()),
            "kept_accuracy": kept_accuracy(p_val[clinc_in], val.tags[clinc_in], threshold),
            "top1_accuracy": top1(p_val[clinc_in], val.tags[clinc_in]),
        },
        "sib_validation": {
            "n": int(from_sib.sum()),
            "kept_accuracy": kept_accuracy(p_val[from_sib], val.tags[from_sib], threshold),
            "top1_accuracy": top1(p_val[from_sib], val.tags[from_sib]),
        },
        "oos_val": {"n": int(oos.sum()),
                    "false_suggestion_rate": suggestion_rate(p_val[oos], threshold)},
        "small_talk_meta_val": {"n": int(chat.sum()),
                                "false_suggestion_rate": suggestion_rate(p_val[chat], threshold)},
        "sib_dev": {
            "n": len(dev.tags),
            "kept_accuracy": kept_accuracy(p_dev, dev.tags, threshold),
            "top1_accuracy": top1(p_dev, dev.tags),
            # SIB texts whose top suggestion is a CLINC-only tag: how much the two label
            # sets bleed into each other inside one model.
            "life_area_suggested": float(np.mean(
                np.isin(p_dev.argmax(1), tagger_labels.life_area_only())
                & (p_dev.max(1) >= threshold))),
            "per_language": {
                lang: {
                    "kept_accuracy": kept_accuracy(p_dev[m], dev.tags[m], threshold),
                    "top1_accuracy": top1(p_dev[m], dev.tags[m]),
                }
                for lang in SIB_LANGUAGES
                for m in [dev.sources == f"sib:{lang}"]
            },
        },
        "threshold_tuned_on_other_half_of_val": held,
    }


def encoder_model_id() -> str:
    """The webview's encoder, which must be the one ml.embed's vectors come from."""
    try:
        shipped = json.loads(ENCODER_MANIFEST.read_text())["model_id"]
    except FileNotFoundError:
        sys.exit(f"no encoder at {ENCODER_MANIFEST}: build it first (python -m ml.build_encoder)")
    if shipped != embed.model_id():
        sys.exit(f"{ENCODER_MANIFEST} is model {shipped}, ml.embed makes {embed.model_id()}: "
                 "rebuild the encoder (python -m ml.build_encoder)")
    return shipped


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__)
    parser.add_argument("--head", choices=sorted(HEADS), default=SHIPPED_HEAD)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=TAGGER_DIR,
                        help="where the converted tagger goes (default: %(default)s)")
    args = parser.parse_args(argv)
    from ml import convert

    tensorflow()
    started = time.monotonic()
    model_id = encoder_model_id()
    splits = tagger_splits(args.seed)
    embedded = time.monotonic()
    model = fit_tagger(splits["fit"], args.head, args.seed)
    trained = time.monotonic()
    probs = {name: tag_probabilities(model, s.x) for name, s in splits.items()}
    val = splits["val"]
    threshold = tune_threshold(probs["val"], val.tags, val.sources)
    metrics = measure(splits, probs, threshold, args.seed)
    metrics["n_fit"] = len(splits["fit"].tags)
    metrics["seconds"] = {"embed": round(embedded - started, 1),
                          "train": round(trained - embedded, 1)}
    convert.write_tagger(model, args.out, labels=list(tagger_labels.TAGS), threshold=threshold,
                         head=args.head, seed=args.seed, encoder_model_id=model_id,
                         mapping=tagger_labels.mapping(), metrics=metrics,
                         command=" ".join(["python -m ml.train", *(argv or sys.argv[1:])]),
                         examples=EXAMPLES, example_vectors=embed.embed(EXAMPLES))
    print(json.dumps(metrics, indent=1))


if __name__ == "__main__":
    main()
