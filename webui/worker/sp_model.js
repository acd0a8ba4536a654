// Reads a SentencePiece ModelProto (sentencepiece_model.proto) from its protobuf
// wire format, keeping only the fields that encoding needs. Unknown fields are
// skipped, so newer model files with extra fields still load.

export const PieceType = Object.freeze({
  NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6,
});

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder("utf-8");

// One cursor over the whole file; a nested message is read up to its end offset.
// (128k pieces: a reader or closure per piece would mostly feed the GC.)
class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  // Keeps the low 32 bits only: every field read here (tags, lengths, enums,
  // bools) fits. Longer varints, such as the ten bytes of pad_id = -1, are still
  // consumed whole.
  varint() {
    let lo = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.bytes.length) throw new Error("sp.model: truncated varint");
      const b = this.bytes[this.pos++];
      if (shift < 32) lo = (lo | ((b & 0x7f) << shift)) >>> 0;
      if (b < 0x80) return lo;
      if (shift > 63) throw new Error("sp.model: varint too long");
    }
  }

  float() {
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  // Reads a length prefix and returns the end offset of the value after it.
  lengthEnd() {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.bytes.length) throw new Error("sp.model: truncated field");
    return end;
  }

  // A view, not a copy: the charsmap stays inside the file buffer.
  bytesField() {
    const end = this.lengthEnd();
    const out = this.bytes.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  string() {
    return utf8.decode(this.bytesField());
  }

  skip(wireType) {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_FIXED64) this.pos += 8;
    else if (wireType === WIRE_LEN) this.pos = this.lengthEnd();
    else if (wireType === WIRE_FIXED32) this.pos += 4;
    else throw new Error(`sp.model: unsupported wire type ${wireType}`);
  }

  // Calls onField(fieldNumber, wireType) for each field up to `end`; it returns
  // true when it consumed the value, otherwise the value is skipped.
  fields(end, onField) {
    while (this.pos < end) {
      const tag = this.varint();
      if (!onField(tag >>> 3, tag & 7)) this.skip(tag & 7);
    }
    if (this.pos !== end) throw new Error("sp.model: field overruns its message");
  }
}

// The pieces as columns: piece id is bytes[start[id], end[id]) (UTF-8).
class PieceTable {
  constructor(bytes, columns) {
    this.bytes = bytes;
    this.count = columns.start.length;
    this.start = Int32Array.from(columns.start);
    this.end = Int32Array.from(columns.end);
    this.score = Float32Array.from(columns.score);
    this.type = Uint8Array.from(columns.type);
  }

  pieceBytes(id) {
    return this.bytes.subarray(this.start[id], this.end[id]);
  }

  text(id) {
    return utf8.decode(this.pieceBytes(id));
  }
}

// One SentencePiece message (piece = 1, score = 2, type = 3), appended to columns.
function readPiece(r, end, columns) {
  let start = 0;
  let stop = 0;
  let score = 0;
  let type = PieceType.NORMAL;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      stop = r.lengthEnd();
      start = r.pos;
      r.pos = stop;
    } else if (tag === ((2 << 3) | WIRE_FIXED32)) score = r.float();
    else if (tag === ((3 << 3) | WIRE_VARINT)) type = r.varint();
    else r.skip(tag & 7);
  }
  if (r.pos !== end) throw new Error("sp.model: field overruns its message");
  columns.start.push(start);
  columns.end.push(stop);
  columns.score.push(score);
  columns.type.push(type);
}

function readTrainerSpec(r, end) {
  // Defaults are the proto's declared defaults.
  const spec = {
    modelType: 1, bosPiece: "<s>", eosPiece: "</s>",
    byteFallback: false, treatWhitespaceAsSuffix: false,
  };
  r.fields(end, (field, wire) => {
    if (field === 3 && wire === WIRE_VARINT) spec.modelType = r.varint();
    else if (field === 24 && wire === WIRE_VARINT) spec.treatWhitespaceAsSuffix = r.varint() !== 0;
    else if (field === 35 && wire === WIRE_VARINT) spec.byteFallback = r.varint() !== 0;
    else if (field === 46 && wire === WIRE_LEN) spec.bosPiece = r.string();
    else if (field === 47 && wire === WIRE_LEN) spec.eosPiece = r.string();
    else return false;
    return true;
  });
  return spec;
}

function readNormalizerSpec(r, end) {
  const spec = {
    name: "", precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true,
  };
  r.fields(end, (field, wire) => {
    if (field === 1 && wire === WIRE_LEN) spec.name = r.string();
    else if (field === 2 && wire === WIRE_LEN) spec.precompiledCharsmap = r.bytesField();
    else if (field === 3 && wire === WIRE_VARINT) spec.addDummyPrefix = r.varint() !== 0;
    else if (field === 4 && wire === WIRE_VARINT) spec.removeExtraWhitespaces = r.varint() !== 0;
    else if (field === 5 && wire === WIRE_VARINT) spec.escapeWhitespaces = r.varint() !== 0;
    else return false;
    return true;
  });
  return spec;
}

/**
 * Parses sp.model bytes into { pieces, trainerSpec, normalizerSpec }. pieces is
 * a table: count, and per id start/end (offsets into `bytes`), score (float32)
 * and type (PieceType); pieceBytes(id) and text(id) read a piece. Piece bytes and
 * the charsmap are views into `bytes`, which must stay unchanged.
 */
export function parseModelProto(bytes) {
  const r = new Reader(bytes);
  const columns = { start: [], end: [], score: [], type: [] };
  let trainerSpec = null;
  let normalizerSpec = null;
  r.fields(bytes.length, (field, wire) => {
    if (wire !== WIRE_LEN) return false;
    if (field === 1) readPiece(r, r.lengthEnd(), columns);
    else if (field === 2) trainerSpec = readTrainerSpec(r, r.lengthEnd());
    else if (field === 3) normalizerSpec = readNormalizerSpec(r, r.lengthEnd());
    else return false;
    return true;
  });
  if (columns.start.length === 0) throw new Error("sp.model: no pieces");
  return {
    pieces: new PieceTable(bytes, columns),
    trainerSpec: trainerSpec ?? readTrainerSpec(r, r.pos),
    normalizerSpec: normalizerSpec ?? readNormalizerSpec(r, r.pos),
  };
}
