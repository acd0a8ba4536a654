// The model worker (a module worker): TF.js, the tokenizer, the encoder and the
// taggers live here, so the page never waits on them. webui/model.js is its client.
//
// Script URL: worker.js[?threads=N] (see wasmThreads).
// In:  {id, type: "load"}            Out: {id, ok: true, result: {backend, simd,
//                                          threads, model_id, encoder_kernels,
//                                          load_ms, tagger, tagger_error}}
//      {id, type: "embed", texts}         {id, ok: true, result: Float32Array[]}
//                                          (buffers transferred)
//      {id, type: "tag", vectors}         {tagger, outputs: [[{tag, confidence,
//                                          source: "topic"|"personal"}]]}
//      {id, type: "embed_tagged", texts}  {vectors, tagger, outputs}: both at once
//      {id, type: "personal_use", head}   {tagger} (head: {signature, labels,
//                                          weights: Float32Array} or null)
//      {id, type: "personal_vectors",     {held} (vectors: Float32Array of ids.length
//       ids, vectors}                      x 512, kept for training)
//      {id, type: "personal_train", run}  {examples} (run: desktop/personal.py's
//                                          training set; its vectors sent before)
//      {id, type: "personal_step",        {done, progress, head?, tagger?}: trains
//       budget_ms}                         for about budget_ms; when done the new
//                                          head is in use and sent back
//      on failure                         {id, ok: false, error: "message"}
// Messages are handled in order; any other message before "load" loads first.
// `tagger` names the taggers in use ("<default>:<personal>", "none" for either
// that is missing): suggestions stored under another name are stale.

// tf.min.js and the wasm backend are UMD bundles: imported for their side
// effect, they attach to globalThis.tf (their wrapper looks for globalThis
// first), which keeps this a module worker that can import our ES modules.
import "../vendor/tf.min.js";
import "../vendor/tf-backend-wasm.min.js";
import { BACKGROUND_NOTES } from "./background_notes.js";
import { codedProductsEngine } from "./coded_products.js";
import { loadEncoder } from "./encoder.js";
import { DIM, PersonalHead, Training } from "./personal.js";
import { loadTagger } from "./tagger.js";
import { loadTokenizer } from "./tokenizer.js";

const tf = globalThis.tf;
const VENDOR = new URL("../vendor/", import.meta.url).href;
const MODEL = new URL("../models/use/", import.meta.url).href;
const TAGGER = new URL("../models/tagger/", import.meta.url).href;
// Everyday texts embedded per personal_step while the first training starts.
const BACKGROUND_BATCH = 16;
// Fastest first: wasm (SIMD, threaded when the page is cross-origin isolated);
// webgl is slow or blocked without a GPU; cpu always works.
const BACKENDS = ["wasm", "webgl", "cpu"];

// Threads for XNNPACK, which runs the tagger (the encoder's products are
// coded_products.js's, on this thread): ?threads=N on this script's URL (at most 4), default 1.
// On 2 cores shared with the UI and other programs, two threads measured no
// faster in bulk and several times slower per note (a descheduled helper
// stalls every product), so one is the default. Threaded wasm also needs
// SharedArrayBuffer (a cross-origin isolated page), which the webview lacks.
// With one thread the single-threaded SIMD build runs and starts no helpers.
function wasmThreads() {
  const asked = Number(new URL(import.meta.url).searchParams.get("threads"));
  const wanted = Math.min(Math.max(1, Math.floor(asked) || 1), 4);
  return typeof SharedArrayBuffer === "function" ? wanted : 1;
}

async function startBackend() {
  const threads = wasmThreads();
  if (threads === 1) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  } else {
    // tfjs-backend-wasm caps its pool at hardwareConcurrency / 2, assuming two
    // hardware threads per core; that leaves one thread on a 2-core machine.
    Object.defineProperty(WorkerNavigator.prototype, "hardwareConcurrency",
      { get: () => 2 * threads, configurable: true });
    tf.wasm.setThreadsCount(threads);
  }
  tf.wasm.setWasmPaths(VENDOR);
  const failures = [];
  for (const name of BACKENDS) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, failures };
      }
      failures.push(`${name}: not available`);
    } catch (err) {
      failures.push(`${name}: ${err?.message ?? err}`);
    }
  }
  throw new Error(`no TF.js backend started (${failures.join("; ")})`);
}

/** The default tagger, or null and why not: suggestions then come from the other sources. */
function usableTagger(loadedTagger, encoder) {
  if (loadedTagger instanceof Error) return { tagger: null, error: loadedTagger.message };
  if (loadedTagger.encoderModelId !== encoder.modelId) {
    const trainedOn = loadedTagger.encoderModelId;
    return { tagger: null, error: `trained on encoder ${trainedOn}, not ${encoder.modelId}` };
  }
  return { tagger: loadedTagger, error: null };
}

