// The token table as ml/table_codec.py writes it: each row's 6-bit codes
// Huffman-coded on their own (one canonical code per chunk, row r in chunk
// r % chunks), so a row is decoded only when a note uses it and the table stays
// compressed in memory (24 MB instead of 65.5 MB).
// File: uint32 bit offset per row (little-endian, as every platform we ship on
// reads a Uint32Array), then the codewords most significant bit first.

const FORMAT = "huffman-rows-1";
// A peek reads three bytes from the codeword's first byte, of which up to 7 bits
// lie before the codeword.
const MAX_PEEK_BITS = 24 - 7;

/** Canonical codewords for code lengths (0 = unused): shorter first, then by symbol. */
function canonicalCodes(lengths) {
  const order = lengths.map((length, symbol) => [length, symbol])
    .filter(([length]) => length > 0)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const codes = new Array(lengths.length).fill(0);
  let code = 0;
  let previous = 0;
  for (const [length, symbol] of order) {
    code <<= length - previous;
    previous = length;
    codes[symbol] = code;
    code += 1;
  }
  return codes;
}

export class TokenTable {
  /** data: the file's bytes; table: the manifest's "table" entry. */
  constructor(data, table) {
    if (table.format !== FORMAT) throw new Error(`${table.file}: format ${table.format}, expected ${FORMAT}`);
    if (data.byteLength !== table.bytes) {
      throw new Error(`${table.file}: ${data.byteLength} bytes, the manifest says ${table.bytes}`);
    }
    this.rows = table.rows;
    this.dim = table.dim;
    this.chunks = table.chunks;
    this.bits = table.max_code_bits;
    if (!(this.bits <= MAX_PEEK_BITS)) throw new Error(`${table.file}: codes of ${this.bits} bits`);
    this.scale = Float64Array.from(table.scale);
    this.lo = Float64Array.from(table.lo);
    this.offsets = new Uint32Array(data, 0, this.rows);
    this.stream = new Uint8Array(data, 4 * this.rows);
    // Per chunk, for every peek of `bits` bits: symbol | code length << 8.
    this.lookup = new Uint16Array(this.chunks << this.bits);
    table.code_lengths.forEach((lengths, chunk) => {
      const codes = canonicalCodes(lengths);
      lengths.forEach((length, symbol) => {
        if (length === 0) return;
        const free = this.bits - length;
        const first = (chunk << this.bits) + (codes[symbol] << free);
        this.lookup.fill(symbol | (length << 8), first, first + (1 << free));
      });
    });
    this.scratch = new Uint8Array(this.dim);
  }

  /** The codes of row `id` into out (a Uint8Array of dim). */
  rowCodes(id, out) {
    if (!(id >= 0 && id < this.rows)) throw new RangeError(`token id ${id}`);
    const { stream, lookup, bits, dim } = this;
    const mask = (1 << bits) - 1;
    const base = (id % this.chunks) << bits;
    let pos = this.offsets[id];
    // Three bytes from the codeword's first one, rather than a running bit buffer:
    // measured 4.3 against 7.9 us a row in Chromium.
    for (let k = 0; k < dim; k++) {
      const at = pos >>> 3;
      const window = (stream[at] << 16) | (stream[at + 1] << 8) | stream[at + 2];
      const entry = lookup[base + ((window >>> (24 - bits - (pos & 7))) & mask)];
      out[k] = entry & 0xff;
      pos += entry >>> 8;
    }
    return out;
  }

  /**
   * Writes the dequantised row of `id` into out[offset ...]: code * scale + lo in
   * double precision, rounded to float32 once (ml/encoder.py TokenTable.rows).
   */
  row(id, out, offset) {
    const codes = this.rowCodes(id, this.scratch);
    const scale = this.scale[id % this.chunks];
    const lo = this.lo[id % this.chunks];
    for (let k = 0; k < this.dim; k++) out[offset + k] = codes[k] * scale + lo;
  }
}
