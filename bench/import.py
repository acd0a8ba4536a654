"""An import end to end in the real app: parse, store, embed, suggest.

    .venv/bin/python bench/import.py [--notes N]

Writes N short notes (CLINC150 requests, one to three a note, with YAML front
matter) as Markdown files into a temporary folder, starts the app (offscreen Qt,
through tests/app/harness.py) on a fresh data folder, waits for its model, then
imports the folder through the page as the dialog does and watches the database
(read-only, beside the app) until every note has its vector and its kept tag
suggestions. Times count from the start of the import.

- import_s: until the import itself finished (parsed and stored).
- seconds_to_all_vectors, seconds_to_all_suggestions: until every note had one.
- notes_per_s: notes / the later of the two (end to end).
- ui_lag_p95_ms, ui_lag_max_ms: how late a 50 ms timer ran on the page's main
  thread meanwhile, which is about how long a keystroke waited to be handled.
Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop import paths  # noqa: E402
from tests.app.harness import AppProcess  # noqa: E402
from tests.app.indexing import MODEL_ID, MODEL_READY_JS  # noqa: E402

CLINC = ROOT.parent / "shared" / "data" / "clinc150" / "train.csv"
POLL_S = 0.25
LAG_TICK_MS = 50
LAG_JS = f"""(() => {{
  window.__lag = [];
  let last = performance.now();
  setInterval(() => {{
    const now = performance.now();
    window.__lag.push(Math.max(0, now - last - {LAG_TICK_MS}));
    last = now;
  }}, {LAG_TICK_MS});
  return true;
}})()"""


def write_notes(folder: Path, count: int) -> None:
    with CLINC.open(encoding="utf-8", newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    for i in range(count):
        parts = [texts[(i * 3 + k) % len(texts)] for k in range(1 + i % 3)]
        title = f"{i:05} " + " ".join(parts[0].split()[:4])
        (folder / f"{i:05}.md").write_text(
            f"---\ntitle: {json.dumps(title)}\ntags: [bench]\n---\n{' '.join(parts)}\n",
            encoding="utf-8",
        )


def counts(data: Path) -> tuple[int, int]:
    """(notes with a current vector, notes with kept tagger outputs for their text)."""
    uri = f"file:{paths.database_file(data)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
        vectors = conn.execute(
            "SELECT count(*) FROM embeddings AS e JOIN notes AS n ON n.id = e.note_id"
            " WHERE n.deleted IS NULL AND e.model_id = ? AND e.content_hash = n.content_hash",
            (MODEL_ID,),
        ).fetchone()[0]
        suggestions = conn.execute(
            "SELECT count(*) FROM tag_suggestions AS s JOIN notes AS n ON n.id = s.note_id"
            " WHERE n.deleted IS NULL AND s.content_hash = n.content_hash"
        ).fetchone()[0]
    return vectors, suggestions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to give up after")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="margin-bench-import-") as tmp:
        folder = Path(tmp) / "notes"
        folder.mkdir()
        write_notes(folder, args.notes)
        data = Path(tmp) / "data"
        with AppProcess(data) as app:
            app.wait_for(MODEL_READY_JS, timeout=120)
            app.eval(LAG_JS)
            started = time.monotonic()
            app.call_async(f"window.marginImport({json.dumps(str(folder))})")
            import_s = vectors_s = suggestions_s = None
            last_report = 0.0
            while suggestions_s is None or vectors_s is None:
                elapsed = time.monotonic() - started
                if elapsed > args.timeout:
                    raise SystemExit(f"gave up after {args.timeout:.0f} s")
                if import_s is None:
                    progress = app.call("import_progress")
                    if progress["state"] in ("done", "cancelled", "failed"):
                        import_s = elapsed
                        if progress["imported"] != args.notes:
                            raise SystemExit(f"imported {progress['imported']} of {args.notes}")
                with_vector, with_suggestions = counts(data)
                if vectors_s is None and with_vector >= args.notes:
                    vectors_s = elapsed
                if suggestions_s is None and with_suggestions >= args.notes:
                    suggestions_s = elapsed
                if elapsed - last_report >= 10:
                    last_report = elapsed
                    print(f"{elapsed:6.1f} s: vectors {with_vector}, suggestions "
                          f"{with_suggestions}", file=sys.stderr, flush=True)
                time.sleep(POLL_S)
            lag = sorted(app.eval("window.__lag"))
    end_to_end = max(vectors_s, suggestions_s)
    print(json.dumps({
        "notes": args.notes,
        "notes_per_s": round(args.notes / end_to_end, 1),
        "import_s": round(import_s, 2),
        "import_notes_per_s": round(args.notes / import_s, 1),
        "seconds_to_all_vectors": round(vectors_s, 2),
        "seconds_to_all_suggestions": round(suggestions_s, 2),
        "ui_lag_p95_ms": round(lag[min(len(lag) - 1, round(0.95 * (len(lag) - 1)))], 1),
        "ui_lag_max_ms": round(lag[-1], 1),
    }))


if __name__ == "__main__":
    main()
