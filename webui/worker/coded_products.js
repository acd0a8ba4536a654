// Products and convolutions with the encoder's weight matrices kept as the
// 16-bit codes they ship in (ml/build_encoder.py: w = code * scale + min per
// matrix), by a small wasm SIMD kernel written out below. At one short note the
// head and the new tokens' products read every weight once, so bytes count: as
// codes they are half of TF.js's float32. And a call costs ~1 µs, a TF.js op
// 5-20 µs besides its arithmetic.
//
// x @ W = scale * (x @ C) + mid * sum(x), with C = code - 32768 (int16) and mid
// = min + 32768 * scale, the matrix's midpoint: centred codes keep the two terms
// small, so little is lost when they are added.

const PAGE = 65536;
// Columns per block: the codes of one block and one input channel are 64 bytes,
// four vectors of 8 codes, read in order.
const BLOCK = 32;
const MID = 32768;

// Within 8 columns the codes are stored [c0, c4, c1, c5, c2, c6, c3, c7]: the
// low halves of the four 32-bit lanes are then columns 0-3, the high halves 4-7.
const LANE_ORDER = [0, 4, 1, 5, 2, 6, 3, 7];
// The column of each of a block's 32 codes for one channel.
const COLUMN = Array.from({ length: BLOCK }, (_, j) => (j & ~7) + LANE_ORDER[j & 7]);

// --- a tiny wasm assembler, for the one module below ---

function uleb(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

function sleb(n) {
  const out = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && (byte & 0x40))) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const section = (id, body) => [id, ...uleb(body.length), ...body];
const vector = (items) => [...uleb(items.length), ...items.flat()];
const name = (s) => vector([...new TextEncoder().encode(s)].map((b) => [b]));

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  loop: [0x03, 0x40], end: [0x0b], brIf: (d) => [0x0d, ...uleb(d)],
  get: (i) => [0x20, ...uleb(i)], set: (i) => [0x21, ...uleb(i)], tee: (i) => [0x22, ...uleb(i)],
  i32: (n) => [0x41, ...sleb(n)], add: [0x6a], sub: [0x6b], mul: [0x6c],
  simd: (code, ...imm) => [0xfd, ...uleb(code), ...imm],
};
// Memory arguments: alignment (log2) and offset.
const v128Load = (offset) => op.simd(0x00, 4, ...uleb(offset));
const v128Store = (offset) => op.simd(0x0b, 4, ...uleb(offset));
const load32Splat = op.simd(0x09, 2, 0);
const v128Zero = op.simd(0x0c, ...new Array(16).fill(0));
const i32x4Shl = op.simd(0xab);
const i32x4ShrS = op.simd(0xac);
const f32x4Add = op.simd(0xe4);
const f32x4Mul = op.simd(0xe6);
const f32x4FromI32 = op.simd(0xfa);

/**
 * kernel(x, c, y, K, N, S) for `rows` rows of x (K floats each, the next row S
 * bytes further) and `vectors` of the four code vectors per block and channel:
 * every block's y[r][cols] = x[r] @ C[:, cols] for those columns, in passes of
 * 8 * vectors columns. rows * 2 * vectors accumulators: 8, so that they stay in
 * registers.
 */
