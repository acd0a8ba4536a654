// SentencePiece's normaliser over UTF-8 bytes: the precompiled charsmap rules
// (nmt_nfkc for USE-m v3), then the whitespace policy of the NormalizerSpec.
//
// precompiled_charsmap layout: a little-endian uint32 N, then N bytes of a
// Darts-clone double-array trie (uint32 units), then a blob of NUL-terminated
// replacement strings. The trie maps a UTF-8 byte sequence to the offset of its
// replacement in the blob; the rule applied at a position is the longest match.

const SPACE = 0x20;
const SPACE_SYMBOL = [0xe2, 0x96, 0x81]; // U+2581, how pieces spell a space

// Byte length of the UTF-8 character whose lead byte is b. A stray continuation
// byte counts as one, as in sentencepiece (it cannot occur: input comes from
// TextEncoder and every replacement in the charsmap is valid UTF-8).
export function utf8CharLength(b) {
  if (b < 0xc0) return 1;
  if (b < 0xe0) return 2;
  if (b < 0xf0) return 3;
  return 4;
}

// Darts-clone unit fields.
const hasLeaf = (unit) => (unit >>> 8) & 1;
const leafValue = (unit) => unit & 0x7fffffff;
// Signed on purpose: a leaf unit has bit 31 set, so it never equals a byte.
const label = (unit) => unit & 0x800000ff;
const childOffset = (unit) => (unit >>> 10) << ((unit & 0x200) >>> 6);

function decodeCharsmap(blob) {
  if (blob.length === 0) return null;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const trieBytes = view.getUint32(0, true);
  if (trieBytes % 4 !== 0 || 4 + trieBytes > blob.length) {
    throw new Error("sp.model: malformed precompiled_charsmap");
  }
  const units = new Uint32Array(trieBytes / 4);
  for (let i = 0; i < units.length; i++) units[i] = view.getUint32(4 + 4 * i, true);
  return { units, replacements: blob.subarray(4 + trieBytes) };
}

// A user-defined symbol at the start of the input is passed through unnormalised.
function longestSymbolAt(symbols, bytes, pos) {
  let best = 0;
  for (const s of symbols) {
    if (s.length <= best || pos + s.length > bytes.length) continue;
    let k = 0;
    while (k < s.length && bytes[pos + k] === s[k]) k++;
    if (k === s.length) best = s.length;
  }
  return best;
}

export class Normalizer {
  /**
   * spec: the parsed NormalizerSpec; userSymbols: UTF-8 bytes of the
   * USER_DEFINED pieces.
   */
  constructor(spec, userSymbols) {
    this.spec = spec;
    this.charsmap = decodeCharsmap(spec.precompiledCharsmap);
    this.userSymbols = userSymbols.filter((s) => s.length > 0);
    // Result of the last prefix(): the replacement is src[from, to).
    this.src = null;
    this.from = 0;
    this.to = 0;
    this.ruleOffset = 0;
    this.out = new Uint8Array(1024);
    this.outLength = 0;
  }

  // Longest charsmap rule at bytes[pos..]: returns its length (0 when no rule
  // applies) and leaves its replacement's blob offset in this.ruleOffset.
  matchRule(bytes, pos) {
    const units = this.charsmap.units;
    let node = childOffset(units[0]);
    let length = 0;
    let value = 0;
    for (let i = pos; i < bytes.length; i++) {
      const c = bytes[i];
      node ^= c;
      const unit = units[node];
      if (unit === undefined || label(unit) !== c) break;
      node ^= childOffset(unit);
      if (hasLeaf(unit)) {
        length = i + 1 - pos;
        value = leafValue(units[node]);
      }
    }
    this.ruleOffset = value;
    return length;
  }

  // Normalises the text's prefix at pos: sets src/from/to to its replacement and
  // returns how many input bytes it consumed.
  prefix(bytes, pos) {
    const symbol = longestSymbolAt(this.userSymbols, bytes, pos);
    if (symbol > 0) return this.passThrough(bytes, pos, symbol);
    if (this.charsmap !== null) {
      const length = this.matchRule(bytes, pos);
      const blob = this.charsmap.replacements;
      const offset = this.ruleOffset;
      // A rule pointing outside the blob is ignored, as sentencepiece does.
      if (length > 0 && offset < blob.length) {
        let end = offset;
        while (end < blob.length && blob[end] !== 0) end++;
        this.src = blob;
        this.from = offset;
        this.to = end;
        return length;
      }
    }
    return this.passThrough(bytes, pos, utf8CharLength(bytes[pos]));
  }

  passThrough(bytes, pos, length) {
    const n = Math.min(length, bytes.length - pos);
    this.src = bytes;
    this.from = pos;
    this.to = pos + n;
    return n;
  }

  emit(byte) {
    if (this.outLength === this.out.length) {
      const grown = new Uint8Array(this.out.length * 2);
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.outLength++] = byte;
  }

  emitSpace() {
    if (this.spec.escapeWhitespaces) for (const b of SPACE_SYMBOL) this.emit(b);
    else this.emit(SPACE);
  }

  endsWithSpace() {
    const out = this.out;
    const n = this.outLength;
    if (!this.spec.escapeWhitespaces) return n >= 1 && out[n - 1] === SPACE;
    return n >= 3 && out[n - 3] === SPACE_SYMBOL[0] && out[n - 2] === SPACE_SYMBOL[1]
      && out[n - 1] === SPACE_SYMBOL[2];
  }

  /**
   * UTF-8 bytes in, normalised UTF-8 bytes out (a view into a buffer reused by
   * the next call).
   */
  normalize(bytes) {
    const spec = this.spec;
    this.outLength = 0;
    let pos = 0;
    if (spec.removeExtraWhitespaces) {
      while (pos < bytes.length) {
        const consumed = this.prefix(bytes, pos);
        if (this.to - this.from !== 1 || this.src[this.from] !== SPACE) break;
        pos += consumed;
      }
    }
    if (pos >= bytes.length) return this.out.subarray(0, 0);

    if (spec.addDummyPrefix) this.emitSpace();
    let prevSpace = spec.removeExtraWhitespaces;
    while (pos < bytes.length) {
      const consumed = this.prefix(bytes, pos);
      const src = this.src;
      let from = this.from;
      const to = this.to;
      if (prevSpace) while (from < to && src[from] === SPACE) from++;
      if (from < to) {
        for (let i = from; i < to; i++) {
          if (src[i] === SPACE) this.emitSpace();
          else this.emit(src[i]);
        }
        prevSpace = src[to - 1] === SPACE;
      }
      pos += consumed;
      if (!spec.removeExtraWhitespaces) prevSpace = false;
    }
    if (spec.removeExtraWhitespaces) {
      const width = spec.escapeWhitespaces ? SPACE_SYMBOL.length : 1;
      while (this.endsWithSpace()) this.outLength -= width;
    }
    return this.out.subarray(0, this.outLength);
  }
}
