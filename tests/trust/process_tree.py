"""Killing a process with everything it started, as a power cut or the OOM killer would.

    victims = kill_tree(app.pid)     # SIGKILL to the app and every descendant
    assert not alive(victims)

Linux only (reads /proc). The tree is frozen with SIGSTOP from the top down before
anything is killed, so no process runs on, or starts a child, between the first
kill and the last: all of them die at one moment, the moment of the first stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (in parentheses) may hold spaces: fields follow the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def kill_tree(pid: int) -> list[int]:
    """SIGKILLs `pid` and all its descendants; returns the pids killed."""
    stopped: list[int] = []
    waiting = [pid]
    while waiting:
        current = waiting.pop()
        try:
            os.kill(current, signal.SIGSTOP)
        except ProcessLookupError:
            continue
        stopped.append(current)
        # Stopped, it can start no more children: the ones listed now are all of them.
        waiting += [child for child in children(current) if child not in stopped]
    for victim in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    return stopped


def alive(pids: list[int], timeout: float = 5.0) -> list[int]:
    """Those of `pids` still running (not gone, not a zombie) after up to `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        running = [pid for pid in pids if _running(pid)]
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.02)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
