"""The checks on values that come from the webview."""

from __future__ import annotations

import base64
import math
import struct

import numpy as np
import pytest

from desktop import validate
from desktop.validate import ValidationError


@pytest.mark.parametrize("good", [1, 42, 2**63 - 1])
def test_note_id_accepts_positive_ints(good) -> None:
    assert validate.note_id(good) == good


@pytest.mark.parametrize(
    "bad", [0, -3, 2**63, 10**19, "1", 1.0, 1.5, True, False, None, [1], {"id": 1}]
)
def test_note_id_refuses_everything_else(bad) -> None:
    with pytest.raises(ValidationError) as refused:
        validate.note_id(bad)
    assert refused.value.code == "invalid"
    assert refused.value.message.startswith("A note id must be")


def test_title_limit_is_500_characters_not_bytes() -> None:
    assert validate.title("é" * 500) == "é" * 500
    with pytest.raises(ValidationError, match="at most 500 characters"):
        validate.title("x" * 501)


def test_body_limit_is_a_million_utf8_bytes() -> None:
    assert len(validate.body("a" * 1_000_000)) == 1_000_000
    with pytest.raises(ValidationError, match="too long"):
        validate.body("a" * 1_000_001)
    # 500,001 two-byte characters: few characters, too many bytes.
    with pytest.raises(ValidationError, match="too long"):
        validate.body("é" * 500_001)


@pytest.mark.parametrize("check", [validate.title, validate.body, validate.tag])
def test_text_refuses_non_text_and_lone_surrogates(check) -> None:
    with pytest.raises(ValidationError, match="must be text"):
        check(12)
    with pytest.raises(ValidationError, match="cannot be saved"):
        check("broken \ud800 pair")


def test_tag_is_cleaned_and_limited() -> None:
    assert validate.tag("  to   read \n") == "to read"
    assert validate.tag("t" * 64) == "t" * 64
    with pytest.raises(ValidationError, match="at most 64"):
        validate.tag("t" * 65)
    for empty in ("", "   ", "\n\t"):
        with pytest.raises(ValidationError, match="cannot be empty"):
            validate.tag(empty)


def test_tags_list() -> None:
    assert validate.tags(["a", " b "]) == ["a", "b"]
    with pytest.raises(ValidationError, match="must be a list"):
        validate.tags("a, b")
    with pytest.raises(ValidationError, match="at most 100 tags"):
        validate.tags([f"t{i}" for i in range(101)])


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://example.org/a?b=1#c", "https://example.org/a?b=1#c"),
        ("  HTTP://Example.org  ", "HTTP://Example.org"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_source_url_keeps_web_addresses(given, kept) -> None:
    assert validate.source_url(given) == kept


@pytest.mark.parametrize(
    "bad",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,hi",
        "ftp://example.org/x",
        "example.org",
        "https://",
        "http://[::1",
        "https://example.org/" + "a" * 2048,
        42,
    ],
)
def test_source_url_refuses_other_schemes_and_junk(bad) -> None:
    with pytest.raises(ValidationError):
        validate.source_url(bad)


def test_source_url_length_limit() -> None:
    base = "https://example.org/"
    assert validate.source_url(base + "a" * (2048 - len(base)))
    with pytest.raises(ValidationError, match="at most 2048"):
        validate.source_url(base + "a" * (2049 - len(base)))


def test_list_arguments() -> None:
    assert validate.search_text('any (text) "at" all*') == 'any (text) "at" all*'
    # A long paste is searched by its start, not refused.
    assert validate.search_text("q" * 10_000) == "q" * validate.MAX_SEARCH_CHARS
    assert validate.limit(1) == 1 and validate.limit(1000) == 1000
    for bad in (0, 1001, True, "5", 2.0):
        with pytest.raises(ValidationError):
            validate.limit(bad)
    assert validate.offset(0) == 0
    for bad in (-1, False, "0"):
        with pytest.raises(ValidationError):
            validate.offset(bad)
    assert validate.optional_tag(None) is None
    assert validate.optional_tag(" x ") == "x"


