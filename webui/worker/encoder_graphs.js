// The encoder's two graphs (ml/encoder.py build(): `tokens` and `sentences`),
// computed from the weights of their converted graph models: the products and
// convolutions by coded_products.js, the LayerNorms and the pooling in JS.
// Why not GraphModel.execute, nor TF.js ops: at one short note every op costs
// 5-20 µs besides its arithmetic (GraphModel adds ~17 µs more), and each reads
// its weights as float32, twice the bytes of the codes they ship in. The weights
// are found by their place in the converted topology, and a graph of another
// shape is refused.

import { CodedProducts } from "./coded_products.js";
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

/**
 * A weight of `model` as coded_products.js takes it, a matrix with the last
 * dimension as columns: its values and the 16-bit quantisation it was shipped
 * with. Its tensor is disposed: the products read the codes.
 */
function coded(model, tensor) {
  const [name] = Object.entries(model.weights).find(([, [t]]) => t === tensor);
  const spec = model.artifacts.weightSpecs.find((s) => s.name === name);
  const { dtype, scale, min } = found(`16-bit codes for ${name}`, spec?.quantization);
  if (dtype !== "uint16") throw new Error(`encoder graph: ${name} is ${dtype}, expected uint16 codes`);
  const N = tensor.shape.at(-1);
  const K = tensor.size / N;
  const weights = tensor.dataSync();
  tensor.dispose();
  return { weights, K, N, scale, min };
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

/** a, in place, with its negative values made 0. */
function relu(a) {
  for (let k = 0; k < a.length; k++) if (a[k] < 0) a[k] = 0;
  return a;
}

/** out's rows = [a's row, c's row], for `rows` rows. */
function sideBySide(out, a, c, rows) {
  const aw = a.length / rows;
  const cw = c.length / rows;
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * aw, (r + 1) * aw), r * (aw + cw));
    out.set(c.subarray(r * cw, (r + 1) * cw), r * (aw + cw) + aw);
  }
  return out;
}

/**
 * rows (Float32Array, n x 512) -> token features (n x 3328): x = LayerNorm(rows
 * @ W + b) (768), then per branch its share of x times the branch's slot weights.
 */
