"""Tag suggestions in the real webview (offscreen): how soon they show, and how long
the personal head takes to train.

    .venv/bin/python bench/suggest.py [--runs 40] [--notes 1000] [--tags 20]

The app opens a data dir of `--notes` notes on `--tags` CLINC150 intents (equal
shares, each note tagged with its intent, a few requests of that intent per note),
with vectors from ml.embed: the app's own numbers, made in Python so that the run
does not wait for the webview to index them (cached in .cache/ after the first
run, which loads TensorFlow). The app trains its personal head at start, as the
tags are new to it: personal_train_s is that training, from asking Python for the
training set to the new head in use (vectors handed over, everyday notes embedded,
100 epochs), as the page measures it.

Then a 50-word note is typed over and over (the text set, the last character a real
key press): suggest_*_ms is from that last keystroke to the suggestions being in
the page (the #suggestions element changed, by the answer of a suggest call made
after that keystroke), less the editor's save delay (400 ms), with warm models:
save, embed, tag, merge in Python with the neighbours, show. suggest_frame_*_ms
runs on to the start of the next frame, which paints them. The medians of the steps
come along (save_ms_p50; embed_tag_ms_p50, from the save's answer to the suggest
call; suggest_call_ms_p50): on a busy machine they tell where the time went (the
worker embeds while Python saves, so embed_tag_ms_p50 leaves out what overlapped).
Each run's text is new to the app (its run number ends it), so no vector is reused.
The page is not polled while a run is timed (see QUIET_MS).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop import paths  # noqa: E402
from desktop.search import encoder_model_id  # noqa: E402
from desktop.store import Store, content_text  # noqa: E402
from tests.app.harness import AppProcess  # noqa: E402

CLINC = ROOT.parent / "shared" / "data" / "clinc150" / "train.csv"
SAVE_DELAY_MS = 400  # webui/app.js SAVE_DELAY_MS
# After the save delay, this long without asking the page anything (most runs show
# their suggestions within it).
QUIET_MS = 250
REQUESTS_PER_NOTE = 3
WARM_UP = 3
NOTES_50_WORDS = [
    "Dinner plan for Saturday: slow roasted lamb with rosemary and garlic, a big tray of"
    " potatoes, green beans with almonds, and a lemon tart for dessert. Buy the lamb on"
    " Friday at the market, start the oven at noon, and ask Sam to bring wine and bread"
    " for eight people. Note",
    "Trip to Lisbon in May: flights booked, hotel near the river still to choose. Want"
    " to ride the old trams, see the tiles museum, eat custard tarts in Belem and take"
    " the train to Sintra for a day. Check passport dates and exchange a little money"
    " before leaving. Reminder",
    "Quarterly review with the team on Thursday: revenue is up, churn is down, but the"
    " support queue keeps growing. Proposal: hire two people for support, move the"
    " release to the end of the month, and write down who owns the billing migration"
    " before the board meeting. Item",
]

READY_JS = "document.getElementById('model-status').textContent.startsWith('Model ready')"
# Also times the bridge calls on the way (pywebview's functions, which bridge.js looks
# up on every call): the save, and the call that returns the suggestions.
INSTRUMENT_JS = """(() => {
  window.__bench = { renders: 0, lastInput: 0, shownAt: 0, frameAt: 0, calls: {} };
  for (const name of ["save_note", "suggest"]) {
    const call = window.pywebview.api[name];
    window.pywebview.api[name] = async (...args) => {
      const started = performance.now();
      const reply = await call(...args);
      window.__bench.calls[name] = [started, performance.now()];
      return reply;
    };
  }
  document.getElementById('body').addEventListener('input', () => {
    window.__bench.lastInput = performance.now();
  });
  // The first change after the last keystroke, and the frame after it.
  new MutationObserver(() => {
    const bench = window.__bench;
    bench.renders += 1;
    if (bench.shownAt > bench.lastInput) return;
    bench.shownAt = performance.now();
    requestAnimationFrame((frameAt) => { bench.frameAt = frameAt; });
  }).observe(document.getElementById('suggestions'),
    { attributes: true, childList: true, subtree: true });
  return true;
})()"""


def clinc_notes(count: int, tags: int) -> list[tuple[str, str, str]]:
    """(title, body, tag): `tags` intents of different domains, count // tags notes each."""
    with CLINC.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_intent: dict[str, list[str]] = {}
    domain_of: dict[str, str] = {}
    for row in rows:
        if row["domain"] in ("small_talk", "meta"):
            continue
        by_intent.setdefault(row["intent"], []).append(row["text"])
        domain_of[row["intent"]] = row["domain"]
    # Round-robin over domains, so the tags are of different subjects.
    domains: dict[str, list[str]] = {}
    for intent in sorted(by_intent):
        domains.setdefault(domain_of[intent], []).append(intent)
    chosen: list[str] = []
    while len(chosen) < tags:
        for names in domains.values():
            if names and len(chosen) < tags:
                chosen.append(names.pop(0))
    notes = []
    per_tag = count // tags
    for intent in chosen:
        texts = by_intent[intent]
        for i in range(per_tag):
            first = i * REQUESTS_PER_NOTE
            part = [texts[(first + j) % len(texts)] for j in range(REQUESTS_PER_NOTE)]
            notes.append((part[0].capitalize(), " ".join(part[1:]), intent.replace("_", " ")))
    return notes