function kernel(rows, vectors) {
  const [X, C, Y, K, N, S] = [0, 1, 2, 3, 4, 5];
  const [k, xp, cp, end, pass] = [6, 7, 8, 9, 10];
  const acc = (r, j) => 11 + r * 2 * vectors + j;
  const w = 11 + rows * 2 * vectors;
  // x[r][k] in all four lanes, loaded where it is used: kept in locals, the
  // four rows' values left too few registers (7% slower at 16 rows).
  const rowAt = (r) => (r ? [...op.get(S), ...op.i32(r), ...op.mul, ...op.add] : []);
  const splat = (r) => [...op.get(xp), ...rowAt(r), ...load32Splat];
  const passes = 4 / vectors;
  const body = [];
  const emit = (...parts) => parts.forEach((p) => body.push(...p));
  // end = c + K * N * 2: the codes' end. A block's pass starts at c + pass * 16 * vectors.
  emit(op.get(C), op.get(K), op.get(N), op.mul, op.i32(2), op.mul, op.add, op.set(end));
  emit(op.loop);
  emit(op.i32(0), op.set(pass));
  emit(op.loop);
  for (let r = 0; r < rows; r++) for (let j = 0; j < 2 * vectors; j++) emit(v128Zero, op.set(acc(r, j)));
  emit(op.get(X), op.set(xp));
  emit(op.get(C), op.get(pass), op.i32(16 * vectors), op.mul, op.add, op.set(cp));
  emit(op.get(K), op.set(k));
  emit(op.loop);
  for (let v = 0; v < vectors; v++) {
    emit(op.get(cp), v128Load(16 * v), op.set(w));
    // Low halves: shift up then back, sign-extending; high halves: shift down.
    const halves = [[op.get(w), op.i32(16), i32x4Shl, op.i32(16), i32x4ShrS], [op.get(w), op.i32(16), i32x4ShrS]];
    halves.forEach((half, h) => {
      emit(...half, f32x4FromI32);
      if (rows > 1) emit(op.tee(w + 1));
      for (let r = 0; r < rows; r++) {
        const a = acc(r, 2 * v + h);
        if (r) emit(op.get(w + 1));
        emit(splat(r), f32x4Mul, op.get(a), f32x4Add, op.set(a));
      }
    });
  }
  emit(op.get(xp), op.i32(4), op.add, op.set(xp));
  emit(op.get(cp), op.i32(64), op.add, op.set(cp));
  emit(op.get(k), op.i32(1), op.sub, op.tee(k), op.brIf(0), op.end);
  // Columns 8v..8v+3 are accumulator 2v, 8v+4..8v+7 accumulator 2v+1.
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < 2 * vectors; j++) {
      emit(op.get(Y));
      if (r) emit(op.get(N), op.i32(4 * r), op.mul, op.add);
      emit(op.get(acc(r, j)), v128Store(16 * j));
    }
  }
  emit(op.get(Y), op.i32(32 * vectors), op.add, op.set(Y));
  emit(op.get(pass), op.i32(1), op.add, op.tee(pass), op.i32(passes), op.sub, op.brIf(0), op.end);
  emit(op.get(C), op.get(K), op.i32(64), op.mul, op.add, op.tee(C));
  emit(op.get(end), op.sub, op.brIf(0), op.end);
  const locals = [[5, I32], [rows * 2 * vectors + 2, V128]];
  const code = [...vector(locals.map(([n, t]) => [...uleb(n), t])), ...body, ...op.end];
  return [...uleb(code.length), ...code];
}

// Rows per call and code vectors per pass: 4 rows read the codes once for all
// four; one row takes all 32 columns of a block per pass. A 15-token note's
// convolutions go 4, 4, 4, 3: with 4, 4, 4, 2, 1 they took 5-7% longer.
const KERNELS = [[4, 1], [3, 1], [2, 2], [1, 4]];

function moduleBytes() {
  const type = [0x60, ...vector([[I32], [I32], [I32], [I32], [I32], [I32]]), 0];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([type])),
    ...section(2, vector([[...name("m"), ...name("memory"), 0x02, 0x00, 0x00]])),
    ...section(3, vector(KERNELS.map(() => [0]))),
    ...section(7, vector(KERNELS.map(([rows], i) => [...name(`rows${rows}`), 0x00, i]))),
    ...section(10, vector(KERNELS.map(([rows, vectors]) => kernel(rows, vectors)))),
  ]);
}

let compiled;

