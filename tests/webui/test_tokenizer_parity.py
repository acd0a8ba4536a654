"""webui/worker/tokenizer.js gives the ids of the Python tokenizer (ml.tokenize, i.e.
sentencepiece with BOS/EOS), run where the app runs it: a module Web Worker in
Chromium, under a strict CSP. Each test sends all its texts in one message and
compares in Python.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from ml.tokenize import encode as python_encode
from ml.tokenize import sp_model_path
from tests.webui import tokenizer_cases as cases
from tests.webui.server import WEBUI, blank_page

# The copy the app loads, put there by the encoder build (ml.build_encoder).
MODEL_URL = "/models/use/sp.model"
# The app's policy for scripts; blob: only so the test can start its own worker.
CSP = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src blob:; connect-src 'self'"
)

START_WORKER = """async ({csp, modelUrl}) => {
  const meta = document.createElement("meta");
  meta.httpEquiv = "Content-Security-Policy";
  meta.content = csp;
  document.head.append(meta);
  const origin = location.origin;
  const source = `
    let evalBlocked = false;
    try { new Function("return 1"); } catch (e) { evalBlocked = e instanceof EvalError; }
    const { loadTokenizer } = await import("${origin}/worker/tokenizer.js");
    const t0 = performance.now();
    const tokenizer = await loadTokenizer("${origin}${modelUrl}");
    const loadMs = performance.now() - t0;
    self.onmessage = ({ data }) => {
      const texts = JSON.parse(data);
      const t = performance.now();
      const rows = texts.map((text) => tokenizer.encode(text));
      const ms = performance.now() - t;
      postMessage({
        ms, allInt32: rows.every((row) => row instanceof Int32Array),
        // One string crosses into Python far faster than a million numbers.
        ids: JSON.stringify(rows.map((row) => Array.from(row))),
      });
    };
    // Building alone, from bytes already fetched.
    const bytes = await (await fetch("${origin}${modelUrl}")).arrayBuffer();
    const t1 = performance.now();
    await loadTokenizer(bytes);
    const buildMs = performance.now() - t1;
    postMessage({
      loadMs, buildMs, evalBlocked, pieceCount: tokenizer.pieceCount,
      hasDocument: typeof document !== "undefined",
    });
  `;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  const next = () => new Promise((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(e.message || "worker failed to start"));
  });
  window.encodeAll = (json) => { const reply = next(); worker.postMessage(json); return reply; };
  return await next();
}"""


@pytest.fixture(scope="module")
def browser_page() -> Iterator[tuple[Page, dict[str, Any]]]:
    built = WEBUI / MODEL_URL.lstrip("/")
    if not built.is_file():
        pytest.fail(f"{built} is missing: build it with `make models`")
    assert built.read_bytes() == sp_model_path().read_bytes(), (
        "the app's sp.model is not the one the Python tokenizer reads; rebuild with `make models`"
    )
    with blank_page() as page:
        yield page, page.evaluate(START_WORKER, {"csp": CSP, "modelUrl": MODEL_URL})


def encode_in_browser(page: Page, texts: list[str]) -> tuple[list[list[int]], float]:
    """Ids of each text from tokenizer.js, and the worker's encoding time in ms."""
    # ASCII JSON keeps lone surrogates as \\udXXX escapes, which JSON.parse turns
    # back into unpaired UTF-16 code units.
    reply = page.evaluate("json => window.encodeAll(json)", json.dumps(texts))
    assert reply["allInt32"]
    return json.loads(reply["ids"]), reply["ms"]


def assert_same_ids(texts: list[str], got: list[list[int]]) -> None:
    assert len(got) == len(texts)
    bad = []
    for text, ids in zip(texts, got, strict=True):
        want = python_encode(cases.as_python_text(text))
        if ids != want:
            bad.append(f"{text[:50]!r}: python {want[:12]}... js {ids[:12]}...")
    assert not bad, f"{len(bad)} of {len(texts)} texts differ; first: " + "; ".join(bad[:5])


def test_loads_in_a_module_worker_under_strict_csp(browser_page):
    _, ready = browser_page
    assert ready["evalBlocked"], "the CSP did not reach the worker, so this proves nothing"
    assert not ready["hasDocument"]
    assert ready["pieceCount"] == 128_000


def test_shared_data_texts_in_all_languages(browser_page):
    page, _ = browser_page
    texts = cases.corpus_texts()
    assert len(texts) >= 2_000
    got, ms = encode_in_browser(page, texts)
    assert_same_ids(texts, got)
    print(json.dumps({"short_texts": len(texts), "texts_per_s": round(len(texts) / ms * 1000)}))


@pytest.mark.parametrize("name", list(cases.EDGE_CASES))
def test_edge_case(browser_page, name):
    page, _ = browser_page
    text = cases.EDGE_CASES[name]
    got, _ = encode_in_browser(page, [text])
    assert_same_ids([text], got)


def test_empty_text_is_bos_eos(browser_page):
    page, _ = browser_page
    got, _ = encode_in_browser(page, ["", " \n\t "])
    assert got == [[1, 2], [1, 2]]


def test_unknown_run_is_one_unknown_id(browser_page):
    page, _ = browser_page
    got, _ = encode_in_browser(page, ["a🙂🙃😀b"])
    assert got[0].count(0) == 1


def test_lone_surrogate_reads_as_replacement_character(browser_page):
    page, _ = browser_page
    got, _ = encode_in_browser(page, ["caf\ud800e", "\udc00"])
    assert got == [python_encode("caf\ufffde"), python_encode("\ufffd")]


def test_every_code_point(browser_page):
    page, _ = browser_page
    texts = cases.every_code_point_texts()
    got, _ = encode_in_browser(page, texts)
    assert_same_ids(texts, got)


def test_random_mixes(browser_page):
    page, _ = browser_page
    texts = cases.random_texts(5_000)
    got, _ = encode_in_browser(page, texts)
    assert_same_ids(texts, got)


def test_near_ties(browser_page):
    page, _ = browser_page
    texts = cases.tie_texts(5_000)
    got, _ = encode_in_browser(page, texts)
    assert_same_ids(texts, got)


def test_hundred_kb_notes_in_well_under_a_second(browser_page):
    page, ready = browser_page
    figures = {"load_ms": round(ready["loadMs"]), "build_ms": round(ready["buildMs"])}
    for name, text in cases.hundred_kb_texts().items():
        encode_in_browser(page, [text])  # warm the JIT first
        got, ms = encode_in_browser(page, [text])
        assert_same_ids([text], got)
        assert ms < 1000, f"{name}: {ms:.0f} ms"
        figures[f"{name} ms"] = round(ms, 1)
    print(json.dumps(figures))
