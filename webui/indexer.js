// Keeps every note's vector current. A note whose text changed is embedded as
// soon as it is saved; notes without a current vector (an older database, a new
// model, an import, an app closed mid-way) are caught up in the background in
// small batches. Each batch is stored as soon as it is done, so closing the app
// loses nothing and the next start goes on where this one stopped.
import { BACKGROUND, SAVED } from "./embedQueue.js";

// Notes per background call to the worker: a saved note or a query waits for at
// most one batch (about 0.2 s of paragraphs on one wasm thread).
const BATCH = 4;
// A breather between background batches, so saves and the page's own work go first.
const PAUSE_MS = 40;

/** The text the store hashes and that gets embedded (desktop/store.py content_text). */
export function contentText(note) {
  return `${note.title}\n\n${note.body}`;
}

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export class Indexer {
  /**
   * handlers.onProgress(run | null): run is {done, total, capped, startedAt} while
   * catching up, null when it ends. handlers.onEmbedded(jobs, vectors, lane): vectors
   * were made for jobs [{id, text, hash}] (before they are stored), so others can
   * use them without embedding again. handlers.onStored(ids): these notes' vectors
   * changed. handlers.onError(error): storing failed in a way worth showing.
   */
  constructor(api, queue, handlers) {
    this.api = api;
    this.queue = queue;
    this.handlers = handlers;
    this.modelId = null;
    this.saved = new Map(); // note id -> {text, hash}, the latest text of each
    this.savingNow = false;
    this.catchingUp = false;
    // Vectors by outcome, and catch-up runs finished: read by tests and diagnostics.
    this.counts = { stored: 0, stale: 0, failed: 0, runs: 0 };
  }

  /** The model is ready: from now on vectors are made with `modelId`. */
  start(modelId) {
    this.modelId = modelId;
    return this.catchUp();
  }

  /** A note as the store returned it after its text (content hash) changed. */
  noteChanged(note) {
    // Before the model is ready the catch-up at its start finds this note anyway.
    if (this.modelId === null) return;
    this.saved.set(note.id, { text: contentText(note), hash: note.content_hash });
    this.#storeSaved().catch((error) => this.handlers.onError(error));
  }

  /** Embeds every note without a current vector, a few at a time. */
  async catchUp() {
    if (this.catchingUp || this.modelId === null) return;
    this.catchingUp = true;
    try {
      const { remaining, capped } = await this.api.embeddingBacklog(this.modelId);
      if (remaining === 0) return;
      const run = { done: 0, total: remaining, capped, startedAt: performance.now() };
      this.handlers.onProgress(run);
      // Notes whose vector the store refused, with the text it was made from:
      // skipped, or the same few would come back first forever.
      const refused = new Map();
      for (;;) {
        const jobs = (await this.api.notesNeedingEmbedding(this.modelId, BATCH + refused.size))
          .filter((job) => refused.get(job.id) !== job.content_hash)
          .slice(0, BATCH);
        if (jobs.length === 0) break;
        const outcomes = await this.#embedAndStore(
          jobs.map((job) => ({ id: job.id, text: job.text, hash: job.content_hash })),
          BACKGROUND,
        );
        outcomes.forEach((outcome, i) => {
          if (outcome === "failed") refused.set(jobs[i].id, jobs[i].content_hash);
        });
        run.done += jobs.length;
        if (run.capped && run.done >= run.total) {
          // The count stopped at the bridge's cap: count what is left now.
          const left = await this.api.embeddingBacklog(this.modelId);
          run.total = run.done + left.remaining;
          run.capped = left.capped;
        }
        run.total = Math.max(run.total, run.done);
        this.handlers.onProgress(run);
        await pause(PAUSE_MS);
      }
    } finally {
      this.catchingUp = false;
      this.counts.runs += 1;
      this.handlers.onProgress(null);
    }
  }

  /** One worker call at a time for saved notes; typing meanwhile only updates `saved`. */
  async #storeSaved() {
    if (this.savingNow) return;
    this.savingNow = true;
    try {
      while (this.saved.size > 0) {
        const jobs = [...this.saved].map(([id, { text, hash }]) => ({ id, text, hash }));
        this.saved.clear();
        await this.#embedAndStore(jobs, SAVED);
      }
    } finally {
      this.savingNow = false;
    }
  }

  /** Embeds and stores jobs; resolves to "stored", "stale" or "failed" for each. */
  async #embedAndStore(jobs, lane) {
    const vectors = await this.queue.embed(jobs.map((job) => job.text), lane);
    this.handlers.onEmbedded(jobs, vectors, lane);
    const replies = await Promise.allSettled(jobs.map((job, i) =>
      this.api.putEmbedding(job.id, vectors[i], this.modelId, job.hash)));
    const outcomes = replies.map((reply) => {
      if (reply.status === "rejected") {
        // A note deleted meanwhile needs no vector; anything else is worth a word.
        if (reply.reason?.code !== "not_found") this.handlers.onError(reply.reason);
        return "failed";
      }
      // Not stored: the note changed while it was embedded; its new text comes next.
      return reply.value.stored ? "stored" : "stale";
    });
    for (const outcome of outcomes) this.counts[outcome] += 1;
    const stored = jobs.filter((_, i) => outcomes[i] === "stored").map((job) => job.id);
    if (stored.length > 0) this.handlers.onStored(stored);
    return outcomes;
  }
}
