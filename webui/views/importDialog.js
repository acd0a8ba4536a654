// The "Import and export" dialog. Import: pick a folder or a file with the
// system's dialog, then a progress bar (count, rate, time left, the file being
// read) with Cancel, then a summary that names each file that could not be
// imported and why. The import itself runs on a Python thread
// (desktop/imports/job.py); this view asks for its progress a few times a
// second. Export: pick a folder, get Markdown files or one JSON file there.
//
// An import that stopped before its end is offered to resume or discard. One cut
// short (the window closed or the app was killed mid-import) gets a banner across
// the window at start, since nobody chose to stop it; one the user cancelled is
// offered only inside this dialog, since they chose to stop it and a banner at each
// start would nag. Either way the dialog lists them when it opens.
import { call } from "../bridge.js";
import { el } from "./dom.js";

const POLL_MS = 250;
// Failures listed in the summary; the rest are counted.
const LISTED_FAILURES = 100;

const count = (n, one, many = `${one}s`) => `${n.toLocaleString()} ${n === 1 ? one : many}`;

export class ImportDialog {
  /**
   * handlers.onProgress(progress): while an import runs and when it ends (notes
   * arrive: refresh the list, nudge the indexer). handlers.onFinished(progress).
   * handlers.onMessage(text, kind): a line for the status bar.
   */
  constructor(doc, handlers) {
    const $ = (id) => doc.getElementById(id);
    this.doc = doc;
    this.handlers = handlers;
    this.root = $("transfer-panel");
    this.run = $("import-run");
    this.bar = $("import-bar");
    this.text = $("import-text");
    this.current = $("import-current");
    this.cancelButton = $("import-cancel");
    this.summary = $("import-summary");
    this.failures = $("import-failures");
    this.exportResult = $("export-result");
    this.statusButton = $("import-status");
    this.choices = [$("import-folder"), $("import-file")];
    this.progress = null;
    this.polling = false;
    this.unfinished = []; // desktop/imports/job.py unfinished()
    this.banner = el("div", {
      id: "import-notice", className: "import-notice", role: "status", hidden: true,
    });
    doc.body.prepend(this.banner);
    this.offers = el("div", { id: "import-offers", className: "import-offers", hidden: true });
    this.root.querySelector(".transfer-actions").before(this.offers);
    this.returnFocus = null;

    $("import-folder").addEventListener("click", () => this.#choose("import-folder"));
    $("import-file").addEventListener("click", () => this.#choose("import-file"));
    this.cancelButton.addEventListener("click", () => this.cancel());
    $("export-markdown").addEventListener("click", () => this.#export("markdown"));
    $("export-json").addEventListener("click", () => this.#export("json"));
    $("transfer-close").addEventListener("click", () => this.close());
    this.statusButton.addEventListener("click", () => this.open());
    // On the document: focus may have left the dialog (a button turned disabled).
    doc.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen) {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      }
    });
    this.root.addEventListener("click", (event) => {
      if (event.target === this.root) this.close(); // the backdrop
    });
  }

  get isOpen() {
    return !this.root.hidden;
  }

  open() {
    if (!this.isOpen) this.returnFocus = this.doc.activeElement;
    this.root.hidden = false;
    this.#render();
    (this.progress && !this.#finished() ? this.cancelButton : this.choices[0]).focus();
    this.offerUnfinished().catch((error) => this.handlers.onError(error));
  }

  /** Asks which imports stopped before their end, and offers them. */
  async offerUnfinished() {
    this.unfinished = await call("unfinished_imports");
    this.#renderOffers();
    return this.unfinished;
  }

  close() {
    this.root.hidden = true;
    this.#render();
    this.returnFocus?.focus?.();
    this.returnFocus = null;
  }

  /** Starts importing `path` (what the file dialog gave, or a test's path). */
  async start(path) {
    return this.#follow(call("start_import", path));
  }

  /** Resumes unfinished import `job` where it stopped, in the open dialog. */
  async resume(job) {
    const progress = await this.#follow(call("resume_import", job));
    this.open();
    return progress;
  }

  /** Stops offering unfinished import `job`; the notes it brought in stay. */
  async discard(job) {
    const offer = this.unfinished.find((o) => o.job === job);
    await call("discard_import", job);
    this.unfinished = this.unfinished.filter((o) => o.job !== job);
    this.#renderOffers();
    if (offer) {
      this.handlers.onMessage(
        `Discarded the import of ${offer.path}; the ${count(offer.imported, "note")} it brought in stay.`);
    }
  }

  async #follow(started) {
    this.exportResult.textContent = "";
    this.progress = await started;
    this.unfinished = this.unfinished.filter((o) => o.job !== this.progress.job);
    this.#render();
    if (this.isOpen) this.cancelButton.focus();
    this.#poll();
    return this.progress;
  }

  async cancel() {
    if (!this.progress || this.#finished()) return;
    this.cancelButton.disabled = true;
    this.progress = (await call("cancel_import")) ?? this.progress;
    this.#render();
  }

  async #choose(purpose) {
    try {
      const { path } = await call("choose_path", purpose);
      if (path) await this.start(path);
    } catch (error) {
      this.handlers.onError(error);
    }
  }

  async #export(format) {
    try {
      const { path } = await call("choose_path", "export-folder");
      if (!path) return;
      this.exportResult.textContent = "Exporting…";
      await this.exportTo(format, path);
    } catch (error) {
      this.exportResult.textContent = "";
      this.handlers.onError(error);
    }
  }

