// The one way into the model for everything that embeds. A query someone is
// waiting for goes first, then notes just saved, then the background catch-up.
// Only one request is in the worker at a time, so an urgent one waits for at
// most the small batch already running, never for a queue of them.

export const QUERY = 0;
export const SAVED = 1;
export const BACKGROUND = 2;
const LANE_NAMES = ["query", "saved", "background"];

export class EmbedQueue {
  constructor() {
    this.model = null;
    this.lanes = LANE_NAMES.map(() => []);
    this.running = false;
    // Texts sent to the worker, per lane: what tests and diagnostics read.
    this.counts = Object.fromEntries(LANE_NAMES.map((name) => [name, 0]));
  }

  /** Starts handing work to `model` (webui/model.js); calls made before wait. */
  use(model) {
    this.model = model;
    this.#next();
  }

  /** Float32Array per text, once the texts' turn comes. */
  embed(texts, lane) {
    return new Promise((resolve, reject) => {
      this.lanes[lane].push({ texts, lane, resolve, reject });
      this.#next();
    });
  }

  #next() {
    if (this.running || !this.model) return;
    const job = this.lanes.find((lane) => lane.length > 0)?.shift();
    if (!job) return;
    this.running = true;
    this.counts[LANE_NAMES[job.lane]] += job.texts.length;
    this.model.embed(job.texts).then(job.resolve, job.reject).finally(() => {
      this.running = false;
      this.#next();
    });
  }
}
