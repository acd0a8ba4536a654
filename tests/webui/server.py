"""A static file server for webui/, for Playwright tests of the worker and the views.

    with serve_webui() as base:          # e.g. "http://127.0.0.1:41234"
        page.goto(base + BLANK)          # an empty page on the same origin
        page.evaluate("...")             # import("/worker/encoder.js"), new Worker(...), ...

or, for the usual case, `with blank_page() as page:` (system Chromium on that page).

Responses carry COOP/COEP so the page is cross-origin isolated (SharedArrayBuffer,
threaded wasm), and the MIME types module scripts and wasm streaming insist on.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

WEBUI = Path(__file__).resolve().parents[2] / "webui"
BLANK = "/__blank__.html"
# tf.js on the single-threaded wasm backend, as the worker runs it; page.evaluate(TF_WASM_JS)
# resolves to the backend's name ("wasm").
TF_WASM_JS = """async () => {
  await import("/vendor/tf.min.js");
  await import("/vendor/tf-backend-wasm.min.js");
  const tf = globalThis.tf;
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  tf.wasm.setWasmPaths("/vendor/");
  if (!(await tf.setBackend("wasm"))) throw new Error("no wasm backend");
  await tf.ready();
  return tf.getBackend();
}"""
_BLANK_HTML = b"<!doctype html><meta charset=utf-8><title>test</title>"


class _Handler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
    }

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        if self.path.split("?")[0] == BLANK:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(_BLANK_HTML)))
            self.end_headers()
            self.wfile.write(_BLANK_HTML)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_webui(root: Path = WEBUI) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 at a free port; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def blank_page(root: Path = WEBUI) -> Iterator[Page]:
    """The system Chromium on BLANK served from `root`; an uncaught page error fails the test."""
    assert (WEBUI / "vendor" / "tf.min.js").exists(), "no webui/vendor: run scripts/setup.sh"
    with serve_webui(root) as base, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + BLANK)
        yield page
        browser.close()
        assert not errors, errors
