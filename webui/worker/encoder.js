// The sentence encoder after tokenization: token ids -> rows of the token table
// (token_table.js), decoded for just these ids -> per-token features (tokens graph,
// remembered) -> first layer (here) -> sentences graph -> unit vectors. The
// graphs are JS loops and the wasm kernels of coded_products.js (encoder_graphs.js).
// Mirrors ml/encoder.py (TokenTable, first_layer, Network) and ml/tokenize.py
// (chunking); the model folder is what ml/build_encoder.py writes.

import { encoderGraphs } from "./encoder_graphs.js";
import { Scratch } from "./scratch.js";
import { TokenTable } from "./token_table.js";

const DIM = 512;
const CNN = 256;
// ml/build_encoder.py LAYOUT: the graphs' inputs and outputs this file feeds.
const LAYOUT = 3;
const BOS = 1;
const EOS = 2;
// Token rows per forward pass and rows per batch: enough to amortise the
// per-call overhead, small enough that a batch's tensors stay a few MB.
const BATCH_TOKENS = 4096;
const BATCH_ROWS = 64;
// Token features are a function of the token id alone (ml/encoder.py), so the
// worker remembers them: a note costs only the layers that see its context.
// Each keeps its table row too (3,328 + 512 floats): 4,096 tokens are 63 MB.
const MEMO_TOKENS = 4096;
const TOKENS_PER_RUN = 1024;
// Padded tokens per batch (or new tokens per run) whose arrays are built in kept
// buffers (scratch.js): every short note; 1.8 MB kept.
const SCRATCH_TOKENS = 256;

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

/** v / |v| as a new Float32Array, computed in double precision (ml/encoder.py unit_rows). */
function unit(v) {
  let norm = 0;
  for (let k = 0; k < v.length; k++) norm += v[k] * v[k];
  norm = Math.sqrt(norm);
  const out = new Float32Array(v.length);
  for (let k = 0; k < v.length; k++) out[k] = v[k] / norm;
  return out;
}

/**
 * h1 of one branch at position t into out[at ...]: x + relu(the sum of slot s of
 * the token at t + s - left, over the slots whose token is inside the row, in
 * slot order). One call per position: the webview's worker compiles small
 * functions called often early, and ran this as one long loop several times slower.
 */
function firstLayerAt(out, at, feats, t, slots, left, from, channel, sum) {
  sum.fill(0);
  for (let s = 0; s < slots; s++) {
    const u = t + s - left;
    if (u < 0 || u >= feats.length) continue;
    const src = feats[u];
    const slot = from + s * CNN;
    for (let k = 0; k < CNN; k++) sum[k] += src[slot + k];
  }
  const x = feats[t];
  for (let k = 0; k < CNN; k++) out[at + k] = x[channel + k] + Math.max(sum[k], 0);
}

class Encoder {
  constructor(graphs, manifest, table) {
    this.graphs = graphs;
    this.modelId = manifest.model_id;
    this.maxTokens = manifest.chunking.max_tokens;
    this.branches = manifest.branches;
    this.table = table;
    this.xDim = CNN * this.branches.length;
    // Token features by id, least recently used first (a Map keeps insertion order).
    this.memo = new Map();
    this.scratch = new Scratch(SCRATCH_TOKENS);
    this.sum = new Float32Array(CNN);
  }

  /** Makes sure every id of idRows has its token features in the memo. */
  remember(idRows) {
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
      const rows = this.scratch.zeros("table rows", part.length, DIM);
      part.forEach((id, i) => this.table.row(id, rows, i * DIM));
      const data = this.graphs.tokens(rows, part.length);
      const size = data.length / part.length;
      // The table row rides along: inputs() needs it for every token of every note.
      part.forEach((id, i) => {
        const entry = new Float32Array(size + DIM);
        entry.set(data.subarray(i * size, (i + 1) * size));
        entry.set(rows.subarray(i * DIM, (i + 1) * DIM), size);
        this.memo.set(id, entry);
      });
    }
  }

  forgetOldest() {
    for (const id of this.memo.keys()) {
      if (this.memo.size <= MEMO_TOKENS) break;
      this.memo.delete(id);
    }
  }

  /**
   * The sentences graph's inputs for padded id rows (ml/encoder.py
   * sentence_inputs): table rows [B, T, 512], the first layer's output h1 per
   * branch [B, T, 256] (zeros past each end) and each row's length.
   * As ml/encoder.py first_layer: position t of branch (width, left) sums slot
   * s of the token at t + s - left, in slot order, then h1 = x + relu(sum).
   */
  inputs(idRows) {
    const width = Math.max(...idRows.map((r) => r.length));
    const B = idRows.length;
    const X = this.xDim;
    const rows = this.scratch.zeros("rows", B * width, DIM);
    const h1 = this.branches.map((_, i) => this.scratch.zeros(`h1 ${i}`, B * width, CNN));
    const lengths = idRows.map((ids) => ids.length);
    const sum = this.sum;
    const rowAt = X + this.branches.reduce((total, b) => total + b.width, 0) * CNN;
    for (let b = 0; b < B; b++) {
      const ids = idRows[b];
      const n = ids.length;
      const feats = Array.from(ids, (id) => this.memo.get(id));
      let from = X;
      this.branches.forEach(({ width: slots, left }, branch) => {
        for (let t = 0; t < n; t++) {
          firstLayerAt(h1[branch], (b * width + t) * CNN, feats, t, slots, left, from, branch * CNN, sum);
        }
        from += slots * CNN;
      });
      for (let t = 0; t < n; t++) rows.set(feats[t].subarray(rowAt, rowAt + DIM), (b * width + t) * DIM);
    }
    return { rows, h1, lengths, width };
  }

  /** One unit vector per id row (rows of at most maxTokens), in order. */
  async embedRows(idRows) {
    const out = new Array(idRows.length);
    for (const batch of buckets(idRows)) {
      const batchRows = batch.map((i) => idRows[i]);
      this.remember(batchRows);
      const { rows, h1, lengths, width } = this.inputs(batchRows);
      const inputs = { rows, lengths, width };
      this.branches.forEach(({ width: n }, i) => { inputs[`h1_${n}`] = h1[i]; });
      const data = this.graphs.sentences(inputs);
      batch.forEach((i, b) => { out[i] = unit(data.subarray(b * DIM, (b + 1) * DIM)); });
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
    return sums.map(unit);
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
  if (manifest.layout !== LAYOUT) {
    throw new Error(`${folder.href}: model layout ${manifest.layout}, expected ${LAYOUT}: `
      + "rebuild it with python -m ml.build_encoder");
  }
  const [tokens, sentences, tableData] = await Promise.all([
    tf.loadGraphModel(new URL(manifest.graphs.tokens.file, folder).href),
    tf.loadGraphModel(new URL(manifest.graphs.sentences.file, folder).href),
    fetchOk(new URL(manifest.table.file, folder)).then((r) => r.arrayBuffer()),
  ]);
  const table = new TokenTable(tableData, manifest.table);
  const encoder = new Encoder(encoderGraphs({ tokens, sentences }), manifest, table);
  // The first run allocates the kept buffers and runs the kernels, which V8
  // compiles on first use; do it now, not on a keystroke.
  await encoder.embedRows([Int32Array.of(BOS, EOS)]);
  return encoder;
}
