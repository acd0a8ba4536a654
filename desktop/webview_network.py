"""Keeps Chromium in the window off the network: it reaches only 127.0.0.1.

The page's content policy stops what the page fetches, but not what Chromium does
on a page's hint: <link rel=preconnect> to an address opens a TCP connection to it
(measured in Qt WebEngine 6.11, tests/trust/test_network.py), and a host name would
be looked up in DNS first, which can carry data out by itself. So every
connection Chromium makes that is not to loopback goes to a proxy that is a dead
end: a loopback port this process holds bound and never listens on, so the
connection is refused on this machine, and no DNS lookup happens (a proxy gets the
name). Chromium never sends loopback addresses to a proxy, so the app's own server
is reached directly.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

FLAGS_ENV = "QTWEBENGINE_CHROMIUM_FLAGS"
# Held for the life of the process: while it is bound here, nothing can listen on it.
_dead_end: socket.socket | None = None


def confine() -> int:
    """Adds the dead-end proxy to Chromium's flags; call once, before Qt WebEngine
    starts. Returns the dead end's port."""
    global _dead_end
    _dead_end = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    _dead_end.bind(("127.0.0.1", 0))
    port: int = _dead_end.getsockname()[1]
    flags = os.environ.get(FLAGS_ENV, "").split()
    flags.append(f"--proxy-server=http://127.0.0.1:{port}")
    os.environ[FLAGS_ENV] = " ".join(flags)
    log.info("the webview reaches only 127.0.0.1; anything else ends at port %d", port)
    return port
