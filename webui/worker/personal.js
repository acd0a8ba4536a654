// The personal head: a tagger for the user's own tags, trained in the worker with
// TF.js on the vectors of the notes they tagged (desktop/personal.py says which
// notes teach it what). Multi-label: one sigmoid per tag, so a note can get
// several. It is logistic regression on the 512-d note vectors: convex, so the
// same examples give the same weights (they start at zero); a few notes per tag
// give more layers little to learn from; and it trains in about a second for a
// thousand notes.
//
// A tagged note is a positive example of its tags and a negative one of the
// others; a rejected suggestion is a negative example of that tag for that note,
// weighing REJECTED_WEIGHT; everyday texts (background_notes.js) are negative
// examples of every tag, weighing BACKGROUND_WEIGHT. Each tag's loss is the
// weighted mean over its examples.
//
// Chosen with ml.embed's vectors and a numpy replica of this training, on CLINC150
// intents standing in for users' tags (val texts of the tagged intents, and of
// other intents plus out-of-scope ones), at THRESHOLD: with 2 tags of 3 notes
// each, 91% of notes on a tagged intent get its tag and 9% of other notes get
// one (100% without the background notes); with 20 tags of 3 notes, 51% and
// 2.5%; of 8 notes, 74% and 6%. 100 epochs at 0.1 scored as 200 at 0.05.

export const DIM = 512;
// A tag is suggested from this probability on.
export const THRESHOLD = 0.6;
export const REJECTED_WEIGHT = 2;
export const BACKGROUND_WEIGHT = 0.5;
const LEARNING_RATE = 0.1;
const L2 = 1e-4;
const EPOCHS = 100;

/**
 * A trained head: {signature, labels, weights}, weights being Float32Array of the
 * [512, K] matrix row by row and then the K biases (as desktop/personal.py keeps it).
 * Runs in plain JS: K dot products per note cost microseconds, less than a tensor.
 */
export class PersonalHead {
  constructor({ signature, labels, weights }) {
    const k = labels.length;
    if (weights.length !== (DIM + 1) * k) {
      throw new RangeError(`personal head: ${weights.length} weights for ${k} labels`);
    }
    this.signature = signature;
    this.labels = labels;
    this.weights = weights;
  }

  /** The K tag probabilities of one vector. */
  probabilities(vector) {
    const k = this.labels.length;
    const w = this.weights;
    const logits = Float64Array.from(w.subarray(DIM * k));
    for (let d = 0; d < DIM; d++) {
      const x = vector[d];
      const row = d * k;
      for (let j = 0; j < k; j++) logits[j] += x * w[row + j];
    }
    return logits.map((z) => 1 / (1 + Math.exp(-z)));
  }

  /** Per vector, [{tag, confidence}] at or above THRESHOLD, most confident first. */
  suggest(vectors) {
    return vectors.map((vector) => {
      const picked = [];
      this.probabilities(vector).forEach((p, j) => {
        if (p >= THRESHOLD) picked.push({ tag: this.labels[j], confidence: p });
      });
      return picked.sort((a, b) => b.confidence - a.confidence);
    });
  }
}

/**
 * Targets and loss weights, [rows, K] row by row, for the examples (as
 * desktop/personal.py lists them: {positive, rejected, tagged}) followed by
 * `background` rows of everyday texts. Each tag's weights sum to 1.
 */
export function trainingTargets(k, examples, background) {
  const rows = examples.length + background;
  const targets = new Float32Array(rows * k);
  const weights = new Float32Array(rows * k);
  examples.forEach((example, i) => {
    const row = i * k;
    // A tagged note tells about every tag; an untagged one only about its rejections.
    if (example.tagged) weights.fill(1, row, row + k);
    for (const j of example.rejected) weights[row + j] = REJECTED_WEIGHT;
    for (const j of example.positive) {
      targets[row + j] = 1;
      weights[row + j] = 1;
    }
  });
  weights.fill(BACKGROUND_WEIGHT, examples.length * k);
  const sums = new Float64Array(k);
  weights.forEach((w, i) => { sums[i % k] += w; });
  weights.forEach((w, i) => { weights[i] = sums[i % k] > 0 ? w / sums[i % k] : 0; });
  return { targets, weights };
}

/**
 * One training of a head, run a slice at a time (step) so that other work in
 * the worker goes in between. run: {signature, labels, examples}; vectors: the
 * examples' vectors in order; background: the everyday texts' vectors.
 */
export class Training {
  constructor(tf, run, vectors, background) {
    const k = run.labels.length;
    const rows = vectors.length + background.length;
    const x = new Float32Array(rows * DIM);
    [...vectors, ...background].forEach((v, i) => x.set(v, i * DIM));
    const { targets, weights } = trainingTargets(k, run.examples, background.length);
    this.tf = tf;
    this.run = run;
    this.epoch = 0;
    this.x = tf.tensor2d(x, [rows, DIM]);
    this.xt = tf.transpose(this.x);
    this.y = tf.tensor2d(targets, [rows, k]);
    this.m = tf.tensor2d(weights, [rows, k]);
    this.w = tf.variable(tf.zeros([DIM, k]));
    this.b = tf.variable(tf.zeros([k]));
    this.optimizer = tf.train.adam(LEARNING_RATE);
  }

  get done() {
    return this.epoch >= EPOCHS;
  }

  /** Trains for about `budgetMs` (one epoch at least); returns the share done. */
  step(budgetMs) {
    const { tf } = this;
    const until = performance.now() + budgetMs;
    do {
      // The gradient of the weighted cross-entropy (plus L2 on the weights), written
      // out: TF.js's own goes through a product with a transposed operand, which the
      // wasm backend runs some 15x slower than the same product on x transposed once.
      tf.tidy(() => {
        const p = tf.sigmoid(tf.add(tf.matMul(this.x, this.w), this.b));
        const g = tf.mul(this.m, tf.sub(p, this.y));
        this.optimizer.applyGradients({
          [this.w.name]: tf.add(tf.matMul(this.xt, g), tf.mul(L2, this.w)),
          [this.b.name]: tf.sum(g, 0),
        });
      });
      this.epoch += 1;
    } while (!this.done && performance.now() < until);
    return this.epoch / EPOCHS;
  }

  /** The trained head; frees the training's tensors. */
  finish() {
    const k = this.run.labels.length;
    const weights = new Float32Array((DIM + 1) * k);
    weights.set(this.w.dataSync());
    weights.set(this.b.dataSync(), DIM * k);
    this.dispose();
    return new PersonalHead({ signature: this.run.signature, labels: this.run.labels, weights });
  }

  dispose() {
    this.tf.dispose([this.x, this.xt, this.y, this.m, this.w, this.b]);
    this.optimizer.dispose();
  }
}
