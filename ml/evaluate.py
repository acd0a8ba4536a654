"""Trains the app's tagger pipeline on anyone's labeled CSV/TSV and measures it.

    python -m ml.evaluate --train TRAIN.csv --test TEST.csv [--text-col text]
        [--label-col label] [--shots K] [--seed S] [--head NAME]

Same encoder (ml.embed), same head and training code as the shipped tagger (ml.train),
so the figure says how the app would tag texts like these. Prints one JSON object:
accuracy, macro_f1, per-class precision/recall/F1, n_train, n_test, seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence

import numpy as np

from ml import embed, train
from ml.data import DataError, Labeled, read_labeled


def take_shots(data: Labeled, shots: int, seed: int) -> Labeled:
    """At most `shots` examples of each label, picked at random (seeded), in file order."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(data.labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    kept = sorted(i for rows in by_label.values() for i in rng.sample(rows, min(shots, len(rows))))
    return Labeled([data.texts[i] for i in kept], [data.labels[i] for i in kept])


def scores(gold: Sequence[str], predicted: Sequence[str]) -> dict:
    """Accuracy, macro F1 over every label seen in gold or predicted, and per-label figures."""
    labels = sorted(set(gold) | set(predicted))
    g, p = np.asarray(gold), np.asarray(predicted)
    per_class = {}
    for label in labels:
        tp = int(np.sum((g == label) & (p == label)))
        n_pred, n_gold = int(np.sum(p == label)), int(np.sum(g == label))
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        per_class[label] = {"precision": precision, "recall": recall, "f1": f1, "support": n_gold}
    return {
        "accuracy": float(np.mean(g == p)),
        "macro_f1": float(np.mean([c["f1"] for c in per_class.values()])),
        "per_class": per_class,
    }


def evaluate(train_set: Labeled, test_set: Labeled, head: str = train.SHIPPED_HEAD,
             seed: int = train.SEED) -> dict:
    started = time.monotonic()
    classes = sorted(set(train_set.labels))
    index = {label: i for i, label in enumerate(classes)}
    model = train.fit(embed.embed(train_set.texts), np.array([index[t] for t in train_set.labels]),
                      len(classes), head=head, seed=seed)
    predicted = train.predict(model, embed.embed(test_set.texts)).argmax(1)
    return {
        **scores(test_set.labels, [classes[i] for i in predicted]),
        "n_train": len(train_set),
        "n_test": len(test_set),
        "n_labels": len(classes),
        "head": head,
        "seed": seed,
        "seconds": round(time.monotonic() - started, 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ml.evaluate",
        description="Train the app's tagger on a labeled CSV/TSV and score it on another.")
    parser.add_argument("--train", required=True, help="labeled texts to learn from (.csv/.tsv)")
    parser.add_argument("--test", required=True, help="labeled texts to score on (.csv/.tsv)")
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--label-col", default="label")
    parser.add_argument("--shots", type=int, help="keep this many examples per label from TRAIN")
    parser.add_argument("--seed", type=int, default=train.SEED)
    parser.add_argument("--head", choices=sorted(train.HEADS), default=train.SHIPPED_HEAD,
                        help="default: the head the app ships (%(default)s); cnn is the article's")
    args = parser.parse_args(argv)
    if args.shots is not None and args.shots < 1:
        parser.error("--shots must be at least 1")
    try:
        train_set = read_labeled(args.train, args.text_col, args.label_col)
        test_set = read_labeled(args.test, args.text_col, args.label_col)
    except DataError as e:
        sys.exit(f"error: {e}")
    if args.shots:
        train_set = take_shots(train_set, args.shots, args.seed)
    result = evaluate(train_set, test_set, head=args.head, seed=args.seed)
    if args.shots:
        result["shots"] = args.shots
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
