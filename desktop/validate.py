"""Checks on every value that arrives from the webview, before it reaches storage.

Each function returns the cleaned value or raises ValidationError with a message a
person can read in the status bar.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from desktop import links

MAX_TITLE_CHARS = 500
MAX_BODY_BYTES = 1_000_000
MAX_TAG_CHARS = 64
MAX_URL_CHARS = 2048
MAX_SEARCH_CHARS = 1000
MAX_LIST_LIMIT = 1000
MAX_TAGS_PER_NOTE = 100
MAX_SQLITE_INT = 2**63 - 1
# JS numbers are exact up to here; a date bound beyond it did not come from a date.
MAX_SAFE_JS_INT = 2**53 - 1
VECTOR_DIMENSIONS = 512
# float32 little-endian, base64: 2048 bytes -> 2732 characters (with padding).
VECTOR_BASE64_CHARS = 4 * math.ceil(4 * VECTOR_DIMENSIONS / 3)
# The encoder's vectors are L2-normalised in float32; more slack than rounding
# needs, far less than any other vector would pass with.
UNIT_NORM_TOLERANCE = 1e-3
_MODEL_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_CONTENT_HASH = re.compile(r"[0-9a-f]{64}")
_FILTER_KEYS = ("tag", "from", "to")
NOTE_FIELDS = ("title", "body", "source_url")


class ValidationError(ValueError):
    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"The {what} must be text.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates can come from JS strings; SQLite cannot store them.
        raise ValidationError(f"The {what} contains characters that cannot be saved.") from None
    return value


def note_id(value: Any) -> int:
    # bool is an int subclass, and true/false must not pass for note 1/0.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("A note id must be a whole number.")
    if not 0 < value <= MAX_SQLITE_INT:
        raise ValidationError("A note id must be a positive number of at most 19 digits.")
    return value


def title(value: Any) -> str:
    value = _text(value, "title")
    if len(value) > MAX_TITLE_CHARS:
        raise ValidationError(f"The title is too long (at most {MAX_TITLE_CHARS} characters).")
    return value


def body(value: Any) -> str:
    value = _text(value, "note text")
    if len(value.encode("utf-8")) > MAX_BODY_BYTES:
        raise ValidationError("The note is too long (at most 1 MB of text).")
    return value


def tag(value: Any) -> str:
    value = " ".join(_text(value, "tag").split())
    if not value:
        raise ValidationError("A tag cannot be empty.")
    if len(value) > MAX_TAG_CHARS:
        raise ValidationError(f"A tag can have at most {MAX_TAG_CHARS} characters.")
    return value


def tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValidationError("Tags must be a list.")
    if len(value) > MAX_TAGS_PER_NOTE:
        raise ValidationError(f"A note can have at most {MAX_TAGS_PER_NOTE} tags.")
    return [tag(item) for item in value]


def optional_tag(value: Any) -> str | None:
    return None if value is None else tag(value)


def source_url(value: Any) -> str | None:
    """An http(s) address, or None to clear it (an empty string clears it too)."""
    if value is None:
        return None
    value = _text(value, "source link").strip()
    if not value:
        return None
    if len(value) > MAX_URL_CHARS:
        raise ValidationError(f"The source link is too long (at most {MAX_URL_CHARS} characters).")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValidationError("The source link is not a valid web address.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError(
            "The source link must be a web address starting with http:// or https://."
        )
    return value


def link(value: Any) -> str:
    """A link from a note to open in the browser: http(s) or mailto only."""
    value = _text(value, "link")
    if len(value) > MAX_URL_CHARS:
        raise ValidationError(f"The link is too long (at most {MAX_URL_CHARS} characters).")
    if not links.is_openable(value):
        raise ValidationError("Margin opens only web (http, https) and mail (mailto) links.")
    return value


def search_text(value: Any) -> str:
    """Search words; a longer paste searches its first MAX_SEARCH_CHARS characters."""
    return _text(value, "search text")[:MAX_SEARCH_CHARS]


def limit(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIST_LIMIT:
        raise ValidationError(f"The list size must be a whole number from 1 to {MAX_LIST_LIMIT}.")
    return value


def offset(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("The list offset must be a whole number, zero or more.")
    return value


_FIELD_CHECKS = {"title": title, "body": body, "source_url": source_url}


def note_fields(value: Any) -> dict[str, Any]:
    """A dict with some of title, body, source_url; unknown keys are refused."""
    if not isinstance(value, dict):
        raise ValidationError("Note fields must be an object.")
    unknown = sorted(set(value) - set(NOTE_FIELDS))
    if unknown:
        raise ValidationError(f"Unknown note field: {', '.join(map(str, unknown))}.")
    return {key: _FIELD_CHECKS[key](item) for key, item in value.items()}


def new_note(value: Any) -> dict[str, Any]:
    """Fields for a new note: note_fields plus an optional list of tags."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError("Note fields must be an object.")
    fields = dict(value)
    tag_names = fields.pop("tags", [])
    checked = note_fields(fields)
    checked["tags"] = tags(tag_names)
    return checked