async function load() {
  const t0 = performance.now();
  tf.enableProdMode();
  const backend = await startBackend();
  const [tokenizer, encoder, loadedTagger] = await Promise.all([
    loadTokenizer(new URL("sp.model", MODEL).href),
    loadEncoder(tf, MODEL),
    loadTagger(TAGGER, tf).catch((err) => (err instanceof Error ? err : new Error(String(err)))),
  ]);
  const { tagger, error } = usableTagger(loadedTagger, encoder);
  const wasm = backend.name === "wasm";
  const info = {
    backend: backend.name,
    simd: wasm && await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
    threads: wasm ? tf.wasm.getThreadsCount() : 1,
    fallback_reasons: backend.failures,
    model_id: encoder.modelId,
    encoder_kernels: codedProductsEngine(),
    load_ms: performance.now() - t0,
    tagger: tagger && { id: tagger.id, labels: tagger.labels },
    tagger_error: error,
  };
  return { tokenizer, encoder, tagger, info };
}

let loading = null;
const loaded = () => (loading ??= load());

// The personal head in use, the vectors it trains on (note id -> Float32Array),
// the everyday texts' vectors, and the training under way.
let personal = null;
const examples = new Map();
const background = [];
let training = null;

function taggerName(tagger) {
  return `${tagger?.id ?? "none"}:${personal?.signature.slice(0, 12) ?? "none"}`;
}

/** What the taggers suggest for each vector: {tagger, outputs: [[{tag, confidence, source}]]}. */
async function tagged(vectors) {
  const { tagger } = await loaded();
  const topics = tagger ? await tagger.suggest(vectors) : vectors.map(() => []);
  const mine = personal ? personal.suggest(vectors) : vectors.map(() => []);
  const outputs = vectors.map((_, i) => [
    ...topics[i].map(({ tag, confidence }) => ({ tag, confidence, source: "topic" })),
    ...mine[i].map(({ tag, confidence }) => ({ tag, confidence, source: "personal" })),
  ]);
  return { tagger: taggerName(tagger), outputs };
}

function checkedVectors(vectors) {
  if (!Array.isArray(vectors) || vectors.some((v) => v?.length !== DIM)) {
    throw new TypeError(`vectors must be an array of ${DIM} numbers each`);
  }
  return vectors;
}

const handlers = {
  async load() {
    return { result: (await loaded()).info };
  },
  async embed({ texts }) {
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string")) {
      throw new TypeError("embed: texts must be an array of strings");
    }
    const { tokenizer, encoder } = await loaded();
    const vectors = await encoder.embedIds(texts.map((t) => tokenizer.encode(t)));
    return { result: vectors, transfer: vectors.map((v) => v.buffer) };
  },
  async tag({ vectors }) {
    return { result: await tagged(checkedVectors(vectors)) };
  },
  // A saved note's vector and its suggestions in one trip: the page may be busy
  // (laying out the note list) when a reply comes, and a second trip waits again.
  async embed_tagged({ texts }) {
    const { result: vectors, transfer } = await handlers.embed({ texts });
    return { result: { vectors, ...await tagged(vectors) }, transfer };
  },
  async personal_use({ head }) {
    const { tagger } = await loaded();
    personal = head ? new PersonalHead(head) : null;
    return { result: { tagger: taggerName(tagger) } };
  },
  async personal_vectors({ ids, vectors }) {
    if (!Array.isArray(ids) || !(vectors instanceof Float32Array)
        || vectors.length !== ids.length * DIM) {
      throw new TypeError(`personal_vectors: ${DIM} numbers per id`);
    }
    ids.forEach((id, i) => examples.set(id, vectors.slice(i * DIM, (i + 1) * DIM)));
    return { result: { held: examples.size } };
  },
  async personal_train({ run }) {
    const missing = run.examples.filter((example) => !examples.has(example.id));
    if (missing.length) throw new Error(`personal_train: no vector for ${missing.length} notes`);
    // Only the notes of this run are still examples.
    const wanted = new Set(run.examples.map((example) => example.id));
    for (const id of examples.keys()) if (!wanted.has(id)) examples.delete(id);
    training?.job?.dispose();
    training = { run, vectors: run.examples.map((example) => examples.get(example.id)), job: null };
    return { result: { examples: run.examples.length } };
  },
  async personal_step({ budget_ms: budgetMs }) {
    if (!training) throw new Error("personal_step: no training under way");
    const { tokenizer, encoder, tagger } = await loaded();
    if (background.length < BACKGROUND_NOTES.length) {
      const texts = BACKGROUND_NOTES.slice(background.length, background.length + BACKGROUND_BATCH);
      background.push(...await encoder.embedIds(texts.map((t) => tokenizer.encode(t))));
      return { result: { done: false, progress: 0 } };
    }
    training.job ??= new Training(tf, training.run, training.vectors, background);
    const progress = training.job.step(budgetMs);
    if (!training.job.done) return { result: { done: false, progress } };
    personal = training.job.finish();
    training = null;
    const weights = personal.weights.slice();
    return {
      result: {
        done: true,
        progress: 1,
        head: { signature: personal.signature, labels: personal.labels, weights },
        tagger: taggerName(tagger),
      },
      transfer: [weights.buffer],
    };
  },
};

// One message at a time, in arrival order, so an embed never overlaps another.
let queue = Promise.resolve();
self.onmessage = ({ data }) => {
  queue = queue.then(async () => {
    try {
      const handler = handlers[data?.type];
      if (!handler) throw new Error(`unknown message type ${JSON.stringify(data?.type)}`);
      const { result, transfer = [] } = await handler(data);
      self.postMessage({ id: data.id, ok: true, result }, transfer);
    } catch (err) {
      self.postMessage({ id: data?.id, ok: false, error: String(err?.message ?? err) });
    }
  });
};
