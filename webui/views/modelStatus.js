// The language model's corner of the status bar: loading, ready (on which
// backend) or failed, and the progress of indexing notes for search.

const SECOND = 1000;

export class ModelStatus {
  constructor(doc) {
    this.status = doc.getElementById("model-status");
    this.progress = doc.getElementById("index-progress");
    this.bar = doc.getElementById("index-bar");
    this.progressText = doc.getElementById("index-text");
  }

  /** status from webui/model.js: {state, backend, error}; info: its load info, once ready. */
  show(status, info = null) {
    this.status.dataset.state = status.state;
    this.status.title = "";
    if (status.state === "loading") {
      this.status.textContent = "Loading language model…";
    } else if (status.state === "ready") {
      this.status.textContent = `Model ready · ${backendLabel(info ?? status)}`;
    } else {
      this.status.textContent = "Language model unavailable: search matches words only";
      this.status.title = status.error ?? "";
    }
  }

  /** run: {done, total, capped, startedAt} from the indexer, or null when it ends. */
  showProgress(run) {
    if (run === null) {
      this.progress.hidden = true;
      return;
    }
    this.bar.max = run.total;
    this.bar.value = Math.min(run.done, run.total);
    const of = `${run.done.toLocaleString()} of ${run.total.toLocaleString()}${run.capped ? "+" : ""}`;
    this.progressText.textContent = `Indexing notes for search: ${of} · ${timeLeft(run)}`;
    this.progress.hidden = false;
  }
}

function backendLabel(info) {
  const details = [];
  if (info.simd) details.push("SIMD");
  if (info.threads > 1) details.push(`${info.threads} threads`);
  return details.length ? `${info.backend} (${details.join(", ")})` : info.backend;
}

/** "about 40 s left", "about 3 min left", from the pace so far. */
function timeLeft(run) {
  if (run.done === 0) return "estimating time left…";
  const perNote = (performance.now() - run.startedAt) / run.done;
  const left = Math.max(run.total - run.done, 0) * perNote;
  if (left < 90 * SECOND) return `about ${Math.max(1, Math.round(left / SECOND))} s left`;
  return `about ${Math.round(left / (60 * SECOND))} min left`;
}