def vector(value: Any) -> bytes:
    """A unit-length 512-d vector sent as base64 of float32 little-endian; returns its bytes."""
    shape_error = ValidationError(
        f"A vector must be {VECTOR_DIMENSIONS} numbers, sent as base64 of float32."
    )
    if not isinstance(value, str) or len(value) != VECTOR_BASE64_CHARS:
        raise shape_error
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise shape_error from None
    if len(raw) != 4 * VECTOR_DIMENSIONS:
        raise shape_error
    # numpy, not a loop over floats: this sits on the path from a pause in
    # typing to suggestions shown (0.35 ms a vector that way, 10 µs this way).
    numbers = np.frombuffer(raw, "<f4").astype(np.float64)
    if not np.isfinite(numbers).all():
        raise ValidationError("A vector must hold finite numbers only.")
    norm = math.sqrt(float(numbers @ numbers))
    if abs(norm - 1.0) > UNIT_NORM_TOLERANCE:
        raise ValidationError("A vector must have unit length.")
    return raw


def optional_vector(value: Any) -> bytes | None:
    return None if value is None else vector(value)


def model_id(value: Any) -> str:
    if not isinstance(value, str) or not _MODEL_ID.fullmatch(value):
        raise ValidationError(
            "A model id must be 1 to 100 letters, digits, dots, dashes, colons or underscores."
        )
    return value


def backup_name(value: Any) -> str:
    """A backup's file name as desktop/backup.py writes them: never a path."""
    from desktop.backup import parse_name

    if not isinstance(value, str) or parse_name(value) is None:
        raise ValidationError("That is not the name of a Margin backup.")
    return value


def content_hash(value: Any) -> str:
    if not isinstance(value, str) or not _CONTENT_HASH.fullmatch(value):
        raise ValidationError("A content hash must be 64 lower-case hexadecimal digits.")
    return value


