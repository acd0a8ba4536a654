// Keeps the personal head (webui/worker/personal.js) in step with the user's tags.
//
// At start the head Python kept is put to use at once. Then, and a moment after
// tags change, Python is asked for the head's training set (desktop/personal.py);
// when its signature differs from the head's, the worker trains a new one. The
// vectors move once: the page hands the worker those it does not hold yet (new
// notes, changed texts) in batches from Python, and the worker keeps them between
// trainings. Training runs in slices in the lowest lane, so typing, searching and
// suggesting go in between; the new head is used as soon as it is done and sent
// to Python to keep.
import { SUGGEST, TRAINING } from "./embedQueue.js";

// Tags changed: wait this long for more changes before training.
const RETRAIN_DELAY_MS = 2000;
// Vectors per bridge call (about 280 KB of base64).
const VECTOR_BATCH = 100;
// One training slice in the worker.
const STEP_MS = 40;

export class PersonalLearner {
  /**
   * handlers.onTagger(name): the worker's taggers are now `name` (a head was put to
   * use or dropped). handlers.onError(error): something worth showing failed.
   */
  constructor(api, queue, handlers) {
    this.api = api;
    this.queue = queue;
    this.handlers = handlers;
    this.modelId = null;
    this.started = null; // the kept head put to use
    this.signature = null; // of the head in use
    this.held = new Map(); // note id -> version of the vector the worker holds
    this.timer = null;
    this.checking = false;
    this.again = false;
    // Read by tests and diagnostics; `signature` is of the head in use and kept.
    this.counts = {
      checks: 0, trainings: 0, lastTrainMs: null, labels: [], examples: 0, signature: null,
    };
  }

  /** The model is ready: use the kept head, then train if the tags changed since. */
  async start(modelId) {
    this.modelId = modelId;
    this.started = this.api.personalHead(modelId).then((head) => this.#use(head));
    await this.started;
    await this.check();
  }

  /** Tags changed somewhere: train again once they settle. */
  tagsChanged() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.check().catch((error) => this.handlers.onError(error));
    }, RETRAIN_DELAY_MS);
  }

  /** Trains a new head if its examples changed (one check at a time; asked meanwhile, once more). */
  async check() {
    if (this.modelId === null) return;
    // Against the kept head, not against none while it loads.
    await this.started;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.again = false;
        await this.#checkOnce();
        this.counts.checks += 1;
      } while (this.again);
    } finally {
      this.checking = false;
    }
  }

  async #checkOnce() {
    const set = await this.api.personalTrainingSet(this.modelId, this.signature);
    if (set.unchanged) return;
    if (set.labels.length === 0) {
      // No tag is on enough notes (any more): no head.
      if (this.signature !== null) {
        await this.#use(null);
        await this.api.putPersonalHead(this.modelId, null);
      }
      return;
    }
    const started = performance.now();
    await this.#handOver(set.examples);
    // A note whose vector went stale meanwhile sits this training out.
    const examples = set.examples.filter((example) => this.held.has(example.id));
    const run = { signature: set.signature, labels: set.labels, examples };
    await this.queue.run(TRAINING, (model) => model.personalTrain(run));
    // The worker keeps only this run's vectors.
    const kept = new Set(examples.map((example) => example.id));
    for (const id of this.held.keys()) if (!kept.has(id)) this.held.delete(id);
    let step;
    do {
      step = await this.queue.run(TRAINING, (model) => model.personalStep(STEP_MS));
    } while (!step.done);
    const trainMs = performance.now() - started;
    this.signature = step.head.signature;
    this.handlers.onTagger(step.tagger);
    await this.api.putPersonalHead(this.modelId, step.head);
    Object.assign(this.counts, {
      trainings: this.counts.trainings + 1,
      lastTrainMs: trainMs,
      labels: run.labels,
      examples: examples.length,
      signature: this.signature,
    });
  }

  /** Gives the worker the vectors of examples it does not hold in this version. */
  async #handOver(examples) {
    const missing = examples.filter((example) => this.held.get(example.id) !== example.version);
    for (let start = 0; start < missing.length; start += VECTOR_BATCH) {
      const part = missing.slice(start, start + VECTOR_BATCH);
      const { ids, vectors } = await this.api.noteVectors(this.modelId, part.map((e) => e.id));
      if (ids.length > 0) {
        await this.queue.run(TRAINING, (model) => model.personalVectors(ids, vectors));
      }
      const version = new Map(part.map((example) => [example.id, example.version]));
      for (const id of ids) this.held.set(id, version.get(id));
    }
  }

  async #use(head) {
    const { tagger } = await this.queue.run(SUGGEST, (model) => model.personalUse(head));
    this.signature = head?.signature ?? null;
    this.counts.labels = head?.labels ?? [];
    this.counts.signature = this.signature;
    this.handlers.onTagger(tagger);
  }
}
