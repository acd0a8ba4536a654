// The encoder's two graphs (ml/encoder.py build(): `tokens` and `sentences`),
// computed from the weights of their converted graph models: the products and
// convolutions as TF.js ops, the LayerNorms and the pooling in JS.
// Why not GraphModel.execute, nor every node as an op: at one short note every
// TF.js op costs 5-20 µs besides its arithmetic (GraphModel adds ~17 µs more),
// and the normalisations are a few thousand multiply-adds per token, cheaper in
// a JS loop than as the ten ops that would compute them. The weights are found by
// their place in the converted topology, and a graph of another shape is refused.

import { Scratch } from "./scratch.js";

const CNN = 256;
const DIM = 512;
// Rows (new tokens, or notes) per call whose arrays come from kept buffers.
const SCRATCH_ROWS = 64;

/** The non-constant nodes of a graph model, each with its constant inputs (or undefined). */
function nodesOf(model) {
  const weight = (name) => model.weights[name.split(":")[0]]?.[0];
  return model.artifacts.modelTopology.node
    .filter((node) => node.op !== "Const")
    .map((node) => ({ ...node, input: node.input ?? [], consts: (node.input ?? []).map(weight) }));
}

function found(what, value) {
  if (!value) throw new Error(`encoder graph: no ${what}; rebuild with python -m ml.build_encoder`);
  return value;
}

const isScalar = (t) => t?.rank === 0;

/** The constant of the only node of `op` whose constant input satisfies `test`. */
function constantOf(nodes, op, test) {
  const hits = nodes.filter((n) => n.op === op).flatMap((n) => n.consts.filter((c) => c && test(c)));
  return hits.length === 1 ? hits[0] : undefined;
}

/** A tensor's values, then the tensor disposed. */
function take(tensor) {
  const data = tensor.dataSync();
  tensor.dispose();
  return data;
}

// The loops below run once per token in small functions: the webview's worker
// (Qt WebEngine 6.11) ran them 8-15x slower as long loops inside one call of a
// large function (a long note: LayerNorm pooling 71 ms against 4.6 ms), while
// small functions called per token are compiled early.

/** x = LayerNorm(y[at ...]) with gain and offset, in double precision; x: Float32Array. */
function layerNorm(y, at, gain, offset, eps, x) {
  const width = x.length;
  let sum = 0;
  for (let k = 0; k < width; k++) sum += y[at + k];
  const mean = sum / width;
  let squares = 0;
  for (let k = 0; k < width; k++) squares += (y[at + k] - mean) ** 2;
  const r = 1 / Math.sqrt(squares / width + eps);
  for (let k = 0; k < width; k++) x[k] = (y[at + k] - mean) * r * gain[k] + offset[k];
}

/** Sum and sum of squares of one token's features [row, h + conv] into out[0], out[1]. */
function tokenMoments(out, rows, row, his, outs, at) {
  let sum = 0;
  let squares = 0;
  for (let k = 0; k < DIM; k++) { const v = rows[row + k]; sum += v; squares += v * v; }
  for (let c = 0; c < outs.length; c++) {
    const h = his[c];
    const o = outs[c];
    for (let k = 0; k < CNN; k++) { const v = h[at + k] + o[at + k]; sum += v; squares += v * v; }
  }
  out[0] = sum;
  out[1] = squares;
}

/** acc += share * one token's features [row, h + conv]. */
function addScaled(acc, rows, row, his, outs, at, share) {
  for (let k = 0; k < DIM; k++) acc[k] += rows[row + k] * share;
  for (let c = 0; c < outs.length; c++) {
    const h = his[c];
    const o = outs[c];
    const to = DIM + c * CNN;
    for (let k = 0; k < CNN; k++) acc[to + k] += (h[at + k] + o[at + k]) * share;
  }
}

/**
 * rows (Float32Array, n x 512) -> token features (n x 3328): x = LayerNorm(rows
 * @ W + b) (768), then per branch its share of x times the branch's slot weights.
 */
function tokensNet(tf, model) {
  const nodes = nodesOf(model);
  const matmuls = nodes.filter((n) => n.op === "_FusedMatMul");
  const projection = found("projection", matmuls.find((n) => n.input[0] === "rows"));
  // Split outputs are "split", "split:1", ...: their index is the branch.
  const branch = (n) => Number(n.input[0].split(":")[1] ?? 0);
  const slots = matmuls.filter((n) => n !== projection).sort((a, b) => branch(a) - branch(b))
    .map((n) => ({ W: n.consts[1], bias: n.consts[2] }));
  const [W, b] = projection.consts.slice(1).map((c, i) => found(`projection ${i}`, c));
  const width = W.shape[1];
  const gain = found("LayerNorm gain", constantOf(nodes, "Mul", (c) => c.size === width)).dataSync();
  const offset = found("LayerNorm offset", constantOf(nodes, "AddV2", (c) => c.size === width)).dataSync();
  const eps = found("LayerNorm epsilon", constantOf(nodes, "AddV2", isScalar)).dataSync()[0];
  if (slots.length * CNN !== width) throw new Error(`encoder graph: ${slots.length} slot products`);
  const slotWidths = slots.map(({ W: s }) => s.shape[1]);
  const size = width + slotWidths.reduce((a, c) => a + c, 0);
  const scratch = new Scratch(SCRATCH_ROWS);
  const x = new Float32Array(width);
  // The features are valid until the next call.
  return (rows, n) => {
    const y = take(tf.tidy(() => tf.fused.matMul({ a: tf.tensor2d(rows, [n, W.shape[0]]), b: W, bias: b })));
    const out = scratch.zeros("out", n, size);
    const shares = slots.map((_, j) => scratch.zeros(`share ${j}`, n, CNN));
    for (let i = 0; i < n; i++) {
      layerNorm(y, i * width, gain, offset, eps, x);
      out.set(x, i * size);
      shares.forEach((share, j) => share.set(x.subarray(j * CNN, (j + 1) * CNN), i * CNN));
    }
    let from = width;
    slots.forEach(({ W: s, bias }, j) => {
      const part = take(tf.tidy(() => tf.fused.matMul({ a: tf.tensor2d(shares[j], [n, CNN]), b: s, bias })));
      const w = slotWidths[j];
      for (let i = 0; i < n; i++) out.set(part.subarray(i * w, (i + 1) * w), i * size + from);
      from += w;
    });
    return out;
  };
}

