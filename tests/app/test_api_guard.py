"""The one part of the bridge the window cannot reach: an unexpected failure.

Every argument the page can send is refused by desktop.validate or reported by the
store, so an exception that escapes both can only come from a bug. This makes one,
on a real store, to check that the page gets plain words and the log gets the rest.
"""

from __future__ import annotations

import logging
from pathlib import Path

from desktop import api
from desktop.search import Search
from desktop.store import Store


class _Broken(api.Api):
    @api._bridge
    def explode(self, detail):
        raise RuntimeError(detail)


def test_an_unexpected_failure_is_logged_and_answered_plainly(tmp_path: Path, caplog) -> None:
    store = Store(tmp_path / "notes.sqlite3")
    try:
        with caplog.at_level(logging.ERROR, logger="desktop.api"):
            reply = _Broken(store, Search(store, None)).explode("secret detail at /home/someone")
    finally:
        store.close()
    assert reply == {
        "error": {
            "code": "internal",
            "message": "Something went wrong inside Margin. Details are in the log.",
        }
    }
    assert "secret detail at /home/someone" in caplog.text
    assert "Traceback" in caplog.text


def test_store_errors_keep_their_code(tmp_path: Path) -> None:
    store = Store(tmp_path / "notes.sqlite3")
    bridge = api.Api(store, Search(store, None))
    assert bridge.get_note(1)["error"]["code"] == "not_found"
    assert bridge.rename_tag("nothing", "else")["error"]["code"] == "not_found"
    store.close()
    assert bridge.list_tags()["error"]["code"] == "closed"
