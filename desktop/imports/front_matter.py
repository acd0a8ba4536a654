"""YAML front matter: reading it from a Markdown file, writing it back, and its times.

A file's front matter is a YAML mapping between a first line "---" and the next
line "---" (or "..."); the body is every character after that line, untouched.
YAML is read with PyYAML's safe loader (libyaml's when built in: it is faster and
refuses nesting past 1,000 levels instead of exhausting the stack).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import yaml

from desktop import validate
from desktop.imports import Unreadable

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """The safe dumper, writing times as ISO 8601 ("2024-05-01T12:34:56.789Z")."""


def _represent_datetime(dumper: yaml.SafeDumper, value: dt.datetime) -> yaml.Node:
    if value.utcoffset() != dt.timedelta(0):
        return dumper.represent_scalar("tag:yaml.org,2002:timestamp", value.isoformat())
    text = value.replace(tzinfo=None).isoformat(timespec="seconds")
    if value.microsecond % 1000:
        text += f".{value.microsecond:06d}"
    elif value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", text + "Z")


_Dumper.add_representer(dt.datetime, _represent_datetime)

# The opening line, then the shortest run of lines up to a closing line.
_BLOCK = re.compile(
    r"---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MS = dt.timedelta(milliseconds=1)
# Plain numbers below this are seconds since the epoch (until the year 5138), above it ms.
_SECONDS_BELOW = 100_000_000_000


def split(text: str) -> tuple[dict[Any, Any] | None, str]:
    """(the front matter, the body); (None, text) when the text has no front matter.

    Raises Unreadable when the front matter is not valid YAML or not a mapping.
    """
    match = _BLOCK.match(text)
    if match is None:
        return None, text
    try:
        data = yaml.load(match.group(1), Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        raise Unreadable(f"broken YAML front matter: {_problem(e)}") from None
    except RecursionError:
        raise Unreadable("broken YAML front matter: nested too deeply") from None
    if data is None:
        return {}, text[match.end() :]
    if not isinstance(data, dict):
        raise Unreadable("broken YAML front matter: it is not a list of “key: value” lines")
    return data, text[match.end() :]


def _problem(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    # +1 for counting from one, +1 for the opening "---" line.
    return f"{problem} (line {mark.line + 2})" if mark is not None else problem


def dump(mapping: dict[Any, Any]) -> str:
    """YAML text of a mapping, keys in the given order, readable Unicode."""
    return yaml.dump(
        mapping, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
        width=1_000_000,
    )


def load(text: str) -> dict[Any, Any]:
    """A mapping that dump() wrote (kept front matter read back)."""
    data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    return data if isinstance(data, dict) else {}


def time_ms(value: object) -> int | None:
    """A front matter time as ms since the epoch; None when it is not one.

    Times without a zone are local time, as a person typed them. Plain numbers
    are seconds, or ms when too large to be seconds. Past what a JS number holds
    exactly, it is no time the app can show.
    """
    ms = _time_ms(value)
    return ms if ms is not None and abs(ms) <= validate.MAX_SAFE_JS_INT else None


def _time_ms(value: object) -> int | None:
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return round(value * 1000) if abs(value) < _SECONDS_BELOW else round(value)
        if isinstance(value, str):
            value = _parse_text_time(value.strip())
            if value is None:
                return None
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo is not None else value.astimezone()
            return (aware - _EPOCH) // _MS
        if isinstance(value, dt.date):
            return _time_ms(dt.datetime.combine(value, dt.time()))
    except (OverflowError, ValueError, OSError):
        return None
    return None


def _parse_text_time(text: str) -> dt.datetime | dt.date | None:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def yaml_time(ms: int) -> dt.datetime | int:
    """What front matter holds for a time: a UTC timestamp, or ms if out of its range."""
    try:
        return _EPOCH + ms * _MS
    except OverflowError:
        return ms