/**
 * The sentences graph: {rows, h1_2, h1_3, h1_5} (Float32Arrays in the padded
 * layout [B, width, C]) and each row's length -> [B x 512] (tanh, not yet unit):
 * second convolutions, features, LayerNorm pooled, head.
 */
function sentencesNet(tf, model) {
  const nodes = nodesOf(model);
  const convs = nodes.filter((n) => n.op === "_FusedConv2D").map((n) => ({
    input: n.input[0],
    filter: found(`filter of ${n.input[0]}`, n.consts[1]),
    bias: found(`bias of ${n.input[0]}`, n.consts[2]),
  }));
  const products = nodes.filter((n) => n.op === "MatMul").map((n) => n.consts[1]);
  const product = (rows, cols) =>
    found(`${rows}x${cols} product`, products.find((c) => c?.shape[0] === rows && c.shape[1] === cols));
  const eps = found("LayerNorm epsilon", constantOf(nodes, "AddV2", isScalar)).dataSync()[0];
  const features = DIM + CNN * convs.length;
  const pool = product(features + 1, 512);
  const d0 = product(512, 320);
  const p1d1 = product(512 + 320, 320);
  const d2 = product(320, 512);
  const p3d3 = product(320 + 512, 512);
  // The pooled vector (a @ pool, a: the row summed below) only feeds two
  // products, so pool is folded into them here, in float32: y0 = relu(a @ (pool
  // @ D0)) and a @ (pool @ P1). 820k weights to read per note instead of 984k.
  const [p1, d1] = tf.split(p1d1, [512, 320], 0);
  const f0 = tf.matMul(pool, d0);
  const f1 = tf.matMul(pool, p1);
  const [p3, d3] = tf.split(p3d3, [320, 512], 0);
  const scratch = new Scratch(SCRATCH_ROWS);
  const acc = new Float64Array(features);
  const moments = new Float64Array(2);
  return ({ rows, lengths, width, ...h1 }) => {
    const B = lengths.length;
    const outs = convs.map(({ input, filter, bias }) => take(tf.tidy(() => tf.fused.conv2d({
      x: tf.tensor4d(h1[input], [B, 1, width, CNN]), filter, strides: 1, pad: "same", bias, activation: "relu",
    }))));
    const his = convs.map(({ input }) => h1[input]);
    // Per token f = [row, h + conv] (1280), centred and scaled by its LayerNorm
    // and pooling weight, summed: sum_t s_t (f_t - m_t) = sum_t s_t f_t - sum_t s_t m_t.
    const total = scratch.zeros("total", B, features + 1);
    for (let b = 0; b < B; b++) {
      const n = lengths[b];
      acc.fill(0);
      let shifted = 0;
      for (let t = 0; t < n; t++) {
        const pos = b * width + t;
        tokenMoments(moments, rows, pos * DIM, his, outs, pos * CNN);
        const mean = moments[0] / features;
        // One pass in double precision; the max only guards rounding below zero.
        const variance = Math.max(moments[1] / features - mean * mean, 0);
        const share = 1 / Math.sqrt(variance + eps) / Math.sqrt(n);
        shifted += mean * share;
        addScaled(acc, rows, pos * DIM, his, outs, pos * CNN, share);
      }
      const at = b * (features + 1);
      for (let k = 0; k < features; k++) total[at + k] = acc[k] - shifted;
      total[at + features] = Math.sqrt(n);
    }
    return take(tf.tidy(() => {
      const a = tf.tensor2d(total, [B, features + 1]);
      const y0 = tf.fused.matMul({ a, b: f0, activation: "relu" });
      const y1 = tf.relu(tf.add(tf.matMul(a, f1), tf.matMul(y0, d1)));
      const y2 = tf.fused.matMul({ a: y1, b: d2, activation: "relu" });
      return tf.tanh(tf.add(tf.matMul(y1, p3), tf.matMul(y2, d3)));
    }));
  };
}

/** {tokens(rows, n), sentences(inputs)}: typed arrays in, typed arrays out. */
export function encoderGraphs(tf, { tokens, sentences }) {
  return { tokens: tokensNet(tf, tokens), sentences: sentencesNet(tf, sentences) };
}
