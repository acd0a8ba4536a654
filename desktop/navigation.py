"""Keeps the window on Margin's page: Qt refuses every other navigation and new windows.

pywebview's Qt page goes wherever the page is sent (a link, window.location, a
dropped file) and hands new-window requests of any scheme to the system browser.
Installed before the window is made, pywebview's page class is given Qt's two hooks
so that it loads only the app's own page and opens no windows: even a bug in our JS
cannot take the window elsewhere or open a page outside it. A link reaches the
browser only when the page asks for it through the js_api (desktop/links.py).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def install() -> None:
    """Makes pywebview's Qt pages refuse to leave the app (call before webview.start)."""
    from qtpy.QtCore import QUrl
    from webview.platforms import qt

    no_fragment = QUrl.UrlFormattingOption.RemoveFragment

    def app_url(page: Any) -> QUrl:
        # The page's parent is pywebview's view, whose parent holds its window; by
        # the time a page navigates, pywebview has the page's address on its server.
        window = page.parent().parent().pywebview_window
        return QUrl(window.real_url or "").adjusted(no_fragment)

    def accept_navigation_request(page: Any, url: QUrl, kind: Any, is_main_frame: bool) -> bool:
        try:
            if url.adjusted(no_fragment) == app_url(page):
                return True  # the first load, or a reload
        except Exception:
            # PyQt ends the process on an exception in a Qt hook: refuse instead.
            log.exception("cannot tell the app's address; the navigation is refused")
        log.warning(
            "refused to take %s to a %s address (%s)",
            "the window" if is_main_frame else "a frame",
            url.scheme() or "relative",
            kind.name,
        )
        return False

    def create_window(page: Any, kind: Any) -> None:
        log.warning("refused to open a new window (%s)", kind.name)
        return None

    # Set on pywebview's own page class, not a subclass: its __init__ names that
    # class in super(), so a subclass standing in for it would recurse.
    page_class = qt.BrowserView.WebPage
    page_class.acceptNavigationRequest = accept_navigation_request
    page_class.createWindow = create_window
