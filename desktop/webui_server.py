"""webui/ for the window, with the headers that keep it to itself.

pywebview's server runs this WSGI app on 127.0.0.1 in place of its own file
route, which sends no security headers. The page's policy is the <meta> tag in
index.html; a worker's policy can only come with its script's response, so the
model worker's script gets its own here: the worker loads TF.js and the models
from this server and compiles TF.js's WebAssembly, and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import bottle

PAGE = "index.html"
WORKERS = "worker/"
# TF.js's wasm backend compiles WebAssembly, which needs 'wasm-unsafe-eval'; that is
# implied by 'unsafe-eval', which tf.min.js needs as well: imported as a module
# (strict code), it fails to assign its regeneratorRuntime global and falls back to
# Function("r", "regeneratorRuntime = r") (measured: without it the worker stops
# with an EvalError).
WORKER_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; object-src 'none'; base-uri 'none'"
)


def app(root: Path) -> bottle.Bottle:
    """Serves the files under `root`; "/" is the page."""
    served = bottle.Bottle()

    @served.route("/")
    @served.route("/<path:path>")
    def file(path: str = PAGE) -> bottle.HTTPResponse:
        response = bottle.static_file(path, root=str(root))
        # A new version of the app shows at once, never parts of an old one.
        response.set_header("Cache-Control", "no-cache, no-store, must-revalidate")
        response.set_header("X-Content-Type-Options", "nosniff")
        if path.startswith(WORKERS):
            response.set_header("Content-Security-Policy", WORKER_POLICY)
        return response

    return served
