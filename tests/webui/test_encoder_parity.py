"""The webview's encoder (webui/model.js -> worker -> TF.js) gives Python's vectors
(ml.embed), in headless Chromium under the app's own CSP: on SIB-200 sentences in
all 16 languages, on token ids made in Python (the encoder alone), and on long
notes (the chunking policy).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page

from ml import build_encoder, tokenize
from ml.embed import embed, model_id
from tests.webui.server import WEBUI, blank_page

SIB = Path(__file__).resolve().parents[3] / "shared" / "data" / "sib200"
PER_LANGUAGE = 13  # x 16 languages = 208 sentences
MIN_COSINE = 0.9999

START = """async (csp) => {
  const meta = document.createElement("meta");
  meta.httpEquiv = "Content-Security-Policy";
  meta.content = csp;
  document.head.append(meta);
  const { createModel } = await import("/model.js");
  window.model = createModel();
  return await window.model.ready;
}"""

EMBED = "async (texts) => (await window.model.embed(texts)).map((v) => Array.from(v))"


def sib_texts(per_language: int = PER_LANGUAGE) -> list[str]:
    texts = []
    for tsv in sorted(SIB.glob("*/dev.tsv")):
        with tsv.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        texts += [row[2] for row in rows[:per_language]]
    return texts


def long_note() -> str:
    paragraphs = sib_texts()[::7]
    return "\n\n".join(paragraphs)


def app_csp() -> str:
    html = (WEBUI / "index.html").read_text(encoding="utf-8")
    return re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def page() -> Iterator[tuple[Page, dict]]:
    build_encoder.main([])
    with blank_page() as page:
        yield page, page.evaluate(START, app_csp())


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_worker_loads_the_built_model_on_wasm(page: tuple[Page, dict]) -> None:
    _, info = page
    assert info["backend"] == "wasm", info
    assert info["simd"] is True and info["threads"] == 1
    assert info["model_id"] == model_id()
    assert info["load_ms"] > 0


def test_sib200_sentences_match_python(page: tuple[Page, dict]) -> None:
    texts = sib_texts()
    assert len(texts) == 16 * PER_LANGUAGE
    js = np.array(page[0].evaluate(EMBED, texts), np.float32)
    py = embed(texts)
    assert js.shape == py.shape == (len(texts), 512)
    np.testing.assert_allclose(np.linalg.norm(js, axis=1), 1.0, atol=1e-5)
    worst = cosines(js, py).min()
    assert worst >= MIN_COSINE, worst


def test_edge_texts_match_python(page: tuple[Page, dict]) -> None:
    texts = ["", " ", "a", "🙂", "x" * 2000, "Meeting 10:30 — Ana\tBo\n\nCafé ☃ \x00 end"]
    js = np.array(page[0].evaluate(EMBED, texts), np.float32)
    assert cosines(js, embed(texts)).min() >= MIN_COSINE


ENCODE_IDS = """async (rows) => {
  const { loadEncoder } = await import("/worker/encoder.js");
  window.pageEncoder ??= await loadEncoder(tf, "/models/use/");
  const vectors = await window.pageEncoder.embedIds(rows.map((r) => Int32Array.from(r)));
  return vectors.map((v) => Array.from(v));
}"""


@pytest.fixture(scope="module")
def page_encoder(page: tuple[Page, dict]) -> Page:
    """The page itself with tf.js and encoder.js loaded, outside the worker."""
    pg = page[0]
    pg.add_script_tag(url="/vendor/tf.min.js")
    pg.add_script_tag(url="/vendor/tf-backend-wasm.min.js")
    # Threaded wasm would start its helper workers from blob: URLs, which the
    # app's CSP (worker-src 'self') forbids in the page; the worker has no CSP.
    pg.evaluate("""async () => {
      tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
      tf.wasm.setWasmPaths("/vendor/");
      if (!await tf.setBackend("wasm")) throw new Error("no wasm");
    }""")
    return pg


def test_encoder_alone_matches_python_on_python_ids(page_encoder: Page) -> None:
    """Token ids from Python straight into encoder.js: the encoder without tokenizer.js."""
    texts = sib_texts()[::4] + [long_note()]
    rows = [tokenize.encode(t) for t in texts]
    js = np.array(page_encoder.evaluate(ENCODE_IDS, rows), np.float32)
    assert cosines(js, embed(texts)).min() >= MIN_COSINE


def test_forgotten_token_features_come_back_the_same(page_encoder: Page) -> None:
    """More distinct tokens than the worker remembers: evicted ones are recomputed."""
    texts = sib_texts(per_language=30)
    rows = [tokenize.encode(t) for t in texts]
    assert len({i for r in rows for i in r}) > 4096
    js = np.array(page_encoder.evaluate(ENCODE_IDS, rows), np.float32)
    assert page_encoder.evaluate("window.pageEncoder.memo.size") <= 4096
    assert cosines(js, embed(texts)).min() >= MIN_COSINE


def test_kept_buffers_leave_nothing_behind(page_encoder: Page) -> None:
    """Arrays reused from call to call (scratch.js) are zeroed: a batch whose short
    rows are padded, after a long row filled the buffers, gives each row's vector
    as when it goes alone."""
    rows = sorted((tokenize.encode(t) for t in sib_texts()[:40]), key=len)
    short = rows[:4]
    # The whole batch within the kept buffers (encoder.js SCRATCH_TOKENS).
    longest = [row for row in rows if len(row) * (len(short) + 1) <= 256][-1]
    assert len(short[-1]) < len(longest) // 2
    alone = [page_encoder.evaluate(ENCODE_IDS, [row])[0] for row in short]
    page_encoder.evaluate(ENCODE_IDS, [longest])
    batched = page_encoder.evaluate(ENCODE_IDS, [*short, longest])[: len(short)]
    np.testing.assert_allclose(np.array(batched), np.array(alone), rtol=0, atol=1e-6)


CHUNK_IDS = """async ({ids, maxTokens}) => {
  const { chunkIds } = await import("/worker/encoder.js");
  return chunkIds(Int32Array.from(ids), maxTokens).map((r) => Array.from(r));
}"""


@pytest.mark.parametrize("length", [2, 3, 127, 128, 129, 130, 255, 256, 257, 1000])
def test_chunking_policy_is_the_same_in_js(page: tuple[Page, dict], length: int) -> None:
    ids = [tokenize.BOS, *range(100, 100 + length - 2), tokenize.EOS]
    js = page[0].evaluate(CHUNK_IDS, {"ids": ids, "maxTokens": tokenize.MAX_TOKENS})
    assert js == tokenize.chunk(ids)


def test_long_note_matches_python(page: tuple[Page, dict]) -> None:
    note = long_note()
    assert len(tokenize.chunk(tokenize.encode(note))) >= 3
    js = np.array(page[0].evaluate(EMBED, [note, "short"]), np.float32)
    assert cosines(js, embed([note, "short"])).min() >= MIN_COSINE


OLD_LAYOUT = """async () => {
  const { loadEncoder } = await import("/worker/encoder.js");
  try { await loadEncoder(tf, "/models/use/"); return "loaded"; }
  catch (e) { return e.message; }
}"""


def test_a_model_folder_of_another_layout_is_refused(page: tuple[Page, dict]) -> None:
    """encoder.js feeds the graphs as the manifest's layout says; an older build
    is refused with what to do, not run with the wrong inputs."""
    manifest = json.loads((WEBUI / "models" / "use" / "manifest.json").read_text())
    other = page[0].context.browser.new_page()
    other.route("**/models/use/manifest.json", lambda route: route.fulfill(
        json={**manifest, "layout": manifest["layout"] - 1}))
    other.goto(page[0].url)
    other.add_script_tag(url="/vendor/tf.min.js")
    refused = other.evaluate(OLD_LAYOUT)
    other.close()
    assert "python -m ml.build_encoder" in refused


CPU_IDS = """async (rows) => {
  if (!await tf.setBackend("cpu")) throw new Error("no cpu backend");
  const { loadEncoder } = await import("/worker/encoder.js");
  const encoder = await loadEncoder(tf, "/models/use/");
  const vectors = await encoder.embedIds(rows.map((r) => Int32Array.from(r)));
  return vectors.map((v) => Array.from(v));
}"""


def test_the_fallback_cpu_backend_runs_the_graphs(page: tuple[Page, dict]) -> None:
    """The worker falls back to webgl, then cpu: the encoder needs no TF.js wasm kernel
    (its products are coded_products.js's, tested with and without wasm there)."""
    other = page[0].context.browser.new_page()
    other.goto(page[0].url)
    other.add_script_tag(url="/vendor/tf.min.js")
    texts = sib_texts()[::16]
    js = np.array(other.evaluate(CPU_IDS, [tokenize.encode(t) for t in texts]), np.float32)
    other.close()
    assert cosines(js, embed(texts)).min() >= MIN_COSINE


THREADED = """async (texts) => {
  const { createModel } = await import("/model.js");
  const model = createModel({ threads: 2 });
  const info = await model.ready;
  const vectors = await model.embed(texts);
  model.terminate();
  return { threads: info.threads, vectors: vectors.map((v) => Array.from(v)) };
}"""


def test_two_threads_where_the_page_is_cross_origin_isolated(page: tuple[Page, dict]) -> None:
    other = page[0].context.browser.new_page()
    other.goto(page[0].url)  # the test server sends COOP/COEP; no CSP on this page
    texts = sib_texts()[::16]
    result = other.evaluate(THREADED, texts)
    other.close()
    assert result["threads"] == 2
    assert cosines(np.array(result["vectors"], np.float32), embed(texts)).min() >= MIN_COSINE


def test_a_bad_request_is_refused_and_the_model_stays_ready(page: tuple[Page, dict]) -> None:
    refused = page[0].evaluate("""async () => {
      try { await window.model.embed([1, null]); return "resolved"; }
      catch (e) { return e.message; }
    }""")
    assert "array of strings" in refused
    assert page[0].evaluate("window.model.status.state") == "ready"
    assert page[0].evaluate("window.model.embed([]).then((v) => v.length)") == 0