def build_data(data: Path, count: int, tags: int) -> None:
    from ml.embed import embed, model_id

    model = encoder_model_id(paths.webui_dir())
    assert model == model_id(), "webui/models/use and ml.embed disagree: run `make models`"
    notes = clinc_notes(count, tags)
    vectors = embed([content_text(title, body) for title, body, _ in notes])
    data.mkdir(parents=True)
    store = Store(paths.database_file(data))
    try:
        for (title, body, tag), vector in zip(notes, vectors, strict=True):
            note = store.create_note(title=title, body=body, tags=[tag])
            store.put_embedding(note["id"], vector.astype("<f4").tobytes(), model,
                                note["content_hash"])
    finally:
        store.close()


def measure_typing(
    app: AppProcess, runs: int, parts: dict[str, list[float]]
) -> tuple[list[float], list[float]]:
    """Keystroke-to-suggestions and keystroke-to-frame times; `parts` gets the steps'
    times of each run."""
    app.press("Ctrl+N")
    app.wait_for("document.activeElement.id === 'title'")
    app.type_text("Bench note\n")
    app.wait_for("document.activeElement.id === 'body'")
    app.eval(INSTRUMENT_JS)
    latencies, frames = [], []
    for i in range(WARM_UP + runs):
        text = f"{NOTES_50_WORDS[i % len(NOTES_50_WORDS)]} {i}"
        before = app.eval("window.__bench.renders")
        app.eval(
            "(() => { const b = document.getElementById('body');"
            f" b.value = {json.dumps(text[:-1])};"
            " b.dispatchEvent(new Event('input')); return true; })()"
        )
        app.type_text(text[-1])
        # The page times itself; asking it meanwhile would put work of the harness on
        # its thread and on Qt's (each poll is a script run) that no user's typing has.
        time.sleep((SAVE_DELAY_MS + QUIET_MS) / 1000)
        app.wait_for(f"window.__bench.renders > {before}", timeout=10)
        # Let anything else the save set off settle before the next run.
        time.sleep(0.3)
        bench = app.eval("window.__bench")
        save, suggest = bench["calls"]["save_note"], bench["calls"]["suggest"]
        # What showed is the answer to this text, not a late one to an earlier text.
        assert bench["lastInput"] < suggest[1] <= bench["shownAt"], bench
        if i >= WARM_UP:
            latencies.append(bench["shownAt"] - bench["lastInput"] - SAVE_DELAY_MS)
            frames.append(bench["frameAt"] - bench["lastInput"] - SAVE_DELAY_MS)
            for part, ms in (("save_ms", save[1] - save[0]),
                             ("embed_tag_ms", suggest[0] - save[1]),
                             ("suggest_call_ms", suggest[1] - suggest[0])):
                parts.setdefault(part, []).append(ms)
    return latencies, frames


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="margin-bench-suggest-") as tmp:
        data = Path(tmp) / "data"
        build_data(data, args.notes, args.tags)
        app = AppProcess(data)
        app.start(timeout=60)
        try:
            app.wait_for(READY_JS, timeout=120)
            app.wait_for("window.marginStats.personal.trainings >= 1", timeout=300, interval=0.2)
            personal = app.eval("window.marginStats.personal")
            app.wait_for("window.marginStats.suggestions.runs >= 1"
                         " && document.getElementById('suggest-progress').hidden",
                         timeout=300, interval=0.2)
            parts: dict[str, list[float]] = {}
            latencies, frames = measure_typing(app, args.runs, parts)
        finally:
            app.cleanup()

    print(
        f"personal head: {len(personal['labels'])} tags, {personal['examples']} notes,"
        f" {personal['lastTrainMs'] / 1000:.2f} s; keystroke to suggestions:"
        f" p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms"
        f" over {len(latencies)} runs",
        file=sys.stderr,
    )
    print(json.dumps({
        "suggest_p50_ms": round(statistics.median(latencies), 1),
        "suggest_p95_ms": round(percentile(latencies, 0.95), 1),
        "personal_train_s": round(personal["lastTrainMs"] / 1000, 3),
        "suggest_frame_p50_ms": round(statistics.median(frames), 1),
        "suggest_frame_p95_ms": round(percentile(frames, 0.95), 1),
        # Medians of the steps: the save's bridge call, from its answer to the
        # suggest call (embedding and tagging in the worker), and that call.
        **{f"{part}_p50": round(statistics.median(ms), 1) for part, ms in parts.items()},
        "runs": len(latencies),
        "notes": args.notes,
        "tags": len(personal["labels"]),
    }))


if __name__ == "__main__":
    main()
