// Main-thread client of the model worker (webui/worker/worker.js): promises
// over postMessage. All model work happens in the worker, so nothing here blocks.
//
//   const model = createModel({ onStatus: (s) => show(s) });
//   await model.ready;                       // {backend, simd, threads, model_id, load_ms, tagger}
//   const [v] = await model.embed(["text"]); // Float32Array(512), unit length
//   const {tagger, outputs} = await model.tag([v]);   // suggested tags per vector

const WORKER_URL = new URL("./worker/worker.js", import.meta.url);

/**
 * Starts the worker and loads the model at once.
 * options.threads: wasm threads, default 1; more only where the page is
 * cross-origin isolated (SharedArrayBuffer), and see worker.js on why 1.
 * Returns {ready, status, onStatus(callback) -> unsubscribe, embed(texts), tag(vectors),
 * the personal head's calls (see worker.js), terminate()}.
 */
export function createModel({ onStatus, threads } = {}) {
  const url = new URL(WORKER_URL);
  if (threads) url.searchParams.set("threads", String(threads));
  const worker = new Worker(url, { type: "module" });
  const pending = new Map();
  const listeners = new Set(onStatus ? [onStatus] : []);
  let nextId = 1;
  let status = { state: "loading", backend: null, modelId: null, loadMs: null, error: null };

  const setStatus = (change) => {
    status = { ...status, ...change };
    for (const listener of listeners) listener(status);
  };

  const fail = (message) => {
    for (const { reject } of pending.values()) reject(new Error(message));
    pending.clear();
    setStatus({ state: "error", error: message });
  };

  worker.onmessage = ({ data }) => {
    const call = pending.get(data.id);
    if (!call) return;
    pending.delete(data.id);
    if (data.ok) call.resolve(data.result);
    else call.reject(new Error(data.error));
  };
  // A module that fails to load or an uncaught error in the worker ends
  // everything in flight: nothing else would ever answer.
  worker.onerror = (event) => {
    event.preventDefault();
    fail(`model worker: ${event.message || "failed to start"}`);
  };

  const call = (type, fields = {}, transfer = []) => new Promise((resolve, reject) => {
    if (status.state === "error") {
      reject(new Error(status.error));
      return;
    }
    const id = nextId++;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...fields }, transfer);
  });

  const started = performance.now();
  const ready = call("load").then(
    (info) => {
      setStatus({ state: "ready", backend: info.backend, modelId: info.model_id,
        loadMs: performance.now() - started });
      return info;
    },
    (err) => {
      if (status.state !== "error") setStatus({ state: "error", error: err.message });
      throw err;
    },
  );
  // Callers that only use embed() still see the failure there, not as an
  // unhandled rejection here.
  ready.catch(() => {});
  if (onStatus) onStatus(status);

  return {
    ready,
    get status() { return status; },
    onStatus(listener) {
      listeners.add(listener);
      listener(status);
      return () => listeners.delete(listener);
    },
    /** One Float32Array(512) per text, L2-normalised; long texts are chunked. */
    embed(texts) { return call("embed", { texts: Array.from(texts) }); },
    /** What the taggers suggest per vector: {tagger, outputs: [[{tag, confidence, source}]]}. */
    tag(vectors) { return call("tag", { vectors: Array.from(vectors) }); },
    /** embed and tag in one trip: {vectors, tagger, outputs}. */
    embedTagged(texts) { return call("embed_tagged", { texts: Array.from(texts) }); },
    /** Puts a trained head ({signature, labels, weights: Float32Array}) or none (null) to use. */
    personalUse(head) { return call("personal_use", { head }); },
    /** Hands over vectors to train on (vectors: Float32Array of ids.length x 512, transferred). */
    personalVectors(ids, vectors) {
      return call("personal_vectors", { ids, vectors }, [vectors.buffer]);
    },
    /** Starts training on desktop/personal.py's training set. */
    personalTrain(run) { return call("personal_train", { run }); },
    /** Trains for about budgetMs: {done, progress, head?, tagger?}. */
    personalStep(budgetMs) { return call("personal_step", { budget_ms: budgetMs }); },
    terminate() {
      worker.terminate();
      fail("model worker terminated");
    },
  };
}
