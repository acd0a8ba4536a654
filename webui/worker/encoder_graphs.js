// The encoder's two graphs (ml/encoder.py build(): `tokens` and `sentences`)
// run as TF.js ops on the weights of their converted graph models.
// GraphModel.execute costs about 17 µs per node on top of the ops themselves:
// measured 0.5 ms of a 3.3 ms short note for the 35-node sentences graph, the
// ops alone giving the same numbers bit for bit. The weights are found by their
// place in the converted topology, and a graph of another shape is refused.

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
 * rows [N, 512] -> token features [N, 3328]: x = LayerNorm(rows @ W + b), then
 * per branch its share of x times the branch's slot weights.
 */
function tokensNet(tf, model) {
  const nodes = nodesOf(model);
  const matmuls = nodes.filter((n) => n.op === "_FusedMatMul");
  const projection = found("projection", matmuls.find((n) => n.input[0] === "rows"));
  // Split outputs are "split", "split:1", ...: their index is the branch.
  const branch = (n) => Number(n.input[0].split(":")[1] ?? 0);
  const slots = matmuls.filter((n) => n !== projection).sort((a, b) => branch(a) - branch(b));
  const [W, b] = projection.consts.slice(1).map((c, i) => found(`projection ${i}`, c));
  const width = W.shape[1];
  const gain = found("LayerNorm gain", constantOf(nodes, "Mul", (c) => c.size === width));
  const offset = found("LayerNorm offset", constantOf(nodes, "AddV2", (c) => c.size === width));
  const eps = found("LayerNorm epsilon", constantOf(nodes, "AddV2", isScalar));
  if (slots.length !== 3) throw new Error(`encoder graph: ${slots.length} slot products, not 3`);
  return (rows) => tf.tidy(() => {
    const y = tf.fused.matMul({ a: rows, b: W, bias: b });
    const centred = tf.sub(y, tf.mean(y, -1, true));
    const scale = tf.mul(gain, tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps)));
    const x = tf.add(tf.mul(scale, centred), offset);
    const parts = tf.split(x, slots.length, 1).map((share, i) =>
      tf.fused.matMul({ a: share, b: slots[i].consts[1], bias: slots[i].consts[2] }));
    return tf.concat([x, ...parts], 1);
  });
}

/**
 * {rows, h1_2, h1_3, h1_5, weight, root} (encoder.js inputs()) -> [B, 512], not
 * yet L2-normalised: second convolutions, LayerNorm pooled, head.
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
  const eps = found("LayerNorm epsilon", constantOf(nodes, "AddV2", isScalar));
  const features = 512 + 256 * convs.length;
  const pool = product(features + 1, 512);
  const d0 = product(512, 320);
  const p1d1 = product(512 + 320, 320);
  const d2 = product(320, 512);
  const p3d3 = product(320 + 512, 512);
  return (inputs) => tf.tidy(() => {
    const parts = [inputs.rows, ...convs.map(({ input, filter, bias }) => {
      const h = inputs[input];
      return tf.add(h, tf.fused.conv2d({ x: h, filter, strides: 1, pad: "same", bias, activation: "relu" }));
    })];
    const f = tf.concat(parts, -1);
    const centred = tf.sub(f, tf.mean(f, -1, true));
    const share = tf.mul(tf.rsqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps)), inputs.weight);
    const total = tf.sum(tf.mul(centred, share), [1, 2]);
    const pooled = tf.matMul(tf.concat([total, inputs.root], 1), pool);
    const y0 = tf.relu(tf.matMul(pooled, d0));
    const y1 = tf.relu(tf.matMul(tf.concat([pooled, y0], 1), p1d1));
    const y2 = tf.relu(tf.matMul(y1, d2));
    return tf.tanh(tf.matMul(tf.concat([y1, y2], 1), p3d3));
  });
}

/** {tokens(rows), sentences(inputs)}: each returns a tensor the caller disposes. */
export function encoderGraphs(tf, { tokens, sentences }) {
  return { tokens: tokensNet(tf, tokens), sentences: sentencesNet(tf, sentences) };
}
