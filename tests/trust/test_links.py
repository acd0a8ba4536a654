"""Links in notes open in the system browser after a click, never in the app window.

The system browser is a script named by BROWSER (Python's webbrowser runs it) that
writes down each address it is given: what a person's browser would have opened.
The window is the real one; "broken JS" is played by a listener that stops clicks
before the page's own link guard sees them, so only Qt is left to refuse.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.harness import AppProcess
from tests.trust.window_steps import write_note

APP_URL_JS = "location.href"
# A global that only this page has: gone if the window loaded anything else.
MARK_JS = "window.__stillHere = true"
STILL_HERE_JS = "window.__stillHere === true"


class Browser:
    """Reads what the BROWSER script was asked to open."""

    def __init__(self, folder: Path) -> None:
        self.record = folder / "opened.txt"
        self.script = folder / "record-browser"
        self.script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{self.record}"\n')
        self.script.chmod(self.script.stat().st_mode | stat.S_IXUSR)

    def opened(self) -> list[str]:
        return self.record.read_text().splitlines() if self.record.exists() else []


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Browser:
    return Browser(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def app(module_app_factory, browser: Browser) -> Iterator[AppProcess]:
    app = module_app_factory(extra_env={"BROWSER": str(browser.script)})
    app.eval(MARK_JS)
    yield app


@pytest.fixture
def start(app: AppProcess, browser: Browser) -> Iterator[dict]:
    """Where the window is and what was opened before the test; checks the window stayed."""
    before = {"url": app.eval(APP_URL_JS), "opened": len(browser.opened())}
    yield before
    assert app.eval(STILL_HERE_JS) is True, "the window loaded another page"
    assert app.eval(APP_URL_JS) == before["url"]


def newly_opened(browser: Browser, start: dict, count: int, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(browser.opened()) - start["opened"] < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return browser.opened()[start["opened"] :]


def refusals(app: AppProcess) -> list[str]:
    return [line for line in app.output().splitlines() if "refused to" in line]


OPENABLE = [
    "https://example.org/a/b?c=d&e=%20f#g",
    "http://example.org",
    "HTTPS://EXAMPLE.ORG/upper",
    "mailto:someone@example.org?subject=Margin",
]


def test_web_and_mail_links_open_in_the_browser(app: AppProcess, browser: Browser, start) -> None:
    for url in OPENABLE:
        assert app.call("open_link", url) == {"opened": True}
    assert newly_opened(browser, start, len(OPENABLE)) == OPENABLE


REFUSED = [
    "javascript:alert(1)",
    "JavaScript:alert(document.domain)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "jav&#x09;ascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "FILE:///etc/hostname",
    "ftp://example.org/file",
    "about:blank",
    "chrome://settings",
    "vbscript:msgbox(1)",
    "blob:http://127.0.0.1/0",
    "//example.org/no-scheme",
    "index.html",
    "/etc/passwd",
    "http://",
    "https:///no-host",
    "mailto:",
    "https://exa mple.org/",
    "https://example.org/\nsecond line",
    "https://example.org/\u0000",
    "https://example.org/" + "a" * 3000,
    "",
    42,
    None,
    ["https://example.org"],
]


@pytest.mark.parametrize("url", REFUSED, ids=lambda url: repr(url)[:40])
def test_other_addresses_are_refused(app: AppProcess, browser: Browser, start, url) -> None:
    reply = app.call("open_link", url)
    assert reply["error"]["code"] == "invalid"
    assert browser.opened()[start["opened"] :] == []


def put_caret(app: AppProcess, text: str) -> None:
    """The caret in the body, just inside the first `text`."""
    app.eval(
        "(() => { const body = document.getElementById('body');"
        f" const at = body.value.indexOf({json.dumps(text)}) + 2;"
        " body.focus(); body.setSelectionRange(at, at); return at; })()"
    )


BODY = (
    "Read (https://en.wikipedia.org/wiki/Margin_(typography)) first.\n"
    "Then javascript:alert(1) and www.example.org are plain text.\n"
    "Mail mailto:editor@example.org, or see https://example.org/end."
)


def test_ctrl_enter_and_ctrl_click_open_the_link_at_the_caret(
    app: AppProcess, browser: Browser, start
) -> None:
    write_note(app, "Links", BODY)
    app.wait_for(f"document.getElementById('body').value === {json.dumps(BODY)}")

    expected = [
        "https://en.wikipedia.org/wiki/Margin_(typography)",
        "https://example.org/end",
        "mailto:editor@example.org",
    ]
    # Each link is seen open before the caret moves on: Qt delivers a key press
    # apart from the scripts that move the caret, and in CI a caret move once
    # overtook the Ctrl+Return meant for mailto:.
    put_caret(app, "https://en.wikipedia")
    app.press("Ctrl+Return")  # a real key press through Qt
    assert newly_opened(browser, start, 1) == expected[:1]
    put_caret(app, "https://example.org/end")
    app.eval(
        "document.getElementById('body').dispatchEvent("
        "new MouseEvent('click', {bubbles: true, ctrlKey: true, cancelable: true}))"
    )
    assert newly_opened(browser, start, 2) == expected[:2]
    put_caret(app, "mailto:")
    app.press("Ctrl+Return")
    assert newly_opened(browser, start, 3) == expected
    # Not on a link: nothing opens, and nothing else does either.
    for plain in ("javascript:alert", "www.example", "Then"):
        put_caret(app, plain)
        app.press("Ctrl+Return")
    # A plain click (no Ctrl) only moves the caret.
    app.eval(
        "document.getElementById('body').dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )

    time.sleep(1)  # nothing more arrives late
    assert len(browser.opened()) == start["opened"] + 3
    assert app.eval("document.getElementById('body').value") == BODY


def add_link(app: AppProcess, href: str, **attributes: str) -> None:
    """A link in the page, as a view that shows links (or injected markup) would make."""
    props = {"href": href, **attributes}
    app.eval(
        "(() => { const a = document.createElement('a'); a.id = 'probe';"
        f" for (const [k, v] of Object.entries({json.dumps(props)})) a.setAttribute(k, v);"
        " a.textContent = 'link'; document.getElementById('probe')?.remove();"
        " document.body.append(a); return true; })()"
    )


def test_clicked_links_in_the_page_go_to_the_browser(
    app: AppProcess, browser: Browser, start
) -> None:
    add_link(app, "https://example.org/clicked")
    app.eval("document.getElementById('probe').click()")
    add_link(app, "https://example.org/new-tab", target="_blank")
    app.eval("document.getElementById('probe').click()")
    add_link(app, "https://example.org/middle")
    app.eval(
        "document.getElementById('probe').dispatchEvent("
        "new MouseEvent('auxclick', {bubbles: true, cancelable: true, button: 1}))"
    )
    assert newly_opened(browser, start, 3) == [
        "https://example.org/clicked",
        "https://example.org/new-tab",
        "https://example.org/middle",
    ]

    for href in ("javascript:window.__ran = 1", "file:///etc/passwd", "notes.html", "data:,x"):
        add_link(app, href)
        app.eval("document.getElementById('probe').click()")
    app.wait_for("document.getElementById('message').textContent.includes('opens only')")
    assert app.eval("window.__ran === undefined") is True
    time.sleep(1)
    assert len(browser.opened()) == start["opened"] + 3
    app.eval("document.getElementById('probe').remove()")


def without_page_guards(app: AppProcess, js: str) -> None:
    """Runs `js` while the page's click guards are switched off, as a bug would."""
    app.eval(
        "(() => { const stop = (e) => e.stopImmediatePropagation();"
        " for (const t of ['click', 'auxclick', 'dragover', 'drop'])"
        "   window.addEventListener(t, stop, {capture: true});"
        f" try {{ {js}; }} finally {{"
        "   for (const t of ['click', 'auxclick', 'dragover', 'drop'])"
        "     window.removeEventListener(t, stop, {capture: true}); }"
        " return true; })()"
    )


