// The default tagger: note vectors (from encoder.js) -> tag suggestions. The
// folder is what ml/convert.py writes: model.json + shards, a graph model from
// float32 vectors [B, 512] to tag probabilities [B, K], and tagger.json with
// the K labels, the tuned "no tag" threshold and the encoder it was trained on.
// Mirrors ml/train.py's suggest().

const DIM = 512;

class Tagger {
  constructor(tf, model, meta) {
    this.tf = tf;
    this.model = model;
    this.labels = meta.labels;
    this.threshold = meta.threshold;
    // Names this tagger in stored suggestions, so a new tagger makes them stale.
    this.id = meta.graph_sha256.slice(0, 12);
    this.encoderModelId = meta.encoder_model_id;
  }

  /** Tag probabilities, one Float32Array of K per vector (each vector 512 numbers). */
  async probabilities(vectors) {
    if (!vectors.length) return [];
    const flat = new Float32Array(vectors.length * DIM);
    vectors.forEach((v, i) => {
      if (v?.length !== DIM) throw new RangeError(`vector ${i}: length ${v?.length}, not ${DIM}`);
      flat.set(v, i * DIM);
    });
    const input = this.tf.tensor2d(flat, [vectors.length, DIM]);
    const output = this.model.execute(input);
    const data = await output.data();
    this.tf.dispose([input, output]);
    const k = this.labels.length;
    if (output.shape[1] !== k) {
      throw new Error(`tagger: model gives ${output.shape[1]} outputs for ${k} labels`);
    }
    return vectors.map((_, i) => data.slice(i * k, (i + 1) * k));
  }

  /**
   * Per vector, the tags whose probability reaches the threshold, most
   * confident first: [[{tag, confidence}], ...]. An empty list is "no tag".
   */
  async suggest(vectors) {
    return (await this.probabilities(vectors)).map((row) => {
      const picked = [];
      row.forEach((p, i) => {
        if (p >= this.threshold) picked.push({ tag: this.labels[i], confidence: p });
      });
      return picked.sort((a, b) => b.confidence - a.confidence);
    });
  }
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/**
 * Loads the tagger in folder baseUrl with the given tf namespace (its backend
 * already chosen). Resolves to {id, labels, threshold, encoderModelId,
 * probabilities(vectors), suggest(vectors)}; both methods return promises.
 */
export async function loadTagger(baseUrl, tf) {
  const folder = new URL(baseUrl, self.location.href);
  folder.pathname = folder.pathname.replace(/\/?$/, "/");
  const [meta, model] = await Promise.all([
    fetchJson(new URL("tagger.json", folder)),
    tf.loadGraphModel(new URL("model.json", folder).href),
  ]);
  const tagger = new Tagger(tf, model, meta);
  // The first run allocates (and checks the output width against the labels):
  // do it now, not on a keystroke.
  await tagger.probabilities([new Float32Array(DIM)]);
  return tagger;
}
