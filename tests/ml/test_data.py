"""ml.data: users' CSV/TSV files and the shared training data; ml.tagger_labels' sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml import data, tagger_labels
from ml.data import DataError, read_labeled, read_table


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def test_csv_with_quoted_commas_and_newlines(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", 'text,label\n"one, two",x\n"line\nbreak",y\n')
    got = read_labeled(f)
    assert got.texts == ["one, two", "line\nbreak"]
    assert got.labels == ["x", "y"]


def test_tsv_keeps_quote_characters(tmp_path: Path) -> None:
    # With CSV quoting on, the first text would swallow the tab and the next line.
    f = write(tmp_path / "a.tsv", 'label\ttext\nx\t"He said\nyy\tit\'s 5" long"\n')
    got = read_labeled(f)
    assert got.texts == ['"He said', 'it\'s 5" long"']
    assert got.labels == ["x", "yy"]


def test_other_column_names_and_order(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "id,category,sentence\n1,sports,Goal!\n")
    got = read_labeled(f, text_col="sentence", label_col="category")
    assert (got.texts, got.labels) == (["Goal!"], ["sports"])


def test_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", "\ufefftext,label\r\nhi,x\r\n".encode())
    assert read_labeled(f).texts == ["hi"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("a.csv", "", "empty file"),
    ("a.csv", "\n\n", "empty file"),
    ("a.csv", "text,label\n", "no rows after the header"),
    ("a.csv", "text,tag\nhi,x\n", "no column 'label'; the header has 'text', 'tag'"),
    ("a.tsv", "text\tlabel\nhi\tx\tz\n", "line 2 has 3 fields, the header 2"),
    ("a.txt", "text,label\nhi,x\n", "unknown file type '.txt'"),
    ("a.csv", b"text,label\nna\xefve,x\n", "not UTF-8 (bad byte at offset"),
    ("a.csv", b"text,label\n\xff\xfe,x\n", "not UTF-8"),
])
def test_bad_files_say_what_is_wrong(tmp_path: Path, name: str, content: str | bytes,
                                     message: str) -> None:
    f = write(tmp_path / name, content)
    with pytest.raises(DataError) as e:
        read_labeled(f)
    assert message in str(e.value)
    assert str(f) in str(e.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "nope.csv", ("text",))


def test_clinc_files() -> None:
    val = data.clinc("val")
    assert len(val["text"]) == 3000
    assert set(val["domain"]) == set(tagger_labels.LIFE_AREAS)
    assert len(set(val["intent"])) == 150
    assert len(data.clinc_oos("val")) == 100


def test_sib_rows_line_up_across_languages() -> None:
    first = data.sib(data.SIB_LANGUAGES[0], "dev")
    assert len(first["text"]) == 99
    for language in data.SIB_LANGUAGES[1:]:
        rows = data.sib(language, "dev")
        assert rows["index_id"] == first["index_id"]
        assert rows["category"] == first["category"]
    assert set(first["category"]) == set(tagger_labels.TOPICS)


def test_tags_are_unique_and_cover_both_label_sets() -> None:
    tags = tagger_labels.TAGS
    assert len(tags) == len(set(tags)) == 13
    assert set(tagger_labels.TOPICS.values()) <= set(tags)
    assert {t for t in tagger_labels.LIFE_AREAS.values() if t} <= set(tags)
    assert [tags[i] for i in tagger_labels.life_area_only()] == [
        "money", "food", "home", "car & commute", "phone & tools", "work"]


def test_sib_validation_holds_out_whole_sentences() -> None:
    fit = tagger_labels.sib_set("train", seed=0, part="fit")
    val = tagger_labels.sib_set("train", seed=0, part="validation")
    held = tagger_labels.sib_validation_ids(seed=0)
    assert len(fit) + len(val) == 701 * len(data.SIB_LANGUAGES)
    assert len(val) == len(held) * len(data.SIB_LANGUAGES)
    # No sentence has a translation on the other side.
    eng = data.sib("eng_Latn", "train")
    fit_ids = {i for i, t in zip(eng["index_id"], eng["text"], strict=True) if t in fit.texts}
    assert fit_ids and not fit_ids & held
    assert tagger_labels.sib_validation_ids(seed=0) == held
    assert tagger_labels.sib_validation_ids(seed=1) != held


def test_clinc_set_marks_chat_and_out_of_scope_as_no_tag() -> None:
    s = tagger_labels.clinc_set("val")
    by_source: dict[str, set[int]] = {}
    for tag, source in zip(s.tags, s.sources, strict=True):
        by_source.setdefault(source, set()).add(tag)
    for source in ("clinc:oos", "clinc:small_talk", "clinc:meta"):
        assert by_source[source] == {-1}
    assert -1 not in by_source["clinc:in-scope"]
    assert len(by_source["clinc:in-scope"]) == 7  # banking and credit cards are both "money"
    assert len(s) == 3100
