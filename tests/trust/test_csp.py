"""The page's Content-Security-Policy: what it says, and that the real window enforces it.

The policy's text is checked directive by directive. Then the page tries every way
to load or send something to another origin: a server the test runs on another
loopback port, which answers anyone (CORS *), so only the policy stands between
the page and it. The server must see no request at all.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from desktop import paths, webui_server
from tests.app.harness import AppProcess
from tests.app.indexing import MODEL_READY_JS

INDEX = paths.webui_dir() / "index.html"
EXPECTED = {
    "default-src": ["'self'"],
    # pywebview's bridge: new Function() and eval() (the comment in index.html says why).
    "script-src": ["'self'", "'unsafe-eval'"],
    "worker-src": ["'self'"],
    "style-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
}


class Head(HTMLParser):
    """The policy, the comments and the order of what index.html's head loads."""

    def __init__(self) -> None:
        super().__init__()
        self.policy: str | None = None
        self.comments: list[str] = []
        self.loads_before_policy: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == (
            "content-security-policy"
        ):
            self.policy = attributes["content"]
        elif tag in ("script", "link", "style") and self.policy is None:
            self.loads_before_policy.append(tag)
        if tag == "style" or (tag == "script" and "src" not in attributes):
            self.inline.append(tag)
        self.inline += [f"{tag} {name}" for name, _ in attrs if name == "style" or name[:2] == "on"]

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def keywords_only(directives: dict[str, list[str]]) -> None:
    for name, sources in directives.items():
        for source in sources:
            # Keywords only: no scheme (https:, data:, blob:), host or wildcard.
            assert source.startswith("'") and source.endswith("'"), f"{name} {source}"


