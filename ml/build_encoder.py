"""Build the encoder the webview runs: `python -m ml.build_encoder [--force]`.

Writes webui/models/use/: table.bin (the token table's codes, each row Huffman-coded
on its own: ml/table_codec.py), sp.model, tokens/ and sentences/ (TF.js graph models
of ml.encoder's two graphs: model.json + weight shards), and manifest.json last.
Returns at once when the manifest already describes the current sources and
settings; TensorFlow is imported only for a real build.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from ml import encoder, table_codec, tokenize

# tensorflowjs imports tensorflow_decision_forests, whose welcome banner imports
# IPython whenever stdout is not a terminal (pytest, pipes) and fails without it.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "webui" / "models" / "use"
# Every dense weight as 2-byte affine codes. Measured min cosine to the float
# model on the check texts: uint16 0.9999998, float16 0.9999992 (same size), uint8
# 0.992 (and uint8 on any single one of the large matrices alone already costs
# up to 5e-3), so two bytes it is.
QUANTIZATION = "uint16"
GRAPHS = ("tokens", "sentences")
# The files' layout and the graphs' inputs and outputs, which encoder.js reads.
# Not part of the model id (encoder.VERSION is: the vectors): bump this when the
# graphs change shape but not their vectors, so the set-up rebuilds the folder
# and the tagger trained on those vectors stays current. 3: the Huffman-coded table.
LAYOUT = 3
MIN_COSINE = 0.9999
TOOLS = ("tensorflow", "tensorflowjs", "sentencepiece", "numpy")


def settings() -> dict:
    """Everything besides the source files that decides the vectors."""
    return {
        "encoder_version": encoder.VERSION,
        "graph_weights": QUANTIZATION,
        "max_tokens": tokenize.MAX_TOKENS,
    }


def model_id(source_sha256: dict[str, str]) -> str:
    blob = json.dumps({"source": source_sha256, "settings": settings()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def shipped_dense(dense: dict[str, np.ndarray]) -> encoder.HeldDense:
    """The dense weights, marked to run with every graph weight made from them
    (encoder.graph_weights: concatenated, folded) as TF.js holds it after
    dequantising the shards."""
    from tensorflowjs.quantization import QUANTIZATION_OPTION_TO_DTYPES as DTYPES
    from tensorflowjs.quantization import dequantize_weights, quantize_weights

    def round_trip(a: np.ndarray) -> np.ndarray:
        # dequantize_weights computes codes * scale + min in float64 and rounds to
        # float32 once, as tfjs does with doubles written into a Float32Array.
        return dequantize_weights(*quantize_weights(a, DTYPES[QUANTIZATION]))

    return encoder.HeldDense(dense, round_trip)


def listed_files(out: Path) -> dict[str, int]:
    """Every file under `out` but the manifest, by relative path, with its size."""
    return {f.relative_to(out).as_posix(): f.stat().st_size for f in sorted(out.rglob("*"))
            if f.is_file() and f.name != "manifest.json"}


def is_current(expected_id: str, out: Path = OUT) -> bool:
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("model_id") != expected_id or manifest.get("layout") != LAYOUT:
        return False
    return all((out / name).is_file() and (out / name).stat().st_size == size
                for name, size in manifest.get("files", {}).items())


def check_texts() -> list[str]:
    """A few sentences per language from SIB-200 dev, plus short and odd ones."""
    import csv

    texts = ["", "a", "ok", "Buy milk", "Meeting at 10:30 with Ana 🙂", "x" * 300]
    for tsv in sorted((ROOT.parent / "shared" / "data" / "sib200").glob("*/dev.tsv")):
        with tsv.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:6]
        texts += [row[2] for row in rows]
    return texts


def min_cosine(src: encoder.Source, dense: dict[str, np.ndarray], texts: list[str]) -> float:
    id_rows = [tokenize.encode(t) for t in texts]
    ref = encoder.Network(src.table, src.dense, src.eps)(id_rows)
    got = encoder.Network(src.table, dense, src.eps)(id_rows)
    return float((ref * got).sum(axis=1).min())


def table_file(codes: np.ndarray) -> table_codec.EncodedTable:
    """The token table's file, decoded back and compared before it is written."""
    table = table_codec.encode(codes, encoder.TABLE_CHUNKS)
    decoded = table_codec.decode(table.data, table.lengths, *codes.shape)
    if not np.array_equal(decoded, codes):
        raise RuntimeError("the token table does not decode to its codes")
    return table


class Progress:
    def __init__(self, steps: int) -> None:
        self.steps, self.step, self.t0 = steps, 0, time.monotonic()

    def __call__(self, what: str) -> None:
        self.step += 1
        elapsed = time.monotonic() - self.t0
        print(f"[build_encoder] {self.step}/{self.steps} {what} ({elapsed:.1f}s)", flush=True)


