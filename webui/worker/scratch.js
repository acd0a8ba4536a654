// Kept buffers for arrays a call fills and drops. At one short note, making its
// typed arrays cost as much as filling them: about 75 µs of the 200 that a
// 15-token note's inputs took, as each is fresh zeroed memory outside V8's heap
// that counts towards its next garbage collection. So arrays of up to `rows`
// rows come from buffers kept here (zeroed again, a few µs); larger ones, from
// big batches, are made as before and not kept.

export class Scratch {
  constructor(rows) {
    this.rows = rows;
    this.kept = new Map();
  }

  /**
   * A Float32Array of rows x width zeros under `name`. It is valid until the
   * next call with that name: the caller must be done with it (or have copied
   * it) by then.
   */
  zeros(name, rows, width) {
    const size = rows * width;
    if (rows > this.rows) return new Float32Array(size);
    let buffer = this.kept.get(name);
    if (!buffer || buffer.length < size) {
      buffer = new Float32Array(this.rows * width);
      this.kept.set(name, buffer);
    }
    const view = buffer.subarray(0, size);
    view.fill(0);
    return view;
  }
}
