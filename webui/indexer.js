// Keeps every note's vector current. A note whose text changed is embedded as
// soon as it is saved; notes without a current vector (an older database, a new
// model, an import, an app closed mid-way) are caught up in the background in
// small batches. Each batch is stored as soon as it is done, so closing the app
// loses nothing and the next start goes on where this one stopped.
//
// The worker tags what it embeds in the same trip (saved notes through the queue's
// SAVED lane, background batches here), so that suggestions follow the vectors
// without reading them back from Python (webui/tagSuggester.js).
import { BACKGROUND, SAVED } from "./embedQueue.js";

// Background batches are sized to take about this long in the worker, so that a
// saved note or a query waits for at most one of them. The worker's throughput
// grows with the batch: short notes (an import, say) go many at a time, long
// ones a few; the size follows the time the last batch took.
const BATCH_MS = 250;
// While nobody types or clicks, no one waits on the worker but the catch-up
// itself: batches may take longer, and bigger ones embed faster per note.
const IDLE_BATCH_MS = 1000;
const IDLE_AFTER_MS = 1500;
const MIN_BATCH = 4;
const MAX_BATCH = 256;

let lastInput = -Infinity;
for (const type of ["keydown", "pointerdown", "wheel"]) {
  globalThis.addEventListener?.(type, () => { lastInput = performance.now(); },
    { capture: true, passive: true });
}
const idle = () => performance.now() - lastInput > IDLE_AFTER_MS;
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
   * catching up, null when it ends. handlers.onEmbedded(jobs, vectors, tags, lane):
   * vectors were made for jobs [{id, text, hash}] (before they are stored), and
   * tags[i] is what the taggers said of vectors[i] ({tagger, outputs}); the promise
   * it returns (their suggestions kept) is awaited before the next batch, and for a
   * saved note before its vector is stored, so that storing does not compete with
   * showing its suggestions. handlers.onStored(ids): these
   * notes' vectors changed. handlers.onError(error): storing failed in a way worth
   * showing.
   */
  constructor(api, queue, handlers) {
    this.api = api;
    this.queue = queue;
    this.handlers = handlers;
    this.modelId = null;
    this.saved = new Map(); // note id -> {text, hash, vector}, the latest text of each
    this.early = new Map(); // note id -> {text, vector}: embedding while it is saved
    this.savingNow = false;
    this.catchingUp = false;
    this.batch = MIN_BATCH; // notes in the next background batch
    // Vectors by outcome, and catch-up runs finished: read by tests and diagnostics.
    this.counts = { stored: 0, stale: 0, failed: 0, runs: 0 };
  }

  /** The model is ready: from now on vectors are made with `modelId`. */
  start(modelId) {
    this.modelId = modelId;
    return this.catchUp();
  }

  /** Note `id` is being saved with fields {title, body}: its vector is started now,
   * while Python saves it, and used once the store returns that same text. */
  noteSaving(id, fields) {
    if (this.modelId === null) return;
    const text = contentText(fields);
    const vector = this.queue.embed([text], SAVED).then(([made]) => made);
    vector.catch(() => {}); // a failure is reported where the vector is used
    this.early.set(id, { text, vector });
  }

  /** A note as the store returned it after its text (content hash) changed. Resolves
   * once the vector made for that text has been handed to onEmbedded and what it
   * returned settled (its suggestions shown, then kept), or at once with no model. */
  noteChanged(note) {
    // Before the model is ready the catch-up at its start finds this note anyway.
    if (this.modelId === null) return Promise.resolve();
    const text = contentText(note);
    const early = this.early.get(note.id);
    this.early.delete(note.id);
    const vector = early?.text === text ? early.vector : null;
    const handed = new Promise((resolve) => {
      // A newer text of the note takes the place of one still waiting: that one is done.
      this.saved.get(note.id)?.handed();
      this.saved.set(note.id, { text, hash: note.content_hash, vector, handed: resolve });
    });
    this.#storeSaved().catch((error) => this.handlers.onError(error));
    return handed;
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
        const jobs = (await this.api.notesNeedingEmbedding(this.modelId, this.batch + refused.size))
          .filter((job) => refused.get(job.id) !== job.content_hash)
          .slice(0, this.batch);
        if (jobs.length === 0) break;
        const started = performance.now();
        const outcomes = await this.#embedAndStore(
          jobs.map((job) => ({ id: job.id, text: job.text, hash: job.content_hash })),
          BACKGROUND,
        );
        this.#sizeNextBatch(jobs.length, performance.now() - started);
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

  /** At most doubles or halves at a time, so one odd batch does not swing it far. */
  #sizeNextBatch(size, ms) {
    const target = idle() ? IDLE_BATCH_MS : BATCH_MS;
    const fitting = Math.round(size * (target / Math.max(ms, 1)));
    this.batch = Math.min(MAX_BATCH, Math.max(MIN_BATCH, Math.round(size / 2), Math.min(
      fitting, size * 2)));
  }

  /** One worker call at a time for saved notes; typing meanwhile only updates `saved`. */
  async #storeSaved() {
    if (this.savingNow) return;
    this.savingNow = true;
    try {
      while (this.saved.size > 0) {
        const jobs = [...this.saved].map(([id, job]) => ({ id, ...job }));
        this.saved.clear();
        try {
          await this.#embedAndStore(jobs, SAVED);
        } finally {
          for (const job of jobs) job.handed(); // also when embedding or storing failed
        }
      }
    } finally {
      this.savingNow = false;
    }
  }

  /** Embeds and stores jobs; resolves to "stored", "stale" or "failed" for each. */
  async #embedAndStore(jobs, lane) {
    const { vectors, tags } = await this.#embedTagged(jobs, lane);
    const used = this.handlers.onEmbedded(jobs, vectors, tags, lane);
    if (lane === SAVED) {
      await used;
      for (const job of jobs) job.handed();
    }
    // One call and one transaction for the whole batch. "stale": the note changed
    // while it was embedded, its new text comes next; a note deleted meanwhile
    // needs no vector.
    let outcomes;
    try {
      const reply = await this.api.putEmbeddings(this.modelId, jobs, vectors);
      outcomes = reply.outcomes.map((outcome) => (outcome === "not_found" ? "failed" : outcome));
    } catch (error) {
      this.handlers.onError(error);
      outcomes = jobs.map(() => "failed");
    }
    for (const outcome of outcomes) this.counts[outcome] += 1;
    const stored = jobs.filter((_, i) => outcomes[i] === "stored").map((job) => job.id);
    if (stored.length > 0) this.handlers.onStored(stored);
    // A batch's suggestions are kept before the next batch, and before the catch-up
    // that follows the run looks for notes without them.
    await used;
    return outcomes;
  }

  /** {vectors, tags}: the jobs' vectors, and the taggers' {tagger, outputs} for each. */
  async #embedTagged(jobs, lane) {
    // A saved note's vector may have started (a promise) while it was saved; the
    // others are made now.
    const rest = jobs.filter((job) => !job.vector);
    const made = rest.length > 0 ? this.queue.embed(rest.map((job) => job.text), lane) : null;
    const vectors = await Promise.all(
      jobs.map(async (job) => job.vector ?? (await made)[rest.indexOf(job)]));
    return { vectors, tags: vectors.map((vector) => this.queue.tagsOf(vector)) };
  }
}
