"""Size and start-up of the double-clickable package (build it first: make package).

    .venv/bin/python bench/package.py [--dist dist] [--runs 5]

bundle_mb: the files in dist/Margin (MB = 10^6 bytes; bundle_mib as du -sh counts);
targz_mb: dist/Margin-*.tar.gz. Each run starts dist/Margin/Margin, offscreen, on a new
data dir and times, from the launch as seen by this process: cold_start_s until the
UI is usable (body[data-ready], as bench/startup.py), models_ready_s until the encoder
and the tagger are loaded in the page's worker ("Model ready"). Prints one JSON
object (medians) as its last line.
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
from tests.app.indexing import MODEL_READY_JS  # noqa: E402


def folder_bytes(folder: Path) -> int:
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    executable = args.dist / "Margin" / "Margin"
    archives = sorted(args.dist.glob("Margin-*.tar.gz"))
    if not executable.is_file() or not archives:
        print(f"no package in {args.dist}: run `make package` first", file=sys.stderr)
        return 1
    bundle = folder_bytes(args.dist / "Margin")

    cold: list[float] = []
    models: list[float] = []
    with tempfile.TemporaryDirectory(prefix="margin-bench-") as scratch:
        for run in range(args.runs):
            app = AppProcess(Path(scratch) / f"run{run}", command=[str(executable)])
            try:
                app.start(timeout=60)
                cold.append(app.ready_after_s)
                app.wait_for(MODEL_READY_JS, timeout=60, interval=0.01)
                models.append(time.monotonic() - app.started_at)
            finally:
                app.cleanup()
            print(f"run {run + 1}: usable {cold[-1]:.3f} s, models {models[-1]:.3f} s", flush=True)

    print(
        json.dumps(
            {
                "bundle_mb": round(bundle / 1e6, 1),
                "bundle_mib": round(bundle / 2**20, 1),
                "targz_mb": round(archives[-1].stat().st_size / 1e6, 1),
                "cold_start_s": round(statistics.median(cold), 3),
                "models_ready_s": round(statistics.median(models), 3),
                "runs": args.runs,
                "cold_all_s": [round(x, 3) for x in cold],
                "models_all_s": [round(x, 3) for x in models],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