def test_note_fields_checks_each_field_and_refuses_unknown_ones() -> None:
    assert validate.note_fields({}) == {}
    assert validate.note_fields({"title": "t", "body": "b", "source_url": ""}) == {
        "title": "t",
        "body": "b",
        "source_url": None,
    }
    with pytest.raises(ValidationError, match="Unknown note field: colour"):
        validate.note_fields({"title": "t", "colour": "red"})
    with pytest.raises(ValidationError, match="must be an object"):
        validate.note_fields(["title"])
    with pytest.raises(ValidationError, match="500"):
        validate.note_fields({"title": "x" * 501})


def test_new_note_allows_tags_too() -> None:
    assert validate.new_note(None) == {}
    assert validate.new_note({"title": "t", "tags": [" a "]}) == {"title": "t", "tags": ["a"]}
    assert validate.new_note({"body": "b"}) == {"body": "b", "tags": []}
    with pytest.raises(ValidationError):
        validate.new_note({"tags": [""]})
    with pytest.raises(ValidationError):
        validate.new_note("title")


def b64(numbers) -> str:
    return base64.b64encode(np.asarray(numbers, "<f4").tobytes()).decode("ascii")


def unit_vector(seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(512).astype(np.float32)
    return v / np.linalg.norm(v)


def test_vector_round_trips_exactly() -> None:
    v = unit_vector()
    raw = validate.vector(b64(v))
    assert raw == v.astype("<f4").tobytes()
    assert np.array_equal(np.frombuffer(raw, "<f4"), v)
    assert len(b64(v)) == validate.VECTOR_BASE64_CHARS == 2732


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (None, "512 numbers"),
        (list(range(512)), "512 numbers"),
        ("", "512 numbers"),
        ("A" * 2732, "512 numbers"),  # the right length, but 2049 bytes without padding
        ("!" * 2732, "512 numbers"),
        (b64(np.ones(511) / math.sqrt(511)), "512 numbers"),
        (b64(np.ones(513) / math.sqrt(513)), "512 numbers"),
        (b64(np.zeros(512)), "unit length"),
        (b64(np.ones(512)), "unit length"),
        (b64(unit_vector() * 1.01), "unit length"),
    ],
    ids=["none", "list", "empty", "unpadded", "not base64", "511", "513", "zeros", "long", "1.01"],
)
def test_vector_refuses_wrong_shapes_and_lengths(bad, message) -> None:
    with pytest.raises(ValidationError, match=message):
        validate.vector(bad)


@pytest.mark.parametrize("special", [math.nan, math.inf, -math.inf])
def test_vector_refuses_non_finite_numbers(special) -> None:
    numbers = list(unit_vector())
    numbers[7] = special
    raw = struct.pack("<512f", *numbers)
    with pytest.raises(ValidationError, match="finite"):
        validate.vector(base64.b64encode(raw).decode("ascii"))


def test_vector_allows_float32_rounding_of_unit_length() -> None:
    assert validate.vector(b64(unit_vector(1) * 1.0005))
    assert validate.optional_vector(None) is None


def test_model_id_and_content_hash() -> None:
    assert validate.model_id("61534e4bf428") == "61534e4bf428"
    for bad in ("", "a b", "x" * 101, None, 5, "id\n"):
        with pytest.raises(ValidationError, match="model id"):
            validate.model_id(bad)
    digest = "0123456789abcdef" * 4
    assert validate.content_hash(digest) == digest
    for bad in (digest.upper(), digest[:-1], digest + "0", "g" * 64, None):
        with pytest.raises(ValidationError, match="content hash"):
            validate.content_hash(bad)


def test_search_filters() -> None:
    none = {"tag": None, "date_from": None, "date_to": None}
    assert validate.search_filters(None) == none
    assert validate.search_filters({}) == none
    assert validate.search_filters({"tag": "", "from": None, "to": None}) == none
    assert validate.search_filters({"tag": " travel ", "from": 0, "to": 1_700_000_000_000}) == {
        "tag": "travel",
        "date_from": 0,
        "date_to": 1_700_000_000_000,
    }
    refused = {
        "list": [],
        "unknown key": {"colour": "red"},
        "boolean date": {"from": True},
        "text date": {"to": "2024-01-01"},
        "float date": {"to": 1.5},
        "huge date": {"from": 2**60},
        "reversed": {"from": 2, "to": 1},
        "empty tag": {"tag": "   "},
    }
    for case, bad in refused.items():
        with pytest.raises(ValidationError):
            validate.search_filters(bad)
        assert case
