"""The launcher: --version, the data dir, logs, and one running instance per data dir."""

from __future__ import annotations

import importlib.metadata
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.app.harness import ROOT


def launch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    environment.pop("MARGIN_TEST_CONTROL", None)
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version() -> None:
    done = launch("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"margin {importlib.metadata.version('margin')}"


def test_second_launch_on_the_same_data_dir_is_refused_clearly(app_factory, tmp_path) -> None:
    data = tmp_path / "data"
    first = app_factory(data)
    note_id = first.call("create_note", {"title": "Only one writer"})["id"]

    by_flag = launch("--data-dir", str(data))
    by_env = launch(env={"MARGIN_DATA_DIR": str(data)})
    for second in (by_flag, by_env):
        assert second.returncode != 0
        message = second.stderr.strip()
        assert message.startswith("Margin is already running with the data folder")
        assert str(data.resolve()) in message
        assert f"(process {first.pid})" in message
        assert "brought to the front" in message

    # The first instance carries on, and logged both requests to come forward.
    assert first.call("get_note", note_id)["title"] == "Only one writer"
    log = (data / "margin.log").read_text()
    assert "Margin starting with data in" in log
    assert log.count("a second launch asked for the window") == 2

    # Once the first has closed, the data dir is free again.
    assert first.stop() == 0
    assert not (data / "margin.instance.json").exists()
    again = app_factory(data)
    assert again.call("get_note", note_id)["title"] == "Only one writer"


def test_a_different_data_dir_runs_alongside(app_factory, tmp_path: Path) -> None:
    one = app_factory(tmp_path / "one")
    two = app_factory(tmp_path / "two")
    one.call("create_note", {"title": "in one"})
    assert two.call("list_notes") == []


def test_a_crashed_instance_does_not_block_the_next(app_factory, tmp_path: Path) -> None:
    data = tmp_path / "data"
    crashed = app_factory(data)
    note_id = crashed.call("create_note", {"title": "Saved before the crash"})["id"]
    os.kill(crashed.pid, signal.SIGKILL)
    assert crashed.stop() == -signal.SIGKILL
    assert (data / "margin.instance.json").exists()  # left behind, and harmless

    after = app_factory(data)
    assert after.call("get_note", note_id)["title"] == "Saved before the crash"


def test_sigterm_closes_cleanly_and_keeps_the_last_typing(app_factory, tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = app_factory(data)
    app.press("Ctrl+N")
    app.wait_for("document.activeElement.id === 'title'")
    app.type_text("Typed just before logout")
    app.wait_for("document.getElementById('title').value === 'Typed just before logout'")
    os.kill(app.pid, signal.SIGTERM)
    assert app.stop() == 0

    again = app_factory(data)
    assert again.eval("document.querySelector('.note-row-title').textContent") == (
        "Typed just before logout"
    )


def test_a_hung_page_does_not_keep_the_window_open(app_factory) -> None:
    app = app_factory()
    app.eval(
        "setTimeout(() => { const end = Date.now() + 60000; while (Date.now() < end); }, 50); true"
    )
    time.sleep(0.3)  # the page is busy from now on
    started = time.monotonic()
    assert app.stop(timeout=20) == 0
    assert time.monotonic() - started < 15
    assert "closing without the page's last save" in (app.data_dir / "margin.log").read_text()


def test_a_stalled_download_does_not_keep_the_process_alive(app_factory) -> None:
    # A client that stops reading mid-file (a page closing while the model loads)
    # leaves a thread of pywebview's file server blocked in its write for good.
    largest = max((f for f in (ROOT / "webui").rglob("*") if f.is_file()), key=os.path.getsize)
    assert largest.stat().st_size > 20_000_000, "needs a file larger than the socket buffers"
    app = app_factory()
    port = int(app.eval("location.port"))
    path = largest.relative_to(ROOT / "webui").as_posix()
    with socket.create_connection(("127.0.0.1", port)) as stalled:
        stalled.sendall(f"GET /{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert stalled.recv(12) == b"HTTP/1.0 200"
        time.sleep(0.5)  # the server fills the socket's buffers, then waits for room
        started = time.monotonic()
        assert app.stop(timeout=10) == 0
        assert time.monotonic() - started < 5
    assert "threads still serving the closed page" in (app.data_dir / "margin.log").read_text()
