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

// A cursor over one message's bytes.
class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  done() {
    return this.pos >= this.bytes.length;
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

  bool() {
    return this.varint() !== 0;
  }

  float() {
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  // A view, not a copy: piece bytes and the charsmap stay inside the file buffer.
  bytesField() {
    const n = this.varint();
    if (this.pos + n > this.bytes.length) throw new Error("sp.model: truncated field");
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wireType) {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_FIXED64) this.pos += 8;
    else if (wireType === WIRE_LEN) {
      const n = this.varint(); // read first: `pos += varint()` would use the old pos
      this.pos += n;
    }
    else if (wireType === WIRE_FIXED32) this.pos += 4;
    else throw new Error(`sp.model: unsupported wire type ${wireType}`);
  }

  // Calls onField(fieldNumber, wireType) for each field; it returns true when it
  // consumed the value, otherwise the value is skipped.
  fields(onField) {
    while (!this.done()) {
      const tag = this.varint();
      const field = tag >>> 3;
      const wireType = tag & 7;
      if (!onField(field, wireType)) this.skip(wireType);
    }
  }
}

const utf8 = new TextDecoder("utf-8");

function readPiece(bytes) {
  const piece = { bytes: new Uint8Array(0), score: 0, type: PieceType.NORMAL };
  const r = new Reader(bytes);
  r.fields((field, wire) => {
    if (field === 1 && wire === WIRE_LEN) piece.bytes = r.bytesField();
    else if (field === 2 && wire === WIRE_FIXED32) piece.score = r.float();
    else if (field === 3 && wire === WIRE_VARINT) piece.type = r.varint();
    else return false;
    return true;
  });
  return piece;
}

function readTrainerSpec(bytes) {
  // Defaults are the proto's declared defaults.
  const spec = {
    modelType: 1, bosPiece: "<s>", eosPiece: "</s>",
    byteFallback: false, treatWhitespaceAsSuffix: false,
  };
  const r = new Reader(bytes);
  r.fields((field, wire) => {
    if (field === 3 && wire === WIRE_VARINT) spec.modelType = r.varint();
    else if (field === 24 && wire === WIRE_VARINT) spec.treatWhitespaceAsSuffix = r.bool();
    else if (field === 35 && wire === WIRE_VARINT) spec.byteFallback = r.bool();
    else if (field === 46 && wire === WIRE_LEN) spec.bosPiece = utf8.decode(r.bytesField());
    else if (field === 47 && wire === WIRE_LEN) spec.eosPiece = utf8.decode(r.bytesField());
    else return false;
    return true;
  });
  return spec;
}

function readNormalizerSpec(bytes) {
  const spec = {
    name: "", precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true,
  };
  const r = new Reader(bytes);
  r.fields((field, wire) => {
    if (field === 1 && wire === WIRE_LEN) spec.name = utf8.decode(r.bytesField());
    else if (field === 2 && wire === WIRE_LEN) spec.precompiledCharsmap = r.bytesField();
    else if (field === 3 && wire === WIRE_VARINT) spec.addDummyPrefix = r.bool();
    else if (field === 4 && wire === WIRE_VARINT) spec.removeExtraWhitespaces = r.bool();
    else if (field === 5 && wire === WIRE_VARINT) spec.escapeWhitespaces = r.bool();
    else return false;
    return true;
  });
  return spec;
}

/**
 * Parses sp.model bytes into
 * { pieces: [{bytes: Uint8Array (UTF-8), score, type}], trainerSpec, normalizerSpec }.
 * Piece bytes and the charsmap are views into `bytes`, which must stay unchanged.
 */
export function parseModelProto(bytes) {
  const model = {
    pieces: [],
    trainerSpec: readTrainerSpec(new Uint8Array(0)),
    normalizerSpec: readNormalizerSpec(new Uint8Array(0)),
  };
  const r = new Reader(bytes);
  r.fields((field, wire) => {
    if (wire !== WIRE_LEN) return false;
    if (field === 1) model.pieces.push(readPiece(r.bytesField()));
    else if (field === 2) model.trainerSpec = readTrainerSpec(r.bytesField());
    else if (field === 3) model.normalizerSpec = readNormalizerSpec(r.bytesField());
    else return false;
    return true;
  });
  if (model.pieces.length === 0) throw new Error("sp.model: no pieces");
  return model;
}