function tokensNet(model) {
  const nodes = nodesOf(model);
  const matmuls = nodes.filter((n) => n.op === "_FusedMatMul");
  const projection = found("projection", matmuls.find((n) => n.input[0] === "rows"));
  // Split outputs are "split", "split:1", ...: their index is the branch.
  const branch = (n) => Number(n.input[0].split(":")[1] ?? 0);
  const slots = matmuls.filter((n) => n !== projection).sort((a, b) => branch(a) - branch(b))
    .map((n) => ({ W: n.consts[1], bias: found(`bias of ${n.input[0]}`, n.consts[2]).dataSync() }));
  const [W, b] = projection.consts.slice(1).map((c, i) => found(`projection ${i}`, c));
  const bias = b.dataSync();
  const width = W.shape[1];
  const gain = found("LayerNorm gain", constantOf(nodes, "Mul", (c) => c.size === width)).dataSync();
  const offset = found("LayerNorm offset", constantOf(nodes, "AddV2", (c) => c.size === width)).dataSync();
  const eps = found("LayerNorm epsilon", constantOf(nodes, "AddV2", isScalar)).dataSync()[0];
  if (slots.length * CNN !== width) throw new Error(`encoder graph: ${slots.length} slot products`);
  const slotWidths = slots.map(({ W: s }) => s.shape[1]);
  const size = width + slotWidths.reduce((a, c) => a + c, 0);
  // Matrix 0 is the projection, 1 + j branch j's slots.
  const products = new CodedProducts([W, ...slots.map((slot) => slot.W)].map((t) => coded(model, t)), SCRATCH_ROWS);
  const scratch = new Scratch(SCRATCH_ROWS);
  const x = new Float32Array(width);
  // The features are valid until the next call.
  return (rows, n) => {
    const y = products.multiply(0, rows, n, scratch.zeros("y", n, width), bias);
    const out = scratch.zeros("out", n, size);
    const shares = slots.map((_, j) => scratch.zeros(`share ${j}`, n, CNN));
    for (let i = 0; i < n; i++) {
      layerNorm(y, i * width, gain, offset, eps, x);
      out.set(x, i * size);
      shares.forEach((share, j) => share.set(x.subarray(j * CNN, (j + 1) * CNN), i * CNN));
    }
    let from = width;
    slots.forEach((slot, j) => {
      const w = slotWidths[j];
      const part = products.multiply(1 + j, shares[j], n, scratch.zeros(`part ${j}`, n, w), slot.bias);
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
function sentencesNet(model) {
  const nodes = nodesOf(model);
  // Filters [1, width, 256, 256]: as matrices, row s * 256 + i is slot s, channel i.
  const convs = nodes.filter((n) => n.op === "_FusedConv2D").map((n) => ({
    input: n.input[0],
    filter: found(`filter of ${n.input[0]}`, n.consts[1]),
    bias: found(`bias of ${n.input[0]}`, n.consts[2]).dataSync(),
  }));
  const matrices = nodes.filter((n) => n.op === "MatMul").map((n) => n.consts[1]);
  const product = (rows, cols) =>
    found(`${rows}x${cols} product`, matrices.find((c) => c?.shape[0] === rows && c.shape[1] === cols));
  const eps = found("LayerNorm epsilon", constantOf(nodes, "AddV2", isScalar)).dataSync()[0];
  const features = DIM + CNN * convs.length;
  // The head (ml/encoder.py build()): pooled = a @ pool, with a the row
  // summed below; y0 = relu(pooled @ d0); y1 = relu([pooled, y0] @ p1d1);
  // y2 = relu(y1 @ d2); tanh([y1, y2] @ p3d3).
  const [pool, d0, p1d1, d2, p3d3] = [[features + 1, DIM], [DIM, 320], [DIM + 320, 320], [320, DIM],
    [320 + DIM, DIM]].map(([rows, cols]) => coded(model, product(rows, cols)));
  // TF's SAME padding: floor((width - 1) / 2) zero rows before, the rest after.
  const lefts = convs.map(({ filter }) => (filter.shape[1] - 1) >> 1);
  // Matrices 0-4 are the head's, 5 + i convolution i's.
  const products = new CodedProducts([pool, d0, p1d1, d2, p3d3, ...convs.map(({ filter }) => coded(model, filter))],
    SCRATCH_ROWS);
  const scratch = new Scratch(SCRATCH_ROWS);
  const acc = new Float64Array(features);
  const moments = new Float64Array(2);
  return ({ rows, lengths, width, ...h1 }) => {
    const B = lengths.length;
    const outs = convs.map(({ input, bias }, i) => {
      const out = scratch.zeros(`conv ${i}`, B * width, CNN);
      for (let b = 0; b < B; b++) {
        const at = b * width * CNN;
        products.convolve(5 + i, h1[input].subarray(at, at + lengths[b] * CNN), lengths[b], CNN, lefts[i],
          out.subarray(at, (b + 1) * width * CNN), bias);
      }
      return relu(out);
    });
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
    const pooled = products.multiply(0, total, B, scratch.zeros("pooled", B, DIM));
    const y0 = relu(products.multiply(1, pooled, B, scratch.zeros("y0", B, d0.N)));
    const h = sideBySide(scratch.zeros("h", B, p1d1.K), pooled, y0, B);
    const y1 = relu(products.multiply(2, h, B, scratch.zeros("y1", B, p1d1.N)));
    const y2 = relu(products.multiply(3, y1, B, scratch.zeros("y2", B, d2.N)));
    const g = sideBySide(scratch.zeros("g", B, p3d3.K), y1, y2, B);
    return products.multiply(4, g, B, scratch.zeros("out", B, DIM)).map(Math.tanh);
  };
}

/** {tokens(rows, n), sentences(inputs)}: typed arrays in, typed arrays out. */
export function encoderGraphs({ tokens, sentences }) {
  return { tokens: tokensNet(tokens), sentences: sentencesNet(sentences) };
}
