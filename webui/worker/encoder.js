// The sentence encoder after tokenization: token ids -> rows of the uint8 token
// table, dequantised for just these ids -> TF.js graph model -> unit vectors.
// Mirrors ml/encoder.py (TokenTable) and ml/tokenize.py (chunking); the model
// folder is what ml/build_encoder.py writes.

const DIM = 512;
const BOS = 1;
const EOS = 2;
// Token rows per forward pass and rows per batch: enough to amortise the
// per-call overhead, small enough that a batch's tensors stay a few MB.
const BATCH_TOKENS = 4096;
const BATCH_ROWS = 64;

/**
 * Splits one [BOS, ..., EOS] id row into the fewest rows of at most maxTokens,
 * sizes as equal as possible (longer first), each with its own BOS/EOS.
 */
export function chunkIds(ids, maxTokens) {
  if (ids.length <= maxTokens) return [ids];
  const body = ids.subarray(1, ids.length - 1);
  const n = Math.ceil(body.length / (maxTokens - 2));
  const size = Math.floor(body.length / n);
  const extra = body.length % n;
  const rows = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = start + size + (i < extra ? 1 : 0);
    const row = new Int32Array(end - start + 2);
    row[0] = BOS;
    row.set(body.subarray(start, end), 1);
    row[row.length - 1] = EOS;
    rows.push(row);
    start = end;
  }
  return rows;
}

/** Groups row indices, sorted by length, into batches with little padding. */
function buckets(rows) {
  const order = rows.map((_, i) => i).sort((a, b) => rows[a].length - rows[b].length);
  const batches = [];
  let batch = [];
  for (const i of order) {
    // Sorted ascending, so this row is the longest: it sets the padded width.
    const full = batch.length === BATCH_ROWS
      || (batch.length > 0 && (batch.length + 1) * rows[i].length > BATCH_TOKENS);
    if (full) {
      batches.push(batch);
      batch = [];
    }
    batch.push(i);
  }
  if (batch.length) batches.push(batch);
  return batches;
}

class Encoder {
  constructor(tf, model, manifest, codes) {
    this.tf = tf;
    this.model = model;
    this.modelId = manifest.model_id;
    this.maxTokens = manifest.chunking.max_tokens;
    this.codes = codes;
    this.scale = Float64Array.from(manifest.table.scale);
    this.lo = Float64Array.from(manifest.table.lo);
    this.chunks = manifest.table.chunks;
    this.rowCount = manifest.table.rows;
  }

  /** Padded rows [B, T, 512] and mask [B, T] for id rows; zeros past each end. */
  gather(idRows) {
    const width = Math.max(...idRows.map((r) => r.length));
    const rows = new Float32Array(idRows.length * width * DIM);
    const mask = new Float32Array(idRows.length * width);
    idRows.forEach((ids, b) => {
      for (let t = 0; t < ids.length; t++) {
        const id = ids[t];
        if (!(id >= 0 && id < this.rowCount)) throw new RangeError(`token id ${id}`);
        const scale = this.scale[id % this.chunks];
        const lo = this.lo[id % this.chunks];
        const src = id * DIM;
        const dst = (b * width + t) * DIM;
        for (let k = 0; k < DIM; k++) rows[dst + k] = this.codes[src + k] * scale + lo;
        mask[b * width + t] = 1;
      }
    });
    return { rows, mask, width };
  }

  /** One unit vector per id row (rows of at most maxTokens), in order. */
  async embedRows(idRows) {
    const tf = this.tf;
    const out = new Array(idRows.length);
    for (const batch of buckets(idRows)) {
      const { rows, mask, width } = this.gather(batch.map((i) => idRows[i]));
      const inputs = {
        rows: tf.tensor3d(rows, [batch.length, width, DIM]),
        mask: tf.tensor2d(mask, [batch.length, width]),
      };
      const result = this.model.execute(inputs);
      const data = await result.data();
      tf.dispose([inputs.rows, inputs.mask, result]);
      batch.forEach((i, b) => { out[i] = data.slice(b * DIM, (b + 1) * DIM); });
    }
    return out;
  }

  /**
   * One unit vector per text's ids ([BOS, ..., EOS]): a long text is chunked,
   * its chunk vectors averaged and the mean L2-normalised (ml/tokenize.py).
   */
  async embedIds(idsList) {
    const owner = [];
    const rows = [];
    idsList.forEach((ids, i) => {
      for (const row of chunkIds(ids, this.maxTokens)) {
        owner.push(i);
        rows.push(row);
      }
    });
    const vectors = await this.embedRows(rows);
    const sums = idsList.map(() => new Float64Array(DIM));
    vectors.forEach((v, r) => {
      const sum = sums[owner[r]];
      for (let k = 0; k < DIM; k++) sum[k] += v[k];
    });
    return sums.map((sum) => {
      let norm = 0;
      for (let k = 0; k < DIM; k++) norm += sum[k] * sum[k];
      norm = Math.sqrt(norm);
      return Float32Array.from(sum, (x) => x / norm);
    });
  }
}

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response;
}

/**
 * Loads the encoder from a folder written by ml/build_encoder.py, with the
 * given tf namespace (its backend already chosen). Resolves to an Encoder.
 */
export async function loadEncoder(tf, folderUrl) {
  const folder = new URL(folderUrl, self.location.href);
  folder.pathname = folder.pathname.replace(/\/?$/, "/");
  const manifest = await (await fetchOk(new URL("manifest.json", folder))).json();
  const [model, table] = await Promise.all([
    tf.loadGraphModel(new URL(manifest.graph.file, folder).href),
    fetchOk(new URL(manifest.table.file, folder)).then((r) => r.arrayBuffer()),
  ]);
  const codes = new Uint8Array(table);
  if (codes.length !== manifest.table.rows * manifest.table.dim) {
    throw new Error(`${manifest.table.file}: ${codes.length} bytes, manifest says otherwise`);
  }
  const encoder = new Encoder(tf, model, manifest, codes);
  // The first run allocates and, on webgl, compiles; do it now, not on a keystroke.
  await encoder.embedRows([Int32Array.of(BOS, EOS)]);
  return encoder;
}