def parse(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in directives, f"{name} given twice"
        directives[name] = sources
    return directives


@pytest.fixture(scope="module")
def head() -> Head:
    parser = Head()
    parser.feed(INDEX.read_text(encoding="utf-8"))
    assert parser.policy, "index.html has no Content-Security-Policy"
    return parser


def test_the_policy_names_only_the_app_itself(head: Head) -> None:
    directives = parse(head.policy)
    assert directives == EXPECTED
    keywords_only(directives)
    # Each relaxation is explained where it is made.
    explained = " ".join(head.comments)
    for source in {s for sources in directives.values() for s in sources} - {"'self'", "'none'"}:
        assert source in explained, f"{source} has no comment saying why"


def test_the_policy_comes_before_anything_loads_and_nothing_is_inline(head: Head) -> None:
    assert head.loads_before_policy == []
    assert head.inline == []


# ---------------------------------------------------------------- enforced in the window


class Elsewhere:
    """Another origin on loopback that answers every request, and counts them."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(f"GET {self.path}")
                body = b"window.__fromElsewhere = true;"
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Type", "text/javascript")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                seen.append(f"POST {self.path}")
                self.send_response(204)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[Elsewhere]:
    server = Elsewhere()
    yield server
    server.close()


@pytest.fixture(scope="module")
def app(module_app_factory) -> AppProcess:
    return module_app_factory()


def test_the_model_worker_runs_under_its_own_policy(app: AppProcess) -> None:
    """A worker's policy comes with its script (the page's <meta> does not reach it)."""
    worker = app.eval("new URL('worker/worker.js', location.href).href")
    with urllib.request.urlopen(worker, timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
    assert policy == webui_server.WORKER_POLICY
    assert parse(policy) == {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'"],  # TF.js: desktop/webui_server.py says why
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
    }
    keywords_only(parse(policy))
    # TF.js, its WebAssembly and the models load under it.
    app.wait_for(MODEL_READY_JS, timeout=90)


def test_the_window_runs_the_policy_of_index_html(app: AppProcess, head: Head) -> None:
    shown = app.eval(
        "document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content"
    )
    assert shown == head.policy


# Each probe is an async function body; it returns what got through (true = it did).
PROBES = {
    "inline script": """const s = document.createElement('script');
        s.textContent = 'window.__inline = true'; document.head.append(s); s.remove();
        return window.__inline === true;""",
    "inline handler": """const d = document.createElement('div');
        d.setAttribute('onclick', 'window.__handler = true'); document.body.append(d);
        d.click(); d.remove(); return window.__handler === true;""",
    "inline style": """const s = document.createElement('style');
        s.textContent = 'body { --probe: 1; }'; document.head.append(s);
        const applied = getComputedStyle(document.body).getPropertyValue('--probe') !== '';
        s.remove(); return applied;""",
    "style attribute": """const d = document.createElement('div');
        d.setAttribute('style', 'width: 123px'); document.body.append(d);
        const applied = d.getBoundingClientRect().width === 123; d.remove(); return applied;""",
    "fetch": """try { await fetch(ELSEWHERE + '/fetch'); return true; }
        catch { return false; }""",
    "XMLHttpRequest": """return await new Promise((done) => {
        const x = new XMLHttpRequest(); x.open('GET', ELSEWHERE + '/xhr');
        x.onload = () => done(true); x.onerror = () => done(false);
        try { x.send(); } catch { done(false); } });""",
    "image": """return await new Promise((done) => {
        const i = new Image(); i.onload = () => done(true); i.onerror = () => done(false);
        i.src = ELSEWHERE + '/image'; });""",
    "script element": """return await new Promise((done) => {
        const s = document.createElement('script'); s.src = ELSEWHERE + '/script.js';
        s.onload = () => done(true); s.onerror = () => done(false);
        document.head.append(s); });""",
    "module import": """try { await import(ELSEWHERE + '/module.js'); return true; }
        catch { return false; }""",
    "stylesheet": """return await new Promise((done) => {
        const l = document.createElement('link'); l.rel = 'stylesheet';
        l.href = ELSEWHERE + '/style.css';
        l.onload = () => done(true); l.onerror = () => done(false);
        document.head.append(l); });""",
    "websocket": """try { new WebSocket(ELSEWHERE.replace('http', 'ws') + '/ws'); }
        catch { return false; }
        await new Promise((r) => setTimeout(r, 300)); return null;""",
    "beacon": """try { return navigator.sendBeacon(ELSEWHERE + '/beacon', 'x') && null; }
        catch { return false; }""",
    "worker": """try { new Worker(ELSEWHERE + '/worker.js'); return null; }
        catch { return false; }""",
    "frame": """const f = document.createElement('iframe'); f.src = ELSEWHERE + '/frame';
        document.body.append(f); await new Promise((r) => setTimeout(r, 300));
        f.remove(); return null;""",
    "object": """const o = document.createElement('object'); o.data = ELSEWHERE + '/object';
        document.body.append(o); await new Promise((r) => setTimeout(r, 300));
        o.remove(); return null;""",
}


def test_the_window_enforces_it(app: AppProcess, elsewhere: Elsewhere) -> None:
    app.eval(
        "window.__violations = [];"
        " document.addEventListener('securitypolicyviolation',"
        " (e) => window.__violations.push(e.effectiveDirective)); true"
    )
    got_through = {}
    for name, body in PROBES.items():
        js = f"(async () => {{ const ELSEWHERE = '{elsewhere.origin}'; {body} }})()"
        got_through[name] = app.call_async(js, timeout=10)
    # true would mean the page loaded or ran it; null: the only sign is the server's.
    assert {name: got for name, got in got_through.items() if got} == {}
    app.call_async("new Promise((r) => setTimeout(r, 1000))")
    assert elsewhere.requests == []
    assert app.eval("window.__fromElsewhere === undefined") is True

    violations = set(app.eval("window.__violations"))
    assert {
        "script-src-elem",
        "script-src-attr",
        "style-src-elem",
        "style-src-attr",
        "connect-src",
        "img-src",
        "frame-src",
        "object-src",
    } <= violations


def test_eval_works_because_the_bridge_needs_it(app: AppProcess) -> None:
    # If this fails, 'unsafe-eval' went away: then window.pywebview.api is empty too.
    assert app.eval("eval('20 + 22')") == 42
    assert app.call("list_tags") == []
