// The sentence encoder after tokenization: token ids -> rows of the uint8 token
// table, dequantised for just these ids -> per-token features (tokens graph,
// remembered) -> first layer (here) -> sentences graph -> unit vectors.
// Mirrors ml/encoder.py (TokenTable, first_layer, Network) and ml/tokenize.py
// (chunking); the model folder is what ml/build_encoder.py writes.

const DIM = 512;
const CNN = 256;
const BOS = 1;
const EOS = 2;
// Token rows per forward pass and rows per batch: enough to amortise the
// per-call overhead, small enough that a batch's tensors stay a few MB.
const BATCH_TOKENS = 4096;
const BATCH_ROWS = 64;
// Token features are a function of the token id alone (ml/encoder.py), so the
// worker remembers them: a note costs only the layers that see its context.
// 4,096 tokens x 3,328 floats is 55 MB.
const MEMO_TOKENS = 4096;
const TOKENS_PER_RUN = 1024;

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
  constructor(tf, graphs, manifest, codes) {
    this.tf = tf;
    this.graphs = graphs;
    this.modelId = manifest.model_id;
    this.maxTokens = manifest.chunking.max_tokens;
    this.branches = manifest.branches;
    this.codes = codes;
    this.scale = Float64Array.from(manifest.table.scale);
    this.lo = Float64Array.from(manifest.table.lo);
    this.chunks = manifest.table.chunks;
    this.rowCount = manifest.table.rows;
    this.xDim = CNN * this.branches.length;
    // The token features' window slots in order: slot s of branch (width, left)
    // feeds position t from the token at t + s - left, into that branch's channels.
    this.slots = this.branches.flatMap(({ width, left }, branch) =>
      Array.from({ length: width }, (_, s) => ({ shift: s - left, channel: branch * CNN })));
    // Token features by id, least recently used first (a Map keeps insertion order).
    this.memo = new Map();
  }

  /** Writes the dequantised table row of `id` into out[offset ...]. */
  tableRow(id, out, offset) {
    if (!(id >= 0 && id < this.rowCount)) throw new RangeError(`token id ${id}`);
    const scale = this.scale[id % this.chunks];
    const lo = this.lo[id % this.chunks];
    const src = id * DIM;
    for (let k = 0; k < DIM; k++) out[offset + k] = this.codes[src + k] * scale + lo;
  }

  /** Makes sure every id of idRows has its token features in the memo. */
  async remember(idRows) {
    const missing = new Set();
    for (const ids of idRows) {
      for (const id of ids) {
        const known = this.memo.get(id);
        if (known) {
          this.memo.delete(id);
          this.memo.set(id, known);
        } else {
          missing.add(id);
        }
      }
    }
    const ids = [...missing];
    for (let start = 0; start < ids.length; start += TOKENS_PER_RUN) {
      const part = ids.slice(start, start + TOKENS_PER_RUN);
      const rows = new Float32Array(part.length * DIM);
      part.forEach((id, i) => this.tableRow(id, rows, i * DIM));
      const input = this.tf.tensor2d(rows, [part.length, DIM]);
      const output = this.graphs.tokens.execute(input);
      const data = await output.data();
      this.tf.dispose([input, output]);
      const size = data.length / part.length;
      part.forEach((id, i) => this.memo.set(id, data.slice(i * size, (i + 1) * size)));
    }
  }

  forgetOldest() {
    for (const id of this.memo.keys()) {
      if (this.memo.size <= MEMO_TOKENS) break;
      this.memo.delete(id);
    }
  }

  /**
   * The sentences graph's inputs for padded id rows: table rows [B, T, 512],
   * first-layer output h1 [B, T, 768] and mask [B, T]; zeros past each end.
   * As ml/encoder.py first_layer: position t of branch (width, left) sums slot
   * s of the token at t + s - left, in slot order, then h1 = x + relu(sum).
   */
  inputs(idRows) {
    const width = Math.max(...idRows.map((r) => r.length));
    const X = this.xDim;
    const rows = new Float32Array(idRows.length * width * DIM);
    const h1 = new Float32Array(idRows.length * width * X);
    const mask = new Float32Array(idRows.length * width);
    const sum = new Float32Array(width * X);
    const slots = this.slots;
    for (let b = 0; b < idRows.length; b++) {
      const ids = idRows[b];
      const n = ids.length;
      const feats = Array.from(ids, (id) => this.memo.get(id));
      sum.fill(0);
      for (let p = 0; p < slots.length; p++) {
        const { shift, channel } = slots[p];
        const from = X + p * CNN;
        for (let t = Math.max(0, -shift); t < Math.min(n, n - shift); t++) {
          const src = feats[t + shift];
          const dst = t * X + channel;
          for (let k = 0; k < CNN; k++) sum[dst + k] += src[from + k];
        }
      }
      for (let t = 0; t < n; t++) {
        const x = feats[t];
        const at = (b * width + t) * X;
        for (let k = 0; k < X; k++) h1[at + k] = x[k] + Math.max(sum[t * X + k], 0);
        this.tableRow(ids[t], rows, (b * width + t) * DIM);
        mask[b * width + t] = 1;
      }
    }
    return { rows, h1, mask, width };
  }

  /** One unit vector per id row (rows of at most maxTokens), in order. */
  async embedRows(idRows) {
    const tf = this.tf;
    const out = new Array(idRows.length);
    for (const batch of buckets(idRows)) {
      const batchRows = batch.map((i) => idRows[i]);
      await this.remember(batchRows);
      const { rows, h1, mask, width } = this.inputs(batchRows);
      const inputs = {
        rows: tf.tensor3d(rows, [batch.length, width, DIM]),
        h1: tf.tensor3d(h1, [batch.length, width, this.xDim]),
        mask: tf.tensor2d(mask, [batch.length, width]),
      };
      const result = this.graphs.sentences.execute(inputs);
      const data = await result.data();
      tf.dispose([...Object.values(inputs), result]);
      batch.forEach((i, b) => { out[i] = data.slice(b * DIM, (b + 1) * DIM); });
      this.forgetOldest();
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
  const [tokens, sentences, table] = await Promise.all([
    tf.loadGraphModel(new URL(manifest.graphs.tokens.file, folder).href),
    tf.loadGraphModel(new URL(manifest.graphs.sentences.file, folder).href),
    fetchOk(new URL(manifest.table.file, folder)).then((r) => r.arrayBuffer()),
  ]);
  const codes = new Uint8Array(table);
  if (codes.length !== manifest.table.rows * manifest.table.dim) {
    throw new Error(`${manifest.table.file}: ${codes.length} bytes, manifest says otherwise`);
  }
  const encoder = new Encoder(tf, { tokens, sentences }, manifest, codes);
  // The first run allocates and, on webgl, compiles; do it now, not on a keystroke.
  await encoder.embedRows([Int32Array.of(BOS, EOS)]);
  return encoder;
}