/** The wasm module, or null where this engine cannot compile it (no wasm SIMD, or no wasm). */
function wasmKernels() {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(moduleBytes());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** What computes the products here: "wasm-simd", or "js" where wasm cannot. */
export function codedProductsEngine() {
  return wasmKernels() ? "wasm-simd" : "js";
}

/**
 * The kernels' sums in plain JS over the same memory and layout, for engines
 * that cannot run the wasm module: about 19x slower (Node, 1 and 16 rows).
 */
function plainKernels(memory) {
  const floats = new Float32Array(memory.buffer);
  const codes = new Int16Array(memory.buffer);
  // Where column j of a block sits among its 32 codes of one channel.
  const slot = Array.from({ length: BLOCK }, (_, j) => COLUMN.indexOf(j));
  const run = (rows) => (x, c, y, K, N, S) => {
    for (let r = 0; r < rows; r++) {
      const xr = (x + r * S) / 4;
      const yr = y / 4 + r * N;
      for (let n = 0; n < N; n++) {
        const first = c / 2 + (n - (n % BLOCK)) * K + slot[n % BLOCK];
        floats[yr + n] = columnSum(floats, xr, codes, first, K);
      }
    }
  };
  return Object.fromEntries(KERNELS.map(([rows]) => [`rows${rows}`, run(rows)]));
}

/**
 * One block's codes of one input channel: codes[to + j] for the weights at
 * from + COLUMN[j], centred; a weight that is not a 16-bit code is refused.
 */
function storeChannel(codes, to, weights, from, scale, min) {
  for (let j = 0; j < BLOCK; j++) {
    const w = weights[from + COLUMN[j]];
    const code = Math.round((w - min) / scale);
    if (code < 0 || code > 0xffff || Math.fround(code * scale + min) !== w) {
      throw new Error(`coded products: weight ${w} is not a 16-bit code of scale ${scale} and min ${min}`);
    }
    codes[to + j] = code - MID;
  }
}

/** sum over k < K of x[xr + k] * codes[first + k * BLOCK]. */
function columnSum(floats, xr, codes, first, K) {
  let sum = 0;
  for (let k = 0; k < K; k++) sum += floats[xr + k] * codes[first + k * BLOCK];
  return Math.fround(sum);
}

/**
 * Matrices as codes in one wasm memory, and their products with rows of floats:
 * the rows go through the kernels four at a time, the rest three, two or one.
 */
export class CodedProducts {
  /**
   * matrices: [{weights: Float32Array (K x N), K, N, scale, min}], as
   * dequantised. wasm: false runs the plain JS kernels (as where wasm cannot).
   */
  constructor(matrices, maxRows, { wasm = true } = {}) {
    const maxK = Math.max(...matrices.map((m) => m.K));
    const maxN = Math.max(...matrices.map((m) => m.N));
    let bytes = 0;
    const placed = matrices.map((m) => {
      if (m.N % BLOCK) throw new Error(`coded products: ${m.N} columns, not a multiple of ${BLOCK}`);
      const at = bytes;
      bytes += m.K * m.N * 2;
      return at;
    });
    this.xAt = bytes;
    this.yAt = bytes + maxRows * maxK * 4;
    bytes = this.yAt + maxRows * maxN * 4;
    this.maxRows = maxRows;
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE) });
    const module = wasm ? wasmKernels() : null;
    this.kernels = module
      ? new WebAssembly.Instance(module, { m: { memory: this.memory } }).exports
      : plainKernels(this.memory);
    // The memory never grows, so these views stay valid.
    this.x = new Float32Array(this.memory.buffer, this.xAt, maxRows * maxK);
    this.y = new Float32Array(this.memory.buffer, this.yAt, maxRows * maxN);
    this.matrices = matrices.map((m, i) => ({
      at: placed[i], K: m.K, N: m.N, scale: m.scale, mid: m.min + MID * m.scale,
    }));
    matrices.forEach((m, i) => this.store(m, placed[i]));
  }

  /** Writes a matrix's centred codes in the kernel's order; refuses weights that are not codes. */
  store({ weights, K, N, scale, min }, at) {
    const codes = new Int16Array(this.memory.buffer, at, K * N);
    for (let block = 0; block < N; block += BLOCK) {
      for (let k = 0; k < K; k++) storeChannel(codes, block * K + k * BLOCK, weights, k * N + block, scale, min);
    }
  }

  /**
   * out (rows x N) = x (rows x K) @ matrix `index`, plus `bias` (N floats) when
   * given; returns out.
   */
  multiply(index, x, rows, out, bias) {
    const { K } = this.matrices[index];
    for (let first = 0; first < rows; first += this.maxRows) {
      const count = Math.min(this.maxRows, rows - first);
      this.x.set(x.subarray(first * K, (first + count) * K));
      this.run(index, count, K, out, first, bias);
    }
    return out;
  }

  /**
   * A convolution along the rows of x (rows x C), zero-padded: out[t] = the
   * rows t - left ... t - left + width - 1 of x, side by side, @ matrix `index`
   * (width * C x N), plus `bias`; for t < rows. Returns out (rows x N).
   * The kernels read those rows where they are: a row of the product starts C
   * floats after the one before.
   */
  convolve(index, x, rows, C, left, out, bias) {
    const width = this.matrices[index].K / C;
    if (!Number.isInteger(width)) throw new Error(`coded products: ${this.matrices[index].K} rows, not windows of ${C}`);
    for (let first = 0; first < rows; first += this.maxRows) {
      const count = Math.min(this.maxRows, rows - first);
      const from = first - left;
      const to = first + count + width - 1 - left;
      this.x.fill(0, 0, (to - from) * C);
      const inside = x.subarray(Math.max(from, 0) * C, Math.min(to, rows) * C);
      this.x.set(inside, Math.max(-from, 0) * C);
      this.run(index, count, C, out, first, bias);
    }
    return out;
  }

  /** out rows first ... first + count - 1 from the rows in this.x, each `step` floats after the last. */
  run(index, count, step, out, first, bias) {
    const { at, K, N, scale, mid } = this.matrices[index];
    let r = 0;
    for (const [n] of KERNELS) {
      const kernelRun = this.kernels[`rows${n}`];
      for (; r + n <= count; r += n) kernelRun(this.xAt + r * step * 4, at, this.yAt + r * N * 4, K, N, step * 4);
    }
    for (let row = 0; row < count; row++) {
      const shift = mid * rowSum(this.x, row * step, K);
      scaled(out, (first + row) * N, this.y, row * N, N, scale, shift, bias);
    }
  }
}

function rowSum(x, at, K) {
  let sum = 0;
  for (let k = at; k < at + K; k++) sum += x[k];
  return sum;
}

/** out[to ...] = y[from ...] * scale + shift (+ bias), N values. */
function scaled(out, to, y, from, N, scale, shift, bias) {
  if (bias) for (let n = 0; n < N; n++) out[to + n] = y[from + n] * scale + shift + bias[n];
  else for (let n = 0; n < N; n++) out[to + n] = y[from + n] * scale + shift;
}
