"""Test-only observer, loaded by Python at start when tests/trust/spy is on PYTHONPATH.

With MARGIN_TEST_SPY naming a file, the app under test writes one JSON line there
for each js_api call ({"call": method, "args": ...}) and each address Python would
give the system browser ({"browser": url}, not opened). The hostile-input tests
read it: it is the Python side's own count, whatever the page's JS did to its
globals.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

_RECORD = os.environ.get("MARGIN_TEST_SPY")
_ROOT = Path(__file__).resolve().parents[3]
_SMALL = 400  # arguments longer than this (as JSON) are left out of the record
_lock = threading.Lock()


def _write(entry: dict[str, Any]) -> None:
    line = json.dumps(entry, default=repr) + "\n"
    with _lock, open(_RECORD, "a", encoding="utf-8") as f:  # type: ignore[arg-type]
        f.write(line)


def _watched(name: str, method: Any) -> Any:
    @functools.wraps(method)
    def call(self: Any, *args: Any) -> Any:
        shown = json.dumps(args, default=repr)
        _write({"call": name, "args": args if len(shown) <= _SMALL else None})
        return method(self, *args)

    return call


def _install() -> None:
    if str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))
    import webbrowser

    from desktop import api

    for name, member in list(vars(api.Api).items()):
        if callable(member) and not name.startswith("_"):
            setattr(api.Api, name, _watched(name, member))

    def browser(url: str, *args: Any, **kwargs: Any) -> bool:
        _write({"browser": url})
        return True

    webbrowser.open = browser


if _RECORD:
    _install()
