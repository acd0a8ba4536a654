"""Speed, load time, memory and fidelity of the sentence encoder where the app runs it.

    .venv/bin/python bench/embed.py [--browser webview|chromium] [--threads N]

webview (default): the real app, offscreen Qt, through tests/app/harness.py; the
page imports webui/model.js and drives its own model worker. chromium: headless
Chromium on tests/webui/server.py (cross-origin isolated, so threaded wasm can run).

- short_ms_batch1: median time of embed([note]) for CLINC150 requests of 13-17
  tokens, one at a time (tokenizer, worker round trip and all), after 20 of
  them as a warm-up. About two thirds of these notes bring a token the worker
  has not seen, whose features the tokens graph computes first (ml/ENCODER.md).
- short_ms_batch1_known: the same 100 notes again, every token remembered.
- short_per_s_batched: the same notes, 512 in one embed() call.
- long_ms_batch1: median of embed([note]) for one note of about 1,000 tokens
  (eight chunks).
- load_cold_s: createModel() until ready, the bench's first time in the page
  (in Chromium a fresh browser; in the webview the app has loaded its own model
  just before, so files are in the OS cache, and app_launch_to_model_ready_s
  gives the app's own cold start, from launching the process);
  load_warm_s: the same again after terminating the bench's first worker.
- memory_added_mb: PSS of the whole process tree (browser or app) after loading
  and the runs above, minus before.
- parity_min_cosine: webview vs ml.embed (Python TF) on 208 SIB-200 sentences,
  13 in each of the 16 languages.
Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml import tokenize  # noqa: E402
from ml.embed import embed  # noqa: E402

DATA = ROOT.parent / "shared" / "data"

LOAD_JS = """async ({threads}) => {
  const { createModel } = await import(new URL("model.js", location.href).href);
  window.__benchModel?.terminate();
  const t0 = performance.now();
  window.__benchModel = createModel({ threads });
  const info = await window.__benchModel.ready;
  return { ...info, wall_s: (performance.now() - t0) / 1000 };
}"""

SPEED_JS = """async ({short, long}) => {
  const model = window.__benchModel;
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const timeOne = async (text) => {
    const t0 = performance.now();
    await model.embed([text]);
    return performance.now() - t0;
  };
  for (const text of short.slice(0, 20)) await timeOne(text);
  const one = [];
  for (const text of short.slice(0, 100)) one.push(await timeOne(text));
  const again = [];
  for (const text of short.slice(0, 100)) again.push(await timeOne(text));
  await model.embed(short.slice(0, 64));
  let t0 = performance.now();
  await model.embed(short);
  const perSecond = short.length / ((performance.now() - t0) / 1000);
  await timeOne(long);
  const longTimes = [];
  for (let i = 0; i < 7; i++) longTimes.push(await timeOne(long));
  return { short_ms_batch1: median(one), short_ms_batch1_known: median(again),
           short_per_s_batched: perSecond,
           long_ms_batch1: median(longTimes) };
}"""

EMBED_JS = "async ({texts}) => (await window.__benchModel.embed(texts)).map((v) => Array.from(v))"


def short_notes(count: int = 512) -> list[str]:
    with (DATA / "clinc150" / "val.csv").open(encoding="utf-8", newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    fitting = [t for t in texts if 13 <= len(tokenize.encode(t)) <= 17]
    return fitting[:count]


def sib_texts(per_language: int = 13) -> list[str]:
    texts = []
    for tsv in sorted((DATA / "sib200").glob("*/dev.tsv")):
        with tsv.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        texts += [row[2] for row in rows[:per_language]]
    return texts


def long_note(tokens: int = 1000) -> str:
    parts: list[str] = []
    for text in sib_texts(60)[::3]:
        parts.append(text)
        if len(tokenize.encode("\n\n".join(parts))) >= tokens:
            break
    return "\n\n".join(parts)


def pss_mb(root_pid: int) -> float:
    """Proportional set size of a process and all its descendants, in MB."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total_kb, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def run(call: Callable[[str, dict], Any], root_pid: Callable[[], int], threads: int | None,
        browser: str) -> dict[str, Any]:
    short, long, texts = short_notes(), long_note(), sib_texts()
    before = pss_mb(root_pid())
    cold = call(LOAD_JS, {"threads": threads})
    speed = call(SPEED_JS, {"short": short, "long": long})
    after = pss_mb(root_pid())
    vectors = np.array(call(EMBED_JS, {"texts": texts}), np.float32)
    warm = call(LOAD_JS, {"threads": threads})
    reference = embed(texts)
    cosines = (vectors * reference).sum(axis=1) / np.linalg.norm(vectors, axis=1)
    return {
        "browser": browser,
        "backend": cold["backend"],
        "threads": cold["threads"],
        "short_ms_batch1": round(speed["short_ms_batch1"], 2),
        "short_ms_batch1_known": round(speed["short_ms_batch1_known"], 2),
        "short_per_s_batched": round(speed["short_per_s_batched"], 1),
        "long_ms_batch1": round(speed["long_ms_batch1"], 1),
        "load_cold_s": round(cold["wall_s"], 3),
        "load_warm_s": round(warm["wall_s"], 3),
        "memory_added_mb": round(after - before, 1),
        "parity_min_cosine": float(cosines.min()),
        "short_notes": len(short),
        "long_note_tokens": len(tokenize.encode(long)),
        "model_id": cold["model_id"],
    }


def in_webview(threads: int | None) -> dict[str, Any]:
    from tests.app.harness import AppProcess

    with AppProcess() as app:
        # The app loads its own model at start; let it finish before the baseline.
        app.wait_for("document.getElementById('model-status').dataset.state !== 'loading'",
                     timeout=120)
        app_model_s = time.monotonic() - app.started_at

        def call(js: str, args: dict) -> Any:
            return app.call_async(f"({js})({json.dumps(args)})", timeout=600)

        result = run(call, lambda: app.pid, threads, "webview (Qt WebEngine, offscreen)")
        return {**result, "app_launch_to_model_ready_s": round(app_model_s, 3)}


def in_chromium(threads: int | None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.webui.server import BLANK, serve_webui

    tag = f"--margin-bench={uuid.uuid4().hex}"

    def browser_pid() -> int:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if tag.encode() in cmdline.read_bytes():
                    return int(cmdline.parent.name)
            except OSError:
                continue
        raise RuntimeError("browser process not found")

    with serve_webui() as base, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-background-networking",
                  "--disable-component-update", tag],
        )
        page = browser.new_page()
        page.goto(base + BLANK)
        page.set_default_timeout(600_000)
        try:
            return run(page.evaluate, browser_pid, threads, "headless chromium")
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", choices=["webview", "chromium"], default="webview")
    parser.add_argument("--threads", type=int, default=None,
                        help="wasm threads (default: the worker's own choice)")
    args = parser.parse_args()
    result = (in_webview if args.browser == "webview" else in_chromium)(args.threads)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
