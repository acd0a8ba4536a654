"""Startup and bridge latency of the real app, offscreen.

    .venv/bin/python bench/startup.py [--runs 5] [--notes 200]

Each run launches the app twice: cold, on a new data dir (the database is created),
then warm, on the same dir holding `--notes` notes. "Usable" is the moment the page
has listed the notes and opened the first one (body[data-ready]), seen from the
launching process. Warm runs also say where that time went: warm_page_origin_s is
when Chromium began the page (the launch, Python, Qt and Chromium before it), and
warm_dom_ready_s when its modules had all loaded and run (DOMContentLoaded); the
rest is the bridge and the first js_api calls. The round trip is a small js_api call
(list_tags) timed inside the page. Prints one JSON object (medians) as its last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.harness import AppProcess  # noqa: E402

ROUNDTRIP_JS = """(async () => {
  const api = window.pywebview.api;
  const times = [];
  for (let i = 0; i < %d; i++) {
    const start = performance.now();
    await api.list_tags();
    times.push(performance.now() - start);
  }
  return times;
})()"""

SEED_JS = """(async () => {
  const api = window.pywebview.api;
  for (let i = 0; i < %d; i++) {
    await api.create_note({
      title: `Seeded note ${i}`,
      body: `Body of note ${i}. `.repeat(40),
      tags: [`tag${i %% 12}`],
    });
  }
  return true;
})()"""


PAGE_CLOCK_JS = """JSON.stringify({
  now: performance.now(),
  domReady: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
})"""


def page_phases(app: AppProcess) -> tuple[float, float]:
    """(page origin, DOMContentLoaded) in seconds after the launch, on the launcher's clock."""
    before = time.monotonic()
    clock = json.loads(app.eval(PAGE_CLOCK_JS))
    # The page's clock read halfway through the round trip.
    origin = (before + time.monotonic()) / 2 - clock["now"] / 1000 - app.started_at
    return origin, origin + clock["domReady"] / 1000


def launch(data: Path) -> AppProcess:
    app = AppProcess(data)
    app.start(timeout=60)
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--calls", type=int, default=50, help="js_api calls per warm run")
    args = parser.parse_args()

    cold: list[float] = []
    warm: list[float] = []
    origins: list[float] = []
    dom_ready: list[float] = []
    roundtrip_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="margin-bench-") as scratch:
        for run in range(args.runs):
            data = Path(scratch) / f"run{run}"
            app = launch(data)
            try:
                cold.append(app.ready_after_s)
                app.call_async(SEED_JS % args.notes, timeout=300)
            finally:
                app.cleanup()

            app = launch(data)
            try:
                warm.append(app.ready_after_s)
                origin, dom = page_phases(app)
                origins.append(origin)
                dom_ready.append(dom)
                rows = app.eval("document.querySelectorAll('.note-row').length")
                assert rows == args.notes, f"expected {args.notes} notes listed, saw {rows}"
                roundtrip_ms.extend(app.call_async(ROUNDTRIP_JS % args.calls, timeout=120))
            finally:
                app.cleanup()
            print(
                f"run {run + 1}: cold {cold[-1]:.3f} s, warm {warm[-1]:.3f} s "
                f"(page {origins[-1]:.3f} s, modules run {dom_ready[-1]:.3f} s), "
                f"list_tags {statistics.median(roundtrip_ms[-args.calls :]):.2f} ms",
                flush=True,
            )

    print(
        json.dumps(
            {
                "cold_start_s": round(statistics.median(cold), 3),
                "warm_start_s": round(statistics.median(warm), 3),
                "warm_page_origin_s": round(statistics.median(origins), 3),
                "warm_dom_ready_s": round(statistics.median(dom_ready), 3),
                "api_roundtrip_ms": round(statistics.median(roundtrip_ms), 2),
                "runs": args.runs,
                "notes": args.notes,
                "cold_all_s": [round(x, 3) for x in cold],
                "warm_all_s": [round(x, 3) for x in warm],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