def _time_ms(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_SAFE_JS_INT:
        raise ValidationError(f"The {what} date must be a time in milliseconds.")
    return value


def search_filters(value: Any) -> dict[str, Any]:
    """{"tag", "from", "to"}, each optional: a tag, and dates bounding the last edit
    (ms since the epoch, inclusive). Returns Search.query's keyword arguments."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ValidationError("Search filters must be an object.")
    unknown = sorted(set(value) - set(_FILTER_KEYS))
    if unknown:
        raise ValidationError(f"Unknown search filter: {', '.join(map(str, unknown))}.")
    tag_name = value.get("tag")
    start = _time_ms(value.get("from"), "start")
    end = _time_ms(value.get("to"), "end")
    if start is not None and end is not None and start > end:
        raise ValidationError("The start date is after the end date.")
    return {
        "tag": None if tag_name in (None, "") else tag(tag_name),
        "date_from": start,
        "date_to": end,
    }


# ---------------------------------------------------------------- tag suggestions

MAX_TAGGER_OUTPUTS = 64
MAX_SUGGESTION_ITEMS = 256
MAX_VECTOR_IDS = 1000
MAX_HEAD_LABELS = 1000
TAGGER_SOURCES = ("topic", "personal")
FEEDBACK_SOURCES = ("topic", "personal", "neighbours")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_OUTPUT_KEYS = {"tag", "confidence", "source"}
_ITEM_KEYS = {"id", "content_hash", "outputs"}
_HEAD_KEYS = {"signature", "labels", "weights"}


def tagger_id(value: Any) -> str:
    """Names the taggers that made some suggestions; the same characters as a model id."""
    if not isinstance(value, str) or not _MODEL_ID.fullmatch(value):
        raise ValidationError(
            "A tagger id must be 1 to 100 letters, digits, dots, dashes, colons or underscores."
        )
    return value


def confidence(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise ValidationError("A confidence must be a number from 0 to 1.")
    return float(value)


def optional_confidence(value: Any) -> float | None:
    return None if value is None else confidence(value)


def tagger_outputs(value: Any) -> list[dict[str, Any]]:
    """What the webview's taggers suggest for one note: [{tag, confidence, source}]."""
    if not isinstance(value, list) or len(value) > MAX_TAGGER_OUTPUTS:
        raise ValidationError(f"Tagger outputs must be a list of at most {MAX_TAGGER_OUTPUTS}.")
    outputs = []
    for item in value:
        if not isinstance(item, dict) or set(item) != _OUTPUT_KEYS:
            raise ValidationError("Each tagger output must be {tag, confidence, source}.")
        if item["source"] not in TAGGER_SOURCES:
            raise ValidationError(f"A tagger output's source must be one of {TAGGER_SOURCES}.")
        outputs.append({
            "tag": tag(item["tag"]),
            "confidence": confidence(item["confidence"]),
            "source": item["source"],
        })
    return outputs


def suggestion_items(value: Any) -> list[dict[str, Any]]:
    """Tagger outputs for many notes: [{id, content_hash, outputs}]."""
    if not isinstance(value, list) or len(value) > MAX_SUGGESTION_ITEMS:
        raise ValidationError(
            f"Suggestions must be a list of at most {MAX_SUGGESTION_ITEMS} notes."
        )
    items = []
    for item in value:
        if not isinstance(item, dict) or set(item) != _ITEM_KEYS:
            raise ValidationError("Each note's suggestions must be {id, content_hash, outputs}.")
        items.append({
            "id": note_id(item["id"]),
            "content_hash": content_hash(item["content_hash"]),
            "outputs": tagger_outputs(item["outputs"]),
        })
    return items


def feedback_source(value: Any) -> str:
    if value not in FEEDBACK_SOURCES:
        raise ValidationError(f"A suggestion's source must be one of {FEEDBACK_SOURCES}.")
    return value


def note_ids(value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_VECTOR_IDS:
        raise ValidationError(f"Note ids must be a list of at most {MAX_VECTOR_IDS}.")
    return [note_id(item) for item in value]


def signature(value: Any) -> str:
    if not isinstance(value, str) or not _SIGNATURE.fullmatch(value):
        raise ValidationError("A signature must be 64 lower-case hexadecimal digits.")
    return value


def optional_signature(value: Any) -> str | None:
    return None if value is None else signature(value)


def personal_head(value: Any) -> dict[str, Any] | None:
    """{signature, labels, weights}: weights are base64 of float32 little-endian, the
    [512, K] matrix row by row then K biases, for K labels. None: no head."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != _HEAD_KEYS:
        raise ValidationError("A personal head must be {signature, labels, weights}.")
    labels = value["labels"]
    if not isinstance(labels, list) or not 0 < len(labels) <= MAX_HEAD_LABELS:
        raise ValidationError(f"A personal head has 1 to {MAX_HEAD_LABELS} labels.")
    labels = [tag(label) for label in labels]
    expected = 4 * (VECTOR_DIMENSIONS + 1) * len(labels)
    weights = value["weights"]
    shape_error = ValidationError(
        "A personal head's weights must be base64 of (512 + 1) float32 per label."
    )
    if not isinstance(weights, str) or len(weights) != 4 * math.ceil(expected / 3):
        raise shape_error
    try:
        raw = base64.b64decode(weights, validate=True)
    except (binascii.Error, ValueError):
        raise shape_error from None
    if len(raw) != expected:
        raise shape_error
    if not np.isfinite(np.frombuffer(raw, "<f4")).all():
        raise ValidationError("A personal head's weights must be finite numbers.")
    return {"signature": signature(value["signature"]), "labels": labels, "weights": raw}


# ---------------------------------------------------------------- imports, exports, bulk

MAX_SELECTED_NOTES = 10_000
MAX_PATH_CHARS = 4096
EXPORT_FORMATS = ("markdown", "json")
DIALOG_PURPOSES = ("import-folder", "import-file", "export-folder")


def selected_notes(value: Any) -> list[int]:
    """The notes a bulk change applies to: 1 to MAX_SELECTED_NOTES ids."""
    if not isinstance(value, list) or not 0 < len(value) <= MAX_SELECTED_NOTES:
        raise ValidationError(f"Select from 1 to {MAX_SELECTED_NOTES:,} notes.")
    return [note_id(item) for item in value]


def local_path(value: Any) -> Path:
    """An absolute path on this computer ("~" is the home folder)."""
    value = _text(value, "path")
    if not value.strip() or len(value) > MAX_PATH_CHARS or "\0" in value:
        raise ValidationError("That is not a path to a file or folder.")
    path = Path(value.strip()).expanduser()
    if not path.is_absolute():
        raise ValidationError("The path must be a full path, from the top of the disk.")
    return path


def export_format(value: Any) -> str:
    if value not in EXPORT_FORMATS:
        raise ValidationError(f"Notes export as one of: {', '.join(EXPORT_FORMATS)}.")
    return value


def dialog_purpose(value: Any) -> str:
    if value not in DIALOG_PURPOSES:
        raise ValidationError(f"A file dialog is for one of: {', '.join(DIALOG_PURPOSES)}.")
    return value


MAX_EMBEDDING_ITEMS = 256


def embedding_items(value: Any) -> list[tuple[int, bytes, str]]:
    """Vectors for many notes: [{id, content_hash, vector}] -> (id, bytes, hash) each."""
    if not isinstance(value, list) or len(value) > MAX_EMBEDDING_ITEMS:
        raise ValidationError(f"Vectors come at most {MAX_EMBEDDING_ITEMS} at a time.")
    items = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"id", "content_hash", "vector"}:
            raise ValidationError("Each note's vector must be {id, content_hash, vector}.")
        items.append(
            (note_id(item["id"]), vector(item["vector"]), content_hash(item["content_hash"]))
        )
    return items
