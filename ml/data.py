"""Labeled text from ../shared/data (CLINC150, SIB-200) and from users' CSV/TSV files."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

# The 16 languages multilingual USE v3 covers, as SIB-200 names its folders.
SIB_LANGUAGES = (
    "arb_Arab", "zho_Hans", "zho_Hant", "nld_Latn", "eng_Latn", "fra_Latn", "deu_Latn",
    "ita_Latn", "jpn_Jpan", "kor_Hang", "pol_Latn", "por_Latn", "spa_Latn", "tha_Thai",
    "tur_Latn", "rus_Cyrl",
)


class DataError(ValueError):
    """A data file that cannot be used, with a message that says which and why."""


@dataclass(frozen=True)
class Labeled:
    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def read_table(path: Path | str, columns: Sequence[str]) -> dict[str, list[str]]:
    """Reads the named columns of a CSV (.csv) or TSV (.tsv, .tab) file with a header row.

    TSV is read with quoting off: tab-separated corpora (SIB-200 among them) put bare
    quote characters inside texts, which a CSV-style reader would swallow.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        dialect: dict = {"delimiter": ","}
    elif suffix in (".tsv", ".tab"):
        dialect = {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
    else:
        raise DataError(f"{path}: unknown file type {suffix!r}; use .csv or .tsv")
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f, **dialect))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 (bad byte at offset {e.start})") from None
    except csv.Error as e:
        raise DataError(f"{path}: unreadable {suffix[1:].upper()}: {e}") from None
    if not rows or not any(rows[0]):
        raise DataError(f"{path}: empty file (expected a header row with {', '.join(columns)})")
    header = rows[0]
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(
            f"{path}: no column {', '.join(map(repr, missing))}; the header has "
            f"{', '.join(map(repr, header))}"
        )
    index = [header.index(c) for c in columns]
    table: dict[str, list[str]] = {c: [] for c in columns}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} fields, the header {len(header)}")
        for c, i in zip(columns, index, strict=True):
            table[c].append(row[i])
    if not table[columns[0]]:
        raise DataError(f"{path}: no rows after the header")
    return table


def read_labeled(path: Path | str, text_col: str = "text", label_col: str = "label") -> Labeled:
    table = read_table(path, (text_col, label_col))
    return Labeled(table[text_col], table[label_col])


def _shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not SHARED_DATA.is_dir():
        raise DataError(f"the training data is not here: expected {SHARED_DATA}")
    return path


def clinc(split: str) -> dict[str, list[str]]:
    """CLINC150 in-scope rows of 'train' or 'val': columns text, intent, domain."""
    return read_table(_shared("clinc150", f"{split}.csv"), ("text", "intent", "domain"))


def clinc_oos(split: str) -> list[str]:
    """CLINC150's out-of-scope texts of 'train' or 'val'."""
    return read_table(_shared("clinc150", f"oos_{split}.csv"), ("text",))["text"]


def sib(language: str, split: str) -> dict[str, list[str]]:
    """SIB-200 rows of one language's 'train' or 'dev': columns index_id, category, text."""
    return read_table(_shared("sib200", language, f"{split}.tsv"), ("index_id", "category", "text"))
