// Tag suggestions: fresh ones for the note on screen, and in the background for
// every note, so that opening any note shows its suggestions at once.
//
// The open note: when the indexer has made a vector for a saved note (a pause in
// typing), the worker has tagged it in the same trip (embedQueue.js), and the
// taggers' outputs go to Python, which answers with the note's suggestions,
// merged with its neighbours' tags (desktop/suggest.py); once they show, the
// outputs are kept, so that the write is not on the way to the screen. A note
// opened shows what Python kept; if that is stale (older text, other taggers)
// Python hands over the note's vector and it is tagged again (lane SUGGEST).
//
// Every note: the indexer's background batches are tagged as they are embedded
// (webui/indexer.js), and their outputs are kept at once. A catch-up run tags
// the vectors of the notes still without current outputs (vectors made before
// the taggers were ready, or under taggers since replaced), a batch at a time
// in lane BACKGROUND_TAGS (after all embedding), with its progress in the status
// bar. It runs when the model is ready, after each indexing run, and whenever
// the taggers change (a newly trained personal head).
import { BACKGROUND_TAGS, SUGGEST } from "./embedQueue.js";

// Notes per background call: their vectors are about 170 KB of base64 on the
// bridge, and tagging them takes the worker a few milliseconds.
const BATCH = 64;
// A breather between background batches, so the page's own work goes first.
const PAUSE_MS = 40;

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

export class TagSuggester {
  /**
   * handlers.onShow(noteId, suggestions): what to show for the open note.
   * handlers.onProgress(run | null): run is {done, total, capped} while catching
   * up (only runs of more than one batch), null when it ends.
   * handlers.onError(error): something worth showing failed.
   */
  constructor(api, queue, handlers) {
    this.api = api;
    this.queue = queue;
    this.handlers = handlers;
    this.modelId = null;
    this.tagger = null; // the worker's taggers, by name, once the model is ready
    this.noteId = null;
    this.shown = [];
    this.ticket = 0; // the newest request about the open note wins
    this.catchingUp = false;
    this.again = false;
    // Read by tests and diagnostics: vectors tagged, catch-up runs finished.
    this.counts = { tagged: 0, runs: 0 };
  }