ESCAPES = {
    "a link": "(() => { const a = document.createElement('a');"
    " a.href = 'https://example.org/followed';"
    " document.body.append(a); a.click(); a.remove(); })()",
    "a link to a new window": "(() => { const a = document.createElement('a');"
    " a.href = 'https://example.org/popup'; a.target = '_blank';"
    " document.body.append(a); a.click(); a.remove(); })()",
    "location": "location.href = 'https://example.org/moved'",
    "a local file": "location.assign('file:///etc/hostname')",
    "a reload elsewhere": "location.replace('http://127.0.0.1:9/')",
    "window.open": "window.open('https://example.org/opened')",
    "a form post": "(() => { const f = document.createElement('form'); f.method = 'post';"
    " f.action = 'https://example.org/post'; document.body.append(f); f.submit(); f.remove(); })()",
    "a refresh tag": "(() => { const m = document.createElement('meta');"
    " m.httpEquiv = 'refresh'; m.content = '0;url=https://example.org/refresh';"
    " document.head.append(m); })()",
}


# Stopped before Qt is asked: Chromium loads no file: page into an http: one, and
# the content policy's form-action 'none' stops the form.
STOPPED_BEFORE_QT = {"a local file", "a form post"}


@pytest.mark.parametrize("how", ESCAPES)
def test_the_window_stays_on_the_app_even_past_the_page(
    app: AppProcess, browser: Browser, start, how: str
) -> None:
    seen = len(refusals(app))
    without_page_guards(app, ESCAPES[how])
    if how not in STOPPED_BEFORE_QT:
        deadline = time.monotonic() + 10
        while len(refusals(app)) == seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(refusals(app)) > seen, f"Qt did not refuse {how}"
    time.sleep(0.5)
    assert browser.opened()[start["opened"] :] == []
