// The one place that calls window.pywebview.api (desktop/api.py). Every call
// resolves with data or rejects with a BridgeError carrying a plain message.

export class BridgeError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "BridgeError";
    this.code = code;
  }
}

// pywebview injects window.pywebview after the page loads, then fires this event.
const ready = new Promise((resolve) => {
  if (window.pywebview?.api?.list_notes) resolve();
  else window.addEventListener("pywebviewready", () => resolve(), { once: true });
});

export async function call(method, ...args) {
  await ready;
  const fn = window.pywebview.api[method];
  if (typeof fn !== "function") {
    throw new BridgeError("internal", `Margin has no “${method}” action.`);
  }
  let reply;
  try {
    reply = await fn(...args);
  } catch (error) {
    // Only reached if Python raised past api.py's guard; details are in its log.
    console.error(method, error);
    throw new BridgeError("internal", "Something went wrong inside Margin. Details are in the log.");
  }
  if (reply !== null && typeof reply === "object" && "error" in reply) {
    throw new BridgeError(reply.error.code, reply.error.message);
  }
  return reply;
}

/** Float32Array from base64 of float32 little-endian (vectors, one after another). */
function floatsFromBase64(text) {
  const binary = atob(text);
  const view = new DataView(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) view.setUint8(i, binary.charCodeAt(i));
  return Float32Array.from({ length: binary.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

/** A vector as base64 of float32 little-endian: exact, and compact on the bridge. */
function vectorBase64(vector) {
  const view = new DataView(new ArrayBuffer(vector.length * 4));
  vector.forEach((x, i) => view.setFloat32(i * 4, x, true));
  let binary = "";
  for (const byte of new Uint8Array(view.buffer)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export const api = {
  listNotes: (text, tag, limit, offset) => call("list_notes", text, tag, limit, offset),
  getNote: (id) => call("get_note", id),
  createNote: (fields = {}) => call("create_note", fields),
  saveNote: (id, fields) => call("save_note", id, fields),
  deleteNote: (id) => call("delete_note", id),
  undoDelete: (id) => call("undo_delete", id),
  addTag: (id, name) => call("add_tag", id, name),
  removeTag: (id, name) => call("remove_tag", id, name),
  listTags: () => call("list_tags"),
  renameTag: (oldName, newName) => call("rename_tag", oldName, newName),
  openSource: (id) => call("open_source", id),
  /** jobs: [{id, hash}], vectors: Float32Array each; resolves to their outcomes. */
  putEmbeddings: (modelId, jobs, vectors) => call("put_embeddings", modelId, jobs.map(
    (job, i) => ({ id: job.id, content_hash: job.hash, vector: vectorBase64(vectors[i]) }),
  )),
  notesNeedingEmbedding: (modelId, limit) => call("notes_needing_embedding", modelId, limit),
  embeddingBacklog: (modelId) => call("embedding_backlog", modelId),
  /** filters: {tag, from, to}; vector: the query's embedding, or null for words only. */
  search: (query, vector, filters) =>
    call("search", query, vector ? vectorBase64(vector) : null, filters),
  related: (id) => call("related", id),
  // Tag suggestions (desktop/suggest.py). outputs: [{tag, confidence, source}].
  suggestions: async (id, tagger) => {
    const reply = await call("suggestions", id, tagger);
    return { ...reply, vector: reply.vector ? floatsFromBase64(reply.vector) : null };
  },
  suggest: (id, contentHash, vector, outputs) =>
    call("suggest", id, contentHash, vectorBase64(vector), outputs),
  /** items: [{id, content_hash, outputs}] */
  putSuggestions: (tagger, items) => call("put_suggestions", tagger, items),
  suggestionBacklog: (modelId, tagger) => call("suggestion_backlog", modelId, tagger),
  /** {ids, hashes, vectors: Float32Array of ids.length x 512} */
  notesNeedingSuggestions: async (modelId, tagger, limit) => {
    const reply = await call("notes_needing_suggestions", modelId, tagger, limit);
    return { ...reply, vectors: floatsFromBase64(reply.vectors) };
  },
  acceptSuggestion: (id, tag, source, confidence) =>
    call("accept_suggestion", id, tag, source, confidence),
  rejectSuggestion: (id, tag, source, confidence) =>
    call("reject_suggestion", id, tag, source, confidence),
  // The personal head (desktop/personal.py).
  personalTrainingSet: (modelId, knownSignature) =>
    call("personal_training_set", modelId, knownSignature),
  /** {ids, vectors: Float32Array of ids.length x 512} */
  noteVectors: async (modelId, ids) => {
    const reply = await call("note_vectors", modelId, ids);
    return { ids: reply.ids, vectors: floatsFromBase64(reply.vectors) };
  },
  /** {signature, labels, weights: Float32Array} or null */
  personalHead: async (modelId) => {
    const head = await call("personal_head", modelId);
    return head && { ...head, weights: floatsFromBase64(head.weights) };
  },
  putPersonalHead: (modelId, head) => call("put_personal_head", modelId,
    head && { signature: head.signature, labels: head.labels, weights: vectorBase64(head.weights) }),
};