  /** The worker's taggers are `tagger` (worker.js names them) for encoder `modelId`. */
  useTagger(modelId, tagger) {
    if (modelId === this.modelId && tagger === this.tagger) return;
    this.modelId = modelId;
    this.tagger = tagger;
    this.refresh().catch((error) => this.#failed(error));
    this.catchUp().catch((error) => this.#failed(error));
  }

  /** The editor shows note `noteId` now (null: none). */
  show(noteId) {
    this.noteId = noteId;
    this.#show(noteId, []);
    return this.refresh();
  }

  /** The suggestion shown at `index`, if any. */
  at(index) {
    return this.shown[index];
  }

  /** Stops showing a suggestion at once (it was accepted or rejected). */
  drop(tag) {
    this.#show(this.noteId, this.shown.filter((suggestion) => suggestion.tag !== tag));
  }

  /** Asks again for the open note's suggestions (its tags, or other notes', changed). */
  async refresh() {
    const id = this.noteId;
    if (id === null) return;
    const ticket = ++this.ticket;
    const reply = await this.api.suggestions(id, this.tagger ?? "none:none");
    if (ticket !== this.ticket) return;
    this.#show(id, reply.suggestions);
    if (reply.stale && reply.vector && this.tagger !== null) {
      await this.#tagAndKeep([{ id, hash: reply.content_hash }], [reply.vector], SUGGEST);
    }
  }

  /** The indexer made these vectors for jobs [{id, hash}], and the worker tagged them
   * ({tagger, outputs} each); resolves once they are kept and the open note's shown.
   * Kept even before useTagger() named the taggers: outputs carry their taggers'
   * name, and the catch-up redoes those of taggers replaced since. */
  vectorsEmbedded(jobs, vectors, tags) {
    // One worker trip made them all, under one name of its taggers.
    return this.#keep(jobs, vectors, tags[0].tagger, tags.map((tagged) => tagged.outputs))
      .catch((error) => this.#failed(error));
  }

  /** Tags every note whose kept outputs are missing or stale, a batch at a time. */
  async catchUp() {
    if (this.tagger === null) return;
    if (this.catchingUp) {
      this.again = true; // the taggers or the notes changed under the run under way
      return;
    }
    this.catchingUp = true;
    try {
      do {
        this.again = false;
        await this.#catchUpOnce();
      } while (this.again);
    } finally {
      this.catchingUp = false;
      this.counts.runs += 1;
      this.handlers.onProgress(null);
    }
  }

  async #catchUpOnce() {
    const { tagger, modelId } = this;
    const { remaining, capped } = await this.api.suggestionBacklog(modelId, tagger);
    if (remaining === 0) return;
    const run = { done: 0, total: remaining, capped };
    for (;;) {
      if (tagger !== this.tagger) {
        this.again = true;
        return;
      }
      const jobs = await this.api.notesNeedingSuggestions(modelId, tagger, BATCH);
      if (jobs.ids.length === 0) {
        // Notes counted at the start may have been tagged meanwhile on their own
        // (the open note): the run is complete, so the bar ends full.
        if (run.done > 0 && run.done < run.total) {
          run.total = run.done;
          if (run.total > BATCH) this.handlers.onProgress(run);
        }
        return;
      }
      const vectors = jobs.ids.map((_, i) => jobs.vectors.subarray(i * 512, (i + 1) * 512));
      const reply = await this.queue.run(BACKGROUND_TAGS, (model) => model.tag(vectors));
      this.counts.tagged += vectors.length;
      if (reply.tagger !== tagger) {
        // The worker has new taggers (a head just trained): start again under their name.
        this.tagger = reply.tagger;
        this.again = true;
        return;
      }
      await this.api.putSuggestions(tagger, jobs.ids.map((id, i) => (
        { id, content_hash: jobs.hashes[i], outputs: reply.outputs[i] })));
      run.done += jobs.ids.length;
      run.total = Math.max(run.total, run.done);
      if (run.total > BATCH) this.handlers.onProgress(run);
      await pause(PAUSE_MS);
    }
  }

  /** Tags vectors of jobs [{id, hash}] in `lane`, keeps the outputs, and shows the
   * open note's. */
  async #tagAndKeep(jobs, vectors, lane) {
    const { tagger, outputs } = await this.queue.run(lane, (model) => model.tag(vectors));
    await this.#keep(jobs, vectors, tagger, outputs);
  }

  /** Shows the open note's suggestions first, then keeps the taggers' outputs for
   * jobs [{id, hash}]: a write waits for the disk, and would hold up the showing. */
  async #keep(jobs, vectors, tagger, outputs) {
    this.counts.tagged += vectors.length;
    const items = jobs.map((job, i) => ({ id: job.id, content_hash: job.hash, outputs: outputs[i] }));
    const open = jobs.findIndex((job) => job.id === this.noteId);
    if (open !== -1) {
      const job = jobs[open];
      const ticket = ++this.ticket;
      const reply = await this.api.suggest(job.id, job.hash, vectors[open], outputs[open]);
      // Not current: the note changed meanwhile, and its new text's turn comes next.
      if (ticket === this.ticket && reply.current) this.#show(job.id, reply.suggestions);
    }
    // Outputs of text changed since are skipped by the store.
    await this.api.putSuggestions(tagger, items);
  }

  #show(noteId, suggestions) {
    if (noteId !== this.noteId) return;
    this.shown = suggestions;
    this.handlers.onShow(noteId, suggestions);
  }

  #failed(error) {
    // A note deleted meanwhile needs no suggestions.
    if (error?.code !== "not_found") this.handlers.onError(error);
  }
}
