// SentencePiece unigram tokenizer for the USE-m v3 sp.model: the same ids as
// Python `sentencepiece` 0.2.3 (SentencePieceProcessor.encode(text,
// add_bos=True, add_eos=True)), written from the model format and the algorithm.
//
// Policy, matching Python sentencepiece's defaults:
// - Text is normalised by the model's own rules (nmt_nfkc charsmap, extra spaces
//   removed, a dummy "▁" prefix), then split by Viterbi over the pieces' scores.
// - A character no piece covers becomes the unknown id; a run of consecutive
//   unknown characters becomes ONE unknown id (sentencepiece merges them).
// - Every result is [BOS, ...pieces, EOS]; empty or all-space text gives [BOS, EOS].
// - JS strings may hold unpaired surrogates, which Python text cannot carry to
//   sentencepiece. Each one is read as U+FFFD (what TextEncoder writes), i.e. the
//   ids equal Python's for the text with every lone surrogate replaced by U+FFFD
//   (which nmt_nfkc then deletes).
// - Near-ties between segmentations are decided by float32 rounding, so the
//   Viterbi below keeps sentencepiece's float32 arithmetic step for step,
//   including its rebasing of path scores past 1e5 (long notes).

import { parseModelProto, PieceType } from "./sp_model.js";
import { Normalizer, utf8CharLength } from "./sp_normalizer.js";

const MODEL_UNIGRAM = 1;
// sentencepiece scores an unknown character as the worst piece minus this.
const UNK_PENALTY = 10;
// When a path score passes this magnitude, sentencepiece subtracts it from the
// open part of the lattice so float32 keeps its precision.
const SCORE_RESET = 100000;

// Byte trie of the pieces: an open-addressing hash from (node, byte) to child,
// in typed arrays, because 128k pieces make ~330k nodes.
class PieceTrie {
  // pieces: the PieceTable from sp_model.js; ids: the pieces to put in.
  constructor(pieces, ids) {
    const { bytes, start, end } = pieces;
    let total = 0;
    for (const id of ids) total += end[id] - start[id];
    // Edges are about a third of the pieces' bytes; starting near that size
    // saves rehashing (insert keeps the table at most half full).
    let capacity = 1 << 10;
    while (capacity < total / 2) capacity *= 2;
    this.allocate(capacity);
    this.edges = 0;
    const pieceAt = [-1];
    for (const id of ids) {
      let node = 0;
      for (let i = start[id]; i < end[id]; i++) {
        let child = this.child(node, bytes[i]);
        if (child < 0) {
          child = pieceAt.length;
          pieceAt.push(-1);
          this.insert(node, bytes[i], child);
        }
        node = child;
      }
      pieceAt[node] = id;
    }
    this.pieceAt = Int32Array.from(pieceAt);
  }

  // Keys and children interleaved, so one probe reads one cache line.
  allocate(capacity) {
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    this.table = new Int32Array(2 * capacity).fill(-1);
  }

  // Fibonacci hashing: the product's high bits mix every bit of the key.
  slot(key) {
    return Math.imul(key, 0x9e3779b1) >>> this.shift;
  }

  insert(node, byte, child) {
    if (2 * (this.edges + 1) > this.mask + 1) this.grow();
    this.place(node * 256 + byte, child);
    this.edges++;
  }

  place(key, child) {
    let i = this.slot(key);
    while (this.table[2 * i] !== -1) i = (i + 1) & this.mask;
    this.table[2 * i] = key;
    this.table[2 * i + 1] = child;
  }

  grow() {
    const old = this.table;
    this.allocate(old.length);
    for (let i = 0; i < old.length; i += 2) if (old[i] !== -1) this.place(old[i], old[i + 1]);
  }

  // The child of node along byte, or -1.
  child(node, byte) {
    const key = node * 256 + byte;
    const table = this.table;
    for (let i = this.slot(key); ; i = (i + 1) & this.mask) {
      const k = table[2 * i];
      if (k === key) return table[2 * i + 1];
      if (k === -1) return -1;
    }
  }
}

function idsOfType(pieces, ...types) {
  const ids = [];
  for (let id = 0; id < pieces.count; id++) if (types.includes(pieces.type[id])) ids.push(id);
  return ids;
}

// The one piece of this type (and text, unless name is null), or -1.
function onlyPiece(pieces, type, name) {
  const ids = idsOfType(pieces, type).filter((id) => name === null || pieces.text(id) === name);
  return ids.length === 1 ? ids[0] : -1;
}

// The special ids as sentencepiece takes them: the one UNKNOWN piece, and the
// CONTROL pieces spelled like the trainer spec's bos/eos pieces.
function specialIds(model) {
  const t = model.trainerSpec;
  const problems = [];
  if (t.modelType !== MODEL_UNIGRAM) problems.push(`model type ${t.modelType} is not unigram`);
  if (t.byteFallback) problems.push("byte_fallback is not supported");
  if (t.treatWhitespaceAsSuffix) problems.push("treat_whitespace_as_suffix is not supported");
  const ids = {
    unk: onlyPiece(model.pieces, PieceType.UNKNOWN, null),
    bos: onlyPiece(model.pieces, PieceType.CONTROL, t.bosPiece),
    eos: onlyPiece(model.pieces, PieceType.CONTROL, t.eosPiece),
  };
  for (const [name, id] of Object.entries(ids)) if (id < 0) problems.push(`no ${name} piece`);
  if (problems.length) throw new Error(`sp.model: ${problems.join("; ")}`);
  return ids;
}