  /** Exports every note into `folder` ("markdown" or "json"). */
  async exportTo(format, folder) {
    const result = await call("export_notes", format, folder);
    const what = format === "markdown" ? "Markdown files" : "one JSON file";
    this.exportResult.textContent = `Exported ${count(result.count, "note")} as ${what}: ${result.path}`;
    this.handlers.onMessage(`Exported ${count(result.count, "note")}.`);
    return result;
  }

  async #poll() {
    if (this.polling) return;
    this.polling = true;
    try {
      while (this.progress && !this.#finished()) {
        await new Promise((resolve) => { setTimeout(resolve, POLL_MS); });
        this.progress = await call("import_progress");
        this.#render();
        this.handlers.onProgress(this.progress);
      }
      this.handlers.onFinished(this.progress);
      await this.offerUnfinished();
    } catch (error) {
      this.handlers.onError(error);
    } finally {
      this.polling = false;
    }
  }

  #finished() {
    return ["done", "cancelled", "failed"].includes(this.progress?.state);
  }

  #render() {
    const p = this.progress;
    const running = p !== null && !this.#finished();
    this.choices.forEach((button) => { button.disabled = running; });
    this.cancelButton.disabled = !running;
    this.cancelButton.hidden = !running;
    this.run.hidden = p === null;
    this.statusButton.hidden = !running || this.isOpen;
    this.#renderOffers();
    if (p === null) return;
    this.bar.max = Math.max(p.total, 1);
    this.bar.value = p.done;
    this.text.textContent = running ? runningText(p) : endText(p);
    this.current.textContent = running && p.current ? `Reading ${p.current}` : "";
    this.statusButton.textContent = `Importing: ${p.done.toLocaleString()} of ${p.total.toLocaleString()}`;
    this.summary.hidden = running;
    if (!running) this.#renderFailures(p);
  }

  #renderOffers() {
    // While an import runs, none can be resumed or discarded.
    const shown = this.progress !== null && !this.#finished() ? [] : this.unfinished;
    const stopped = shown.filter((offer) => offer.state === "stopped");
    this.banner.replaceChildren(...stopped.map((offer) => this.#offer(offer)));
    this.banner.hidden = stopped.length === 0;
    this.offers.replaceChildren(...shown.map((offer) => this.#offer(offer)));
    this.offers.hidden = shown.length === 0;
  }

  #offer(offer) {
    // The offer may be stale (its folder gone since, say): say why, then ask again.
    const onError = (error) => {
      this.handlers.onError(error);
      this.offerUnfinished().catch((again) => this.handlers.onError(again));
    };
    const resume = offer.missing ? null : el("button", { type: "button", className: "offer-resume" },
      "Resume");
    const discard = el("button", {
      type: "button", className: "quiet offer-discard",
      title: "Stop offering this import. The notes it brought in stay.",
    }, "Discard");
    resume?.addEventListener("click", () => this.resume(offer.job).catch(onError));
    discard.addEventListener("click", () => this.discard(offer.job).catch(onError));
    return el("div", { className: "import-offer", dataset: { job: offer.job, state: offer.state } },
      el("span", { className: "import-offer-text", text: offerText(offer) }), resume, discard);
  }

  #renderFailures(p) {
    const shown = p.failures.slice(0, LISTED_FAILURES);
    const rows = shown.map((failure) => el("li", {},
      el("span", { className: "failure-item", text: failure.item }), " — ", failure.reason));
    if (p.failed > shown.length) {
      rows.push(el("li", { className: "failure-more",
        text: `…and ${count(p.failed - shown.length, "more file")}.` }));
    }
    this.failures.replaceChildren(...rows);
  }
}

function runningText(p) {
  if (p.state === "scanning") return "Looking at what is there…";
  const parts = [`${p.done.toLocaleString()} of ${p.total.toLocaleString()}`];
  if (p.rate > 0) parts.push(`${Math.round(p.rate).toLocaleString()} notes/s`);
  if (p.seconds_left !== null) parts.push(timeLeft(p.seconds_left));
  return parts.join(" · ");
}

function timeLeft(seconds) {
  if (seconds < 90) return `about ${Math.max(1, Math.round(seconds))} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

function offerText(offer) {
  let at = "before any note came in";
  if (offer.done > 0 && offer.total === null) at = `after ${count(offer.done, "note")}`;
  else if (offer.done > 0) at = `at ${offer.done.toLocaleString()} of ${count(offer.total, "note")}`;
  const what = offer.state === "cancelled"
    ? `You cancelled an import of ${offer.path} ${at}.`
    : `An import of ${offer.path} stopped ${at}.`;
  if (!offer.missing) return what;
  return `${what} It cannot be resumed: ${offer.path} is no longer there.`
    + ` Discarding it keeps the ${count(offer.imported, "note")} it brought in.`;
}

function endText(p) {
  if (p.state === "failed" && p.imported + p.failed + p.duplicates === 0) {
    return `Could not import: ${p.problem}`;
  }
  const parts = [`Imported ${count(p.imported, "note")}`];
  if (p.duplicates) parts.push(`${count(p.duplicates, "duplicate")} skipped`);
  if (p.resumed) parts.push(`${count(p.resumed, "item")} done before`);
  if (p.failed) parts.push(`${count(p.failed, "file or note", "files or notes")} could not be imported`);
  if (p.others) parts.push(`${count(p.others, "other file")} left alone`);
  const head = { cancelled: "Cancelled. ", failed: `Stopped: ${p.problem} ` }[p.state] ?? "";
  const tail = p.state === "cancelled" ? " It stays offered here, to resume or discard." : "";
  return `${head}${parts.join(" · ")}.${tail}`;
}
