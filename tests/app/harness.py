"""Drives the real Margin app (a subprocess) through its test control channel.

    with AppProcess(data_dir) as app:        # starts `python -m desktop`, waits until usable
        app.eval("document.title")           # any JS expression, its value as JSON
        app.call("list_notes")               # a js_api call, awaited in the page
        app.press("Ctrl+N"); app.type_text("A title\n")   # real key events through Qt
        app.wait_for("document.querySelectorAll('.note-row').length === 2")
        app.screenshot(path)                 # PNG of the window (Qt's own grab)

Offscreen (QT_QPA_PLATFORM=offscreen) unless `offscreen=False`, which then needs a
display (run the tests under `xvfb-run -a`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
READY_JS = "document.body && document.body.dataset.ready === 'true'"


class AppError(RuntimeError):
    """The app failed to start, answered with an error, or a wait timed out."""


class AppProcess:
    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        offscreen: bool = True,
        extra_env: dict[str, str] | None = None,
        wrapper: list[str] | None = None,
        ready_js: str = READY_JS,
        command: list[str] | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        """`wrapper`: a command that runs the app, e.g. setpriv with fewer privileges.
        `ready_js`: what start() waits for (the start screen has no notes to be ready).
        `command`: the app to run (the packaged one); default: `python -m desktop` here.
        `environ`: the environment it starts from instead of this process's."""
        self._own_dir = Path(tempfile.mkdtemp(prefix="margin-app-"))
        self.data_dir = Path(data_dir) if data_dir is not None else self._own_dir / "data"
        self.log_path = self._own_dir / "output.log"
        # A short path: Unix socket paths are limited to about 100 bytes.
        self._socket_path = self._own_dir / "ctl.sock"
        self._offscreen = offscreen
        self._extra_env = extra_env or {}
        self._wrapper = wrapper or []
        self._ready_js = ready_js
        self._command = command
        self._environ = environ
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: socket.socket | None = None
        self._reader: Any = None
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self.started_at = 0.0
        self.ready_after_s = 0.0

    # ------------------------------------------------------------ life cycle

    def start(self, timeout: float = 30.0) -> AppProcess:
        env = {
            **(os.environ if self._environ is None else self._environ),
            "MARGIN_TEST_CONTROL": str(self._socket_path),
            # A link the app opens goes to `true`, never to a real browser on the machine.
            "BROWSER": "true",
            **self._extra_env,
        }
        env.pop("MARGIN_DATA_DIR", None)
        if self._offscreen:
            env["QT_QPA_PLATFORM"] = "offscreen"
        elif not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            raise AppError("offscreen=False needs a display: run under xvfb-run -a")
        command = self._command or [sys.executable, "-m", "desktop"]
        self.started_at = time.monotonic()
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [*self._wrapper, *command, "--data-dir", str(self.data_dir)],
                cwd=ROOT if self._command is None else self._own_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._connect(self.started_at + timeout)
            remaining = max(1.0, self.started_at + timeout - time.monotonic())
            self.wait_for(self._ready_js, timeout=remaining, interval=0.01)
        except AppError as exc:
            # A start that never gets ready says what the app printed meanwhile
            # (in CI, a strace'd start once waited 29 s with nothing else to go on).
            self.stop()
            raise AppError(f"{exc}\nthe app's output:\n{self.output()[-3000:]}") from exc
        except BaseException:
            self.stop()
            raise
        self.ready_after_s = time.monotonic() - self.started_at
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        """Closes the window as a user would; kills the app if it does not exit in time."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None and self._conn is not None:
            with contextlib.suppress(AppError, OSError):
                self._request({"quit": True}, timeout=timeout)
        self._close_connection()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None
        return process.returncode

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._own_dir, ignore_errors=True)

    def __enter__(self) -> AppProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise AppError("the app is not running")
        return self._process.pid

    def output(self) -> str:
        """What the app printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ------------------------------------------------------------ driving

    def eval(self, js: str, timeout: float = 15.0) -> Any:
        """The value of a JS expression (as JSON); a JS exception raises AppError."""
        return self._request({"js": js}, timeout=timeout)

    def call_async(self, js: str, timeout: float = 15.0) -> Any:
        """Awaits a JS expression that yields a promise, and returns what it resolves to."""
        slot = f"__harness_{next(self._ids)}"
        self.eval(
            f"(window.{slot} = {{done: false}},"
            f" Promise.resolve({js}).then("
            f"v => window.{slot} = {{done: true, value: v}},"
            f" e => window.{slot} = {{done: true, error: String(e && e.message || e)}}),"
            " true)"
        )
        self.wait_for(f"window.{slot}.done", timeout=timeout)
        outcome = self.eval(
            f"(() => {{ const o = window.{slot}; delete window.{slot}; return o; }})()"
        )
        if "error" in outcome:
            raise AppError(f"{js} rejected: {outcome['error']}")
        return outcome.get("value")

    def call(self, method: str, *args: Any, timeout: float = 15.0) -> Any:
        """A js_api call made from the page, exactly as the UI makes it."""
        arguments = ", ".join(json.dumps(arg) for arg in args)
        return self.call_async(f"window.pywebview.api.{method}({arguments})", timeout=timeout)

    def wait_for(self, js: str, timeout: float = 10.0, interval: float = 0.03) -> Any:
        """Polls a JS expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                last = self.eval(js)
            except AppError as e:
                if "JavaScript error" not in str(e):
                    raise
                last = str(e)
            else:
                if last:
                    return last
            if time.monotonic() >= deadline:
                raise AppError(f"timed out after {timeout}s waiting for {js!r} (last: {last!r})")
            time.sleep(interval)

    def type_text(self, text: str) -> None:
        """Types into whatever has focus in the page, through Qt's key events."""
        self._request({"type": text}, timeout=30 + len(text) / 50)

    def press(self, combo: str) -> None:
        """One key press through Qt, e.g. "Ctrl+N", "Alt+Down", "Escape", "/"."""
        self._request({"key": combo})

    def screenshot(self, path: Path | str) -> Path:
        """Saves a PNG of the window as it is drawn now."""
        target = Path(path).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        # Let the page paint what it last rendered before Qt grabs the view.
        self.call_async("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        self._request({"screenshot": str(target)})
        return target

    # ------------------------------------------------------------ channel

    def _connect(self, deadline: float) -> None:
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise AppError(
                    f"the app exited with {self._process.returncode}:\n{self.output()[-3000:]}"
                )
            if self._socket_path.exists():
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    conn.connect(str(self._socket_path))
                except OSError:
                    conn.close()
                else:
                    self._conn = conn
                    self._reader = conn.makefile("rb")
                    return
            if time.monotonic() >= deadline:
                raise AppError(
                    f"the app did not open its control channel:\n{self.output()[-3000:]}"
                )
            time.sleep(0.02)

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._reader.close()
            self._conn.close()
            self._conn = self._reader = None

    def _request(self, request: dict[str, Any], timeout: float = 15.0) -> Any:
        with self._lock:
            if self._conn is None:
                raise AppError("the app is not running")
            self._conn.settimeout(timeout)
            try:
                self._conn.sendall(json.dumps(request).encode("utf-8") + b"\n")
                line = self._reader.readline()
            except TimeoutError:
                # A late answer would be read as the next one's: drop the channel.
                self._close_connection()
                raise AppError(f"no answer within {timeout}s to {request}") from None
            except ConnectionError as exc:
                # The app went away mid-request (seen once in CI while starting):
                # what it printed is the only account of why.
                self._close_connection()
                raise AppError(
                    f"the control channel broke ({exc}):\n{self.output()[-3000:]}"
                ) from None
        if not line:
            raise AppError(f"the app closed the control channel:\n{self.output()[-3000:]}")
        answer = json.loads(line)
        if "error" in answer:
            raise AppError(answer["error"])
        return answer["result"]
