"""The running app: one instance per data dir, logging, the store and the window."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from desktop import about, logging_setup, paths
from desktop.logging_setup import SHOWN

if TYPE_CHECKING:
    from desktop.api import Api
    from desktop.backup import AutoBackups, Backups
    from desktop.start_problem import StartApi
    from desktop.store import Store

log = logging.getLogger(__name__)

# pywebview's backend: Qt on Linux; elsewhere the platform's own webview.
_GUI = "qt" if sys.platform.startswith("linux") else None
# Must match the global that webui/app.js installs. It resolves to true, as
# pywebview's callback path cannot carry undefined.
# It resolves to false while typing could not be saved (a full disk, a read-only
# folder) and the person has not chosen to close anyway: the window stays open.
_FLUSH_JS = (
    "Promise.resolve(window.marginBeforeClose ? window.marginBeforeClose() : true)"
    ".then((mayClose) => mayClose !== false)"
)
_FLUSH_TIMEOUT_S = 3.0
# How long answers and files still on their way to the page may take once it is gone.
_LAST_ANSWERS_S = 1.0
_KNOCK = b"front\n"


def run(data: Path) -> int:
    """Runs Margin on `data` until its window closes; returns the exit status."""
    _prepare_environment()
    lock = InstanceLock(paths.lock_file(data))
    try:
        acquired = lock.acquire()
    except OSError as e:
        print(f"Margin cannot use its data folder {data}: {e.strerror or e}.", file=sys.stderr)
        return 1
    if not acquired:
        return _defer_to_running_instance(data)
    try:
        logging_setup.configure(paths.log_file(data))
        log.info("Margin starting with data in %s", data)
        session = _Session(data)
        try:
            session.run()
        finally:
            session.close_notes()
        log.info("Margin closed")
    finally:
        lock.release()
    _exit_past_stuck_threads()
    return 0


def _exit_past_stuck_threads() -> None:
    """Exits now if pywebview threads are stuck serving a page that is gone.

    pywebview answers each js_api call, and serves each file, from a thread of
    its own that is not a daemon: an answer waits without a limit for the page
    to take it, and a file (the model's are tens of MB) is written to a socket
    without a timeout. Closing the window while one is on its way leaves that
    thread waiting, and Python would wait for it forever on its way out.
    Everything is saved and closed by now.
    """
    deadline = time.monotonic() + _LAST_ANSWERS_S
    for thread in _other_threads():
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = _other_threads()
    if stuck:
        log.warning("exiting past %d threads still serving the closed page", len(stuck))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _other_threads() -> list[threading.Thread]:
    return [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.daemon and thread.is_alive()
    ]


def _prepare_environment() -> None:
    # Chromium will not start its sandbox as root; only then is it switched off.
    if _GUI == "qt" and os.geteuid() == 0:
        os.environ["QTWEBENGINE_DISABLE_SANDBOX"] = "1"


def _icon() -> str | None:
    """The window's icon: in the package; a source checkout runs without one."""
    icon = paths.icon_file()
    return str(icon) if icon.is_file() else None


class InstanceLock:
    """An OS lock on a file in the data dir; the OS drops it if the process dies."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: TextIO | None = None

    def acquire(self) -> bool:
        """False when another process holds it; OSError when the file cannot be opened."""
        try:
            handle = open(self._path, "a+")  # noqa: SIM115 - held open for the app's lifetime
        except OSError:
            # A folder Margin may not write to (or a full disk) still has the lock file
            # of earlier runs, and a lock on a file open for reading holds as well.
            handle = open(self._path)  # noqa: SIM115
        try:
            if os.name == "nt":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the lock
            self._file = None


def _defer_to_running_instance(data: Path) -> int:
    holder = _read_instance_file(data)
    brought_forward = holder is not None and _knock(holder.get("port"))
    who = f" (process {holder['pid']})" if holder and "pid" in holder else ""
    message = f"Margin is already running with the data folder {data}{who}."
    if brought_forward:
        message += " Its window was brought to the front."
    else:
        message += " Switch to its window, or close it before starting Margin again."
    print(message, file=sys.stderr)
    return 1


def _read_instance_file(data: Path) -> dict[str, Any] | None:
    try:
        return json.loads(paths.instance_file(data).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _knock(port: Any) -> bool:
    if not isinstance(port, int):
        return False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(_KNOCK)
            return conn.recv(16) == b"ok\n"
    except OSError:
        return False


class _FrontDoor:
    """A loopback port where a second launch asks this instance to come to the front."""

    def __init__(self, on_knock: Callable[[], None]) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._on_knock = on_knock
        threading.Thread(target=self._serve, name="front-door", daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self._server.accept()
            with conn:
                conn.settimeout(2)
                try:
                    if conn.recv(len(_KNOCK)) != _KNOCK:
                        continue
                    log.info("a second launch asked for the window")
                    self._on_knock()
                    conn.sendall(b"ok\n")
                except Exception:
                    log.exception("could not bring the window to the front")


class _QtGuiThread:
    """Runs callables on Qt's GUI thread (widgets are only safe there) and waits."""

    def __init__(self) -> None:
        from qtpy.QtCore import QObject, Signal, Slot

        # Created on the main thread, so queued signals land in Qt's event loop there.
        class Caller(QObject):
            request = Signal(object)

            def __init__(self) -> None:
                super().__init__()
                self.request.connect(self.run)

            @Slot(object)
            def run(self, job: Callable[[], None]) -> None:
                job()

        self._caller = Caller()

    def __call__(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def job() -> None:
            try:
                outcome["value"] = fn()
            except Exception as e:
                outcome["error"] = e
            finally:
                done.set()

        self._caller.request.emit(job)
        if not done.wait(timeout):
            raise TimeoutError("the GUI thread did not answer")
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")


class _Session:
    """One window over one store, from start to a clean close."""

    def __init__(self, data: Path) -> None:
        import webview

        from desktop import webui_server

        self._webview = webview
        self._data = data
        self._open: tuple[Store, AutoBackups] | None = None
        # The notes are checked and opened on this thread while Qt and Chromium start
        # (which wait on other processes more than on Python); the page gets its js_api
        # before pywebview hands it over, so no call finds it missing.
        self._opening = threading.Thread(target=self._open_data, name="opening", daemon=True)
        self._api_given = threading.Event()
        self._failure: Exception | None = None
        self._may_close = threading.Event()
        self._closing = threading.Lock()
        self._page_up = threading.Event()
        webview.settings["ALLOW_FILE_URLS"] = False
        if _GUI == "qt":
            # The window stays on the app's page; links open only through the js_api.
            # Chromium reaches nothing but 127.0.0.1.
            from desktop import navigation, qt_enums, webview_network

            qt_enums.install()  # before navigation imports Qt
            navigation.install()
            webview_network.confine()
        self._window = webview.create_window(
            about.title(),
            url=webui_server.app(paths.webui_dir()),
            width=1200,
            height=780,
            min_size=(760, 480),
            text_select=True,
            background_color="#F7F6F2",
        )
        self._window.events.closing += self._on_closing
        # Runs on the GUI thread, before pywebview gives the loaded page its js_api.
        self._window.events.before_load += self._api_given.wait
        self._window.events.loaded += self._page_up.set
        self._gui = _QtGuiThread() if _GUI == "qt" else None

    def run(self) -> None:
        door = _FrontDoor(self._bring_to_front)
        instance = paths.instance_file(self._data)
        try:
            instance.write_text(json.dumps({"pid": os.getpid(), "port": door.port}), "utf-8")
        except OSError as e:
            # A read-only folder or a full disk: a second launch then cannot find us.
            log.warning("cannot write %s: %s", instance, e)
        # A thread, because destroy() waits for the window to be shown, and the
        # handler runs on the GUI thread that shows it.
        signal.signal(
            signal.SIGTERM,
            lambda *_: threading.Thread(target=self.close, name="sigterm", daemon=True).start(),
        )
        self._opening.start()
        try:
            # webui/ comes from pywebview's server on 127.0.0.1, which runs the window's
            # app (desktop/webui_server.py).
            self._webview.start(
                self._after_start,
                gui=_GUI,
                private_mode=True,
                icon=_icon(),
            )
        finally:
            instance.unlink(missing_ok=True)
        if self._failure is not None:
            raise self._failure

    def _open_data(self) -> None:
        """The notes with their js_api, or the start screen's when they cannot be opened."""
        try:
            api = self._notes_or_problem()
        except Exception as e:
            # Raised again once the window is gone, as it was before the window existed.
            self._failure = e
            self._api_given.set()
            self._may_close.set()
            self._window.destroy()
            return
        self._expose(api)
        self._api_given.set()

    def _notes_or_problem(self) -> Api | StartApi:
        from desktop.backup import Backups
        from desktop.start_problem import StartApi, problem_at_start, store_failed
        from desktop.store import Store, StoreError

        backups = Backups(paths.database_file(self._data), paths.backups_dir(self._data))
        # Checked read-only first: opening a damaged file would write to it.
        problem = problem_at_start(backups)
        if problem is None:
            try:
                store = Store(backups.database)
            except StoreError as e:
                problem = store_failed(e, backups)
            else:
                return self._open_notes(store, backups)
        log.error("cannot open the notes database: %s (%s)", problem["message"],
                  problem["kind"], extra=SHOWN)
        print(f"Margin cannot open its notes database {backups.database}: "
              f"{problem['message']} It was left as it is.", file=sys.stderr)
        # Without a store, the window shows what happened and offers a backup.
        return StartApi(problem, backups, functools.partial(self._restored, backups))

    def _expose(self, api: object) -> None:
        """Adds the public methods of `api` to the page's window.pywebview.api."""
        self._window.expose(*(
            getattr(api, name) for name in dir(api)
            if not name.startswith("_") and callable(getattr(api, name))
        ))

    def _open_notes(self, store: Store, backups: Backups) -> Api:
        """Search, automatic backups and the page's js_api over an open store."""
        from desktop import control
        from desktop.api import Api
        from desktop.backup import AutoBackups
        from desktop.search import Search, encoder_model_id

        # Vectors load on a thread of their own; words are searchable at once.
        search = Search(store, encoder_model_id(paths.webui_dir()))
        search.start()
        auto = AutoBackups(backups)
        auto.start(after=self._page_up)
        self._open = (store, auto)
        api = Api(store, search, backups)
        control.journal_saves(api)
        return api

    def _restored(self, backups: Backups) -> None:
        """After the start screen restored a backup: the notes open in this window."""
        from desktop.store import Store

        # Added to the page's window.pywebview.api now and on every reload.
        self._expose(self._open_notes(Store(backups.database), backups))

    def close_notes(self) -> None:
        if self._opening.ident is not None:
            self._opening.join()
        if self._open is not None:
            store, auto = self._open
            auto.stop()
            store.close()
            self._open = None

    def close(self) -> None:
        """Closes the window the way the user would, letting the page save first."""
        self._window.destroy()

    def _after_start(self) -> None:
        from desktop import control

        path = control.socket_path()
        if path is not None:
            control.serve(path, self._window, self.close, self._on_gui)

    def _on_gui(self, fn: Callable[[], Any]) -> Any:
        if self._gui is None:
            raise RuntimeError("GUI-thread calls need the Qt backend")
        return self._gui(fn)

    def _bring_to_front(self) -> None:
        if self._gui is None:
            self._window.restore()
            return

        def front() -> None:
            from qtpy.QtCore import Qt

            native = self._window.native
            native.setWindowState(native.windowState() & ~Qt.WindowState.WindowMinimized)
            native.show()
            native.raise_()
            native.activateWindow()

        self._gui(front)

    def _on_closing(self) -> bool | None:
        # Runs on the GUI thread, which must stay free for the page to answer; so the
        # first close request is refused, the page saves, then the window closes again.
        if self._may_close.is_set():
            return None
        if self._closing.acquire(blocking=False):
            threading.Thread(target=self._save_then_close, name="closing", daemon=True).start()
        return False

    def _save_then_close(self) -> None:
        saved = threading.Event()
        answer: list[Any] = []
        if self._window.events.loaded.is_set():
            # On a thread of its own: evaluate_js waits without a limit, and a hung
            # page must not keep the window open.
            threading.Thread(
                target=self._ask_page_to_save, args=(saved, answer), name="last-save",
                daemon=True,
            ).start()
            if not saved.wait(_FLUSH_TIMEOUT_S):
                log.warning("closing without the page's last save (it did not answer)")
        if answer == [False]:
            log.warning("not closing: the page holds typing it could not save")
            self._closing.release()
            return
        self._may_close.set()
        with contextlib.suppress(Exception):
            self._window.destroy()

    def _ask_page_to_save(self, saved: threading.Event, answer: list[Any]) -> None:
        def answered(may_close: Any) -> None:
            answer.append(may_close)
            saved.set()

        try:
            self._window.evaluate_js(_FLUSH_JS, callback=answered)
        except Exception:
            log.exception("the page could not save before closing")