def build(sha: dict[str, str], out: Path = OUT) -> dict:
    """Build from the checked source files whose hashes are `sha`."""
    progress = Progress(6)
    mid = model_id(sha)

    progress("importing TensorFlow")
    import tensorflow as tf
    from tensorflowjs.converters.tf_saved_model_conversion_v2 import convert_tf_saved_model

    progress("loading weights.npz")
    src = encoder.load_source()
    progress(f"checking {QUANTIZATION} weights against float32")
    fidelity = min_cosine(src, shipped_dense(src.dense), check_texts())
    if fidelity < MIN_COSINE:
        raise RuntimeError(f"{QUANTIZATION} weights: min cosine {fidelity:.6f} < {MIN_COSINE}")

    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)
    # Staged under build/ (git-ignored, same file system as webui/ for os.replace).
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="use-", dir=ROOT / "build") as tmp:
        stage = Path(tmp)
        progress("exporting the SavedModel")
        module = encoder.build(src.dense, src.eps)
        tf.saved_model.save(module, str(stage / "saved_model"),
                            signatures={name: getattr(module, name) for name in GRAPHS})
        progress(f"converting to TF.js graph models ({QUANTIZATION} weights)")
        files = stage / "files"
        for name in GRAPHS:
            convert_tf_saved_model(str(stage / "saved_model"), str(files / name),
                                   signature_def=name,
                                   quantization_dtype_map={QUANTIZATION: True})
        progress("writing the token table and sp.model")
        table = table_file(src.table.codes)
        (files / "table.bin").write_bytes(table.data)
        shutil.copyfile(encoder.source_dir() / "sp.model", files / "sp.model")
        for old in out.iterdir():
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink()
        for f in files.iterdir():
            os.replace(f, out / f.name)

    manifest = {
        "model_id": mid,
        "layout": LAYOUT,
        "source": {"package": encoder.SOURCE_PACKAGE, "version": encoder.SOURCE_VERSION,
                   "sha256": sha},
        "tools": {"python": platform.python_version(), **{t: version(t) for t in TOOLS}},
        "settings": settings(),
        "quantization": {"graph_weights": QUANTIZATION, "min_cosine_vs_float32": fidelity,
                         "token_table": "6-bit codes; row r = code * scale[r % 17] + lo[r % 17]"},
        "table": {"file": "table.bin", "format": table_codec.FORMAT,
                  "layout": "uint32 little-endian bit offset per row, then each row's "
                            "codewords (canonical Huffman, one code per chunk) most "
                            f"significant bit first, then {table_codec.PAD} zero bytes",
                  "rows": int(src.table.codes.shape[0]), "dim": encoder.EMB_DIM,
                  "chunks": encoder.TABLE_CHUNKS, "bytes": len(table.data),
                  "max_code_bits": table_codec.MAX_BITS,
                  "code_lengths": table.lengths.tolist(),
                  "codes_sha256": table_codec.codes_sha256(src.table.codes),
                  "scale": src.table.scale.tolist(), "lo": src.table.lo.tolist()},
        "tokenizer": {"file": "sp.model", "bos": tokenize.BOS, "eos": tokenize.EOS},
        "chunking": {"max_tokens": tokenize.MAX_TOKENS,
                     "policy": "fewest equal chunks of at most max_tokens ids with BOS/EOS "
                               "each; mean of chunk vectors, L2-normalised"},
        "graphs": {
            "tokens": {"file": "tokens/model.json", "inputs": {"rows": "float32 [N, 512]"},
                       "output": f"float32 [N, {encoder.TOKEN_DIM}]: x (768), then 10 slots "
                                 "x 256 (branch 2: 2 slots, 3: 3, 5: 5)"},
            "sentences": {"file": "sentences/model.json",
                          "inputs": {"rows": "float32 [B, 1, T, 512]",
                                     **{f"h1_{n}": "float32 [B, 1, T, 256]"
                                        for n, _ in encoder.BRANCHES},
                                     "weight": "float32 [B, 1, T, 1]: mask / sqrt(n)",
                                     "root": "float32 [B, 1]: sqrt(n)"},
                          "output": "float32 [B, 512], to be L2-normalised"},
        },
        "branches": [{"width": n, "left": left} for n, left in encoder.BRANCHES],
        "files": listed_files(out),
    }
    tmp_manifest = out / "manifest.json.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp_manifest, out / "manifest.json")
    print(f"[build_encoder] done: model_id {mid} in {out}", flush=True)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when current")
    args = parser.parse_args(argv)
    sha = encoder.check_source()
    mid = model_id(sha)
    if not args.force and is_current(mid):
        print(f"[build_encoder] webui/models/use is current (model_id {mid})")
        return 0
    build(sha)
    return 0


if __name__ == "__main__":
    sys.exit(main())
