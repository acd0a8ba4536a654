"""`python -m ml.evaluate` on small labeled files made here."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml import evaluate
from ml.data import REPO_ROOT, Labeled

TRAIN = {
    "cooking": [
        "Knead the dough for ten minutes, then let it rise.",
        "Simmer the tomato sauce with garlic and basil.",
        "Whisk the eggs with sugar until pale.",
        "Roast the chicken at 200 degrees for an hour.",
        "Chop the onions finely and fry them in butter.",
    ],
    "football": [
        "The striker scored twice in the second half.",
        "The goalkeeper saved a penalty in extra time.",
        "Our team lost the derby three goals to one.",
        "The coach changed the formation at half time.",
        "He was sent off after a second yellow card.",
    ],
    "weather": [
        "Heavy rain and strong winds are expected tonight.",
        "Tomorrow will be sunny with a high of 25 degrees.",
        "Snow is forecast for the mountains this weekend.",
        "A thunderstorm warning was issued for the afternoon.",
        "Fog will clear by noon, then cloudy skies.",
    ],
}
TEST = {
    "cooking": ["Bake the cake for forty minutes.", "Season the soup with salt and pepper."],
    "football": ["The referee gave a free kick.", "The midfielder passed to the winger."],
    "weather": ["Expect showers and a cold wind.", "It will be hot and humid all week."],
}


def write(path: Path, rows: dict[str, list[str]], header: tuple[str, str] = ("text", "label"),
          text_col: str = "text", label_col: str = "label") -> Path:
    """rows as a CSV or (by the extension) TSV file with the given header."""
    tsv = path.suffix == ".tsv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, header, delimiter="\t" if tsv else ",",
                           quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL)
        w.writeheader()
        w.writerows({text_col: text, label_col: label}
                    for label, texts in rows.items() for text in texts)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    evaluate.main(list(args))
    return json.loads(capsys.readouterr().out)


def test_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = run(capsys, "--train", str(write(tmp_path / "train.csv", TRAIN)),
              "--test", str(write(tmp_path / "test.csv", TEST)))
    assert (got["n_train"], got["n_test"], got["head"]) == (15, 6, "mlp")
    assert got["accuracy"] >= 5 / 6
    assert set(got["per_class"]) == set(TRAIN)
    assert set(got["per_class"]["weather"]) == {"precision", "recall", "f1", "support"}
    assert 0 <= got["macro_f1"] <= 1 and got["seconds"] > 0


def test_tsv_other_columns_shots_and_head(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    columns = {"header": ("category", "sentence"), "text_col": "sentence",
               "label_col": "category"}
    got = run(capsys, "--train", str(write(tmp_path / "a.tsv", TRAIN, **columns)),
              "--test", str(write(tmp_path / "b.tsv", TEST, **columns)),
              "--text-col", "sentence", "--label-col", "category",
              "--shots", "2", "--seed", "3", "--head", "cnn")
    assert (got["n_train"], got["n_test"], got["head"], got["shots"]) == (6, 6, "cnn", 2)


def test_bad_file_is_one_clear_line(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", TRAIN, header=("text", "tag"), label_col="tag")
    done = subprocess.run(
        [sys.executable, "-m", "ml.evaluate", "--train", str(train), "--test", str(train)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {train}: no column 'label'; the header has 'text', 'tag'")


def test_shots_are_seeded_and_per_label() -> None:
    data = Labeled([f"t{i}" for i in range(30)], ["a"] * 20 + ["b"] * 8 + ["c"] * 2)
    picked = evaluate.take_shots(data, 5, seed=1)
    assert [picked.labels.count(x) for x in "abc"] == [5, 5, 2]
    assert picked == evaluate.take_shots(data, 5, seed=1)
    assert picked != evaluate.take_shots(data, 5, seed=2)


def test_scores_count_labels_the_model_never_predicts() -> None:
    got = evaluate.scores(["a", "a", "b", "c"], ["a", "b", "b", "b"])
    assert got["accuracy"] == 0.5
    assert got["per_class"]["b"] == {"precision": 1 / 3, "recall": 1.0, "f1": 0.5, "support": 1}
    assert got["per_class"]["c"]["f1"] == 0.0
    assert got["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 0.0) / 3)
