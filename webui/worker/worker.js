// The model worker (a module worker): TF.js, the tokenizer and the encoder live
// here, so the page never waits on them. webui/model.js is its client.
//
// Script URL: worker.js[?threads=N] (see wasmThreads).
// In:  {id, type: "load"}            Out: {id, ok: true, result: {backend, simd,
//                                          threads, model_id, load_ms}}
//      {id, type: "embed", texts}         {id, ok: true, result: Float32Array[]}
//                                          (buffers transferred)
//      on failure                         {id, ok: false, error: "message"}
// Messages are handled in order; "embed" before "load" loads first.

// tf.min.js and the wasm backend are UMD bundles: imported for their side
// effect, they attach to globalThis.tf (their wrapper looks for globalThis
// first), which keeps this a module worker that can import our ES modules.
import "../vendor/tf.min.js";
import "../vendor/tf-backend-wasm.min.js";
import { loadEncoder } from "./encoder.js";
import { loadTokenizer } from "./tokenizer.js";

const tf = globalThis.tf;
const VENDOR = new URL("../vendor/", import.meta.url).href;
const MODEL = new URL("../models/use/", import.meta.url).href;
// Fastest first: wasm (SIMD, threaded when the page is cross-origin isolated);
// webgl is slow or blocked without a GPU; cpu always works.
const BACKENDS = ["wasm", "webgl", "cpu"];

// Threads for XNNPACK: ?threads=N on this script's URL (at most 4), default 1.
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

async function load() {
  const t0 = performance.now();
  tf.enableProdMode();
  const backend = await startBackend();
  const [tokenizer, encoder] = await Promise.all([
    loadTokenizer(new URL("sp.model", MODEL).href),
    loadEncoder(tf, MODEL),
  ]);
  const wasm = backend.name === "wasm";
  const info = {
    backend: backend.name,
    simd: wasm && await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
    threads: wasm ? tf.wasm.getThreadsCount() : 1,
    fallback_reasons: backend.failures,
    model_id: encoder.modelId,
    load_ms: performance.now() - t0,
  };
  return { tokenizer, encoder, info };
}

let loading = null;
const loaded = () => (loading ??= load());

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