class Tokenizer {
  constructor(model) {
    const { pieces } = model;
    const special = specialIds(model);
    this.pieceCount = pieces.count;
    this.unkId = special.unk;
    this.bosId = special.bos;
    this.eosId = special.eos;

    this.scores = pieces.score;
    this.types = pieces.type;
    let minScore = Infinity;
    for (const id of idsOfType(pieces, PieceType.NORMAL)) {
      minScore = Math.min(minScore, pieces.score[id]);
    }
    this.unkScore = Math.fround(minScore - UNK_PENALTY);

    this.trie = new PieceTrie(pieces,
      idsOfType(pieces, PieceType.NORMAL, PieceType.USER_DEFINED, PieceType.UNUSED));
    const userSymbols = idsOfType(pieces, PieceType.USER_DEFINED)
      .map((id) => pieces.pieceBytes(id));
    this.normalizer = new Normalizer(model.normalizerSpec, userSymbols);
    this.utf8 = new TextEncoder();
  }

  // Viterbi over byte positions of the normalised text; a piece may only start
  // at a character boundary. Candidates for an end position arrive in order of
  // start, and a later one must be strictly better (ties keep the earlier).
  // Returns the best path's ids with runs of unknowns merged.
  segment(text) {
    const n = text.length;
    // Float32Array storage rounds every stored score to float32, as in C++;
    // each sum is rounded with Math.fround before it is compared.
    const best = new Float32Array(n + 1);
    const startOf = new Int32Array(n + 1).fill(-1);
    const idOf = new Int32Array(n + 1);
    const { trie, scores, types, unkScore } = this;
    let frontier = 0; // the furthest end position any candidate has reached

    for (let start = 0; start < n;) {
      let here = best[start];
      if (here < -SCORE_RESET || here > SCORE_RESET) {
        for (let i = start; i <= frontier; i++) {
          if (i === start || startOf[i] !== -1) best[i] -= here;
        }
        here = 0;
      }
      const charLength = Math.min(utf8CharLength(text[start]), n - start);
      let coversChar = false;
      let node = 0;
      for (let end = start + 1; end <= n; end++) {
        node = trie.child(node, text[end - 1]);
        if (node < 0) break;
        const id = trie.pieceAt[node];
        if (id < 0 || types[id] === PieceType.UNUSED) continue;
        if (end > frontier) frontier = end;
        const length = end - start;
        // sentencepiece 0.2.3 gives a user symbol 0.1 per byte beyond the first.
        const score = types[id] === PieceType.USER_DEFINED
          ? Math.fround(0.1 * (length - 1))
          : scores[id];
        const candidate = Math.fround(score + here);
        if (startOf[end] === -1 || candidate > best[end]) {
          best[end] = candidate;
          startOf[end] = start;
          idOf[end] = id;
        }
        if (length === charLength) coversChar = true;
      }
      if (!coversChar) {
        const end = start + charLength;
        if (end > frontier) frontier = end;
        const candidate = Math.fround(unkScore + here);
        if (startOf[end] === -1 || candidate > best[end]) {
          best[end] = candidate;
          startOf[end] = start;
          idOf[end] = this.unkId;
        }
      }
      start += charLength;
    }

    const reversed = [];
    for (let end = n; end > 0; end = startOf[end]) {
      const id = idOf[end];
      const previous = reversed.length ? reversed[reversed.length - 1] : -1;
      if (!(id === this.unkId && previous === this.unkId)) reversed.push(id);
    }
    return reversed.reverse();
  }

  /** Ids of `text` wrapped in BOS/EOS, as an Int32Array. */
  encode(text) {
    const normalized = this.normalizer.normalize(this.utf8.encode(String(text)));
    const ids = normalized.length ? this.segment(normalized) : [];
    const out = new Int32Array(ids.length + 2);
    out[0] = this.bosId;
    out.set(ids, 1);
    out[ids.length + 1] = this.eosId;
    return out;
  }
}

async function modelBytes(urlOrBytes) {
  if (urlOrBytes instanceof Uint8Array) return urlOrBytes;
  if (urlOrBytes instanceof ArrayBuffer) return new Uint8Array(urlOrBytes);
  const response = await fetch(urlOrBytes);
  if (!response.ok) throw new Error(`sp.model: ${response.status} for ${urlOrBytes}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Loads sp.model from a URL (string or URL) or its bytes (Uint8Array or
 * ArrayBuffer, kept by reference). Resolves to { encode(text) -> Int32Array,
 * pieceCount }.
 */
export async function loadTokenizer(urlOrBytes) {
  const tokenizer = new Tokenizer(parseModelProto(await modelBytes(urlOrBytes)));
  return {
    encode: (text) => tokenizer.encode(text),
    pieceCount: tokenizer.pieceCount,
  };
}
