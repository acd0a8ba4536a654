"""Links from notes: which ones may open, and opening them in the system browser.

The app window never shows a link's page (desktop/navigation.py refuses that);
a click on a link comes here through the js_api instead. Only web and mail
addresses may open: javascript:, data:, file: and every other scheme would run
code, show local files or start other programs.
"""

from __future__ import annotations

import logging
import webbrowser
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

OPENABLE_SCHEMES = frozenset({"http", "https", "mailto"})


class LinkRefused(ValueError):
    """The address is not one Margin opens."""


def is_openable(url: str) -> bool:
    """An http(s) address with a host, or a mailto: address; nothing else."""
    # Controls and spaces: a well-formed link has none, and browsers and urlsplit
    # each drop or keep them in their own way ("java\tscript:").
    if not url or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in OPENABLE_SCHEMES:
        return False
    if scheme == "mailto":
        return bool(parts.path)
    return bool(parts.hostname)


def open_in_browser(url: str) -> bool:
    """Hands `url` to the system browser (the BROWSER variable, else the desktop's
    default); True if a browser took it. Raises LinkRefused for any other address."""
    if not is_openable(url):
        raise LinkRefused(url)
    opened = webbrowser.open(url, new=2)
    if not opened:
        log.warning("no browser took a link (%d characters)", len(url))
    return opened
