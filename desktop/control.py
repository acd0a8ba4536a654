"""Test-only control channel: lets a test process drive the real window.

Off unless MARGIN_TEST_CONTROL names a Unix socket path. One JSON request per line,
one JSON answer per line:
  {"js": "<expression>"}     -> {"result": <value>}  (window.evaluate_js)
  {"screenshot": "<path>"}   -> {"result": "<path>"} (Qt grab of the window, PNG)
  {"type": "<text>"}         -> {"result": true}     (real Qt key events per character; \n = Enter)
  {"key": "Ctrl+N"}          -> {"result": true}     (one real key press, QKeySequence syntax)
  {"quit": true}             -> {"result": true}     (closes as a user would, saving first)
Anything that fails answers {"error": "<message>"}.

MARGIN_TEST_SAVES, also for tests only, names a file where every note that
create_note or save_note answers with is appended (see journal_saves).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import webview

ENV = "MARGIN_TEST_CONTROL"
SAVES_ENV = "MARGIN_TEST_SAVES"
# The bridge answers that tell the page a note is stored.
_SAVE_ANSWERS = ("create_note", "save_note")
log = logging.getLogger(__name__)


def socket_path() -> Path | None:
    value = os.environ.get(ENV)
    return Path(value) if value else None


GuiCall = Callable[[Callable[[], Any]], Any]


def journal_saves(api: object) -> None:
    """Appends each note that create_note or save_note answers with to the file
    MARGIN_TEST_SAVES names, one JSON line, before the answer leaves for the page.

    Every save the page is told of is written here first, so a test that kills the
    app can check each one, even those the page heard of an instant before the kill.
    One write() per line: the kernel keeps it whatever becomes of the process.
    """
    value = os.environ.get(SAVES_ENV)
    if not value:
        return
    fd = os.open(value, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    for name in _SAVE_ANSWERS:
        setattr(api, name, _journaled(getattr(api, name), name, fd))


def _journaled(method: Callable[..., Any], name: str, fd: int) -> Callable[..., Any]:
    @functools.wraps(method)
    def answer(*args: Any) -> Any:
        reply = method(*args)
        if isinstance(reply, dict) and "error" not in reply:
            os.write(fd, (json.dumps({"call": name, "note": reply}) + "\n").encode("utf-8"))
        return reply

    return answer


def serve(path: Path, window: webview.Window, close: Callable[[], None], on_gui: GuiCall) -> None:
    """Answers requests on `path` from a daemon thread until the process ends.

    `on_gui(fn)` runs fn on the GUI thread and returns its result (Qt widgets are
    only safe there).
    """
    path.unlink(missing_ok=True)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for line in self.rfile:
                answer = _answer(line, window, close, on_gui)
                self.wfile.write(json.dumps(answer).encode("utf-8") + b"\n")
                self.wfile.flush()

    server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
    path.chmod(0o600)  # whoever can connect can drive the window
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="test-control", daemon=True).start()
    log.warning("test control channel listening on %s", path)


def _answer(
    line: bytes, window: webview.Window, close: Callable[[], None], on_gui: GuiCall
) -> dict[str, Any]:
    try:
        request = json.loads(line)
        if "js" in request:
            return {"result": window.evaluate_js(request["js"])}
        if "screenshot" in request:
            return {"result": _screenshot(window, request["screenshot"], on_gui)}
        if "type" in request:
            return {"result": _keys(window, on_gui, text=request["type"])}
        if "key" in request:
            return {"result": _keys(window, on_gui, combo=request["key"])}
        if request.get("quit"):
            close()
            return {"result": True}
        return {"error": f"unknown request: {sorted(request)}"}
    except webview.JavascriptException as e:
        return {"error": f"JavaScript error: {e}"}
    except Exception as e:
        log.exception("control request failed")
        return {"error": f"{type(e).__name__}: {e}"}


def _screenshot(window: webview.Window, target: str, on_gui: GuiCall) -> str:
    saved = on_gui(lambda: window.native.grab().save(target, "PNG"))
    if not saved:
        raise OSError(f"could not save a screenshot to {target}")
    return target


def _keys(window: webview.Window, on_gui: GuiCall, text: str = "", combo: str = "") -> bool:
    """Sends key events through Qt to the page, as a keyboard would."""
    from qtpy.QtCore import QEvent, Qt
    from qtpy.QtGui import QKeyEvent, QKeySequence
    from qtpy.QtTest import QTest
    from qtpy.QtWidgets import QApplication

    def send() -> bool:
        # The view's focus proxy is the widget that takes keyboard input for the page.
        target = window.native.webview.focusProxy()
        if combo:
            sequence = QKeySequence(combo)
            if sequence.isEmpty() or sequence.count() != 1:
                raise ValueError(f"not one key combination: {combo!r}")
            key = sequence[0]
            QTest.keyClick(target, key.key(), key.keyboardModifiers())
        else:
            # Events carrying the text (QTest.keyClicks only knows ASCII).
            for char in text:
                if char == "\n":
                    QTest.keyClick(target, Qt.Key.Key_Return)
                    continue
                for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                    event = QKeyEvent(
                        kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, char
                    )
                    QApplication.sendEvent(target, event)
        return True

    return on_gui(send)
