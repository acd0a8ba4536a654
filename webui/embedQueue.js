// The one way into the model for everything that embeds, tags or trains. A query
// someone is waiting for goes first, then tagging the note on screen, then notes
// just saved, then the background catch-up, the background tagging, and last
// the training of the personal head (in slices). Only one request is in the
// worker at a time, so an urgent one waits for at most the small batch or slice
// already running, never for a queue of them.
//
// Notes, saved or in the background, are tagged in the same trip as they are
// embedded (one worker trip, not two): tagsOf(vector) has what the taggers said.

export const QUERY = 0;
export const SUGGEST = 1;
export const SAVED = 2;
export const BACKGROUND = 3;
export const BACKGROUND_TAGS = 4;
export const TRAINING = 5;
const LANES = 6;
// The lanes that embed texts, by name.
const EMBED_LANES = { [QUERY]: "query", [SAVED]: "saved", [BACKGROUND]: "background" };

export class EmbedQueue {
  constructor() {
    this.model = null;
    this.lanes = Array.from({ length: LANES }, () => []);
    this.running = false;
    // Texts sent to the worker, per embedding lane: what tests and diagnostics read.
    this.counts = Object.fromEntries(Object.values(EMBED_LANES).map((name) => [name, 0]));
    this.tags = new WeakMap(); // vector of a saved note -> {tagger, outputs}
  }

  /** Starts handing work to `model` (webui/model.js); calls made before wait. */
  use(model) {
    this.model = model;
    this.#next();
  }

  /** Float32Array per text, once the texts' turn comes (lane QUERY, SAVED or BACKGROUND). */
  embed(texts, lane) {
    const name = EMBED_LANES[lane];
    if (!name) throw new RangeError(`lane ${lane} does not embed`);
    return this.run(lane, async (model) => {
      this.counts[name] += texts.length;
      if (lane === QUERY) return model.embed(texts);
      const { vectors, tagger, outputs } = await model.embedTagged(texts);
      vectors.forEach((vector, i) => this.tags.set(vector, { tagger, outputs: outputs[i] }));
      return vectors;
    });
  }

  /** What the taggers said about a vector the SAVED or BACKGROUND lane made: {tagger, outputs}. */
  tagsOf(vector) {
    return this.tags.get(vector);
  }

  /** What work(model) resolves to, once the lane's turn comes. */
  run(lane, work) {
    return new Promise((resolve, reject) => {
      this.lanes[lane].push({ work, resolve, reject });
      this.#next();
    });
  }

  #next() {
    if (this.running || !this.model) return;
    const job = this.lanes.find((lane) => lane.length > 0)?.shift();
    if (!job) return;
    this.running = true;
    Promise.resolve()
      .then(() => job.work(this.model))
      .then(job.resolve, job.reject)
      .finally(() => {
        this.running = false;
        this.#next();
      });
  }
}
