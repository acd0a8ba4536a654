// A banner across the top of the window while Margin cannot write its notes (a full
// disk, a data folder it may not write to). Unlike the status bar's messages it does
// not fade: it stays until a save goes through.
import { el } from "./dom.js";

const HEADLINE = {
  disk_full: "The disk is full, so Margin cannot save.",
  read_only: "Margin cannot save: it may not write to its data folder.",
};
const ADVICE = {
  disk_full: "Free some space on that disk.",
  read_only: "Check that the folder and its disk can be written to.",
};
const KEPT = "What you type stays in this window and is saved as soon as Margin can write again.";
const CLOSE_KEPT_OPEN = "The window stayed open so that your unsaved typing is not lost.";

/** Whether a bridge error is the disk's or the folder's rather than the note's. */
export function isWriteProblem(error) {
  return error?.code in HEADLINE;
}

export class SaveBanner {
  /** handlers.onRetry(): try saving now; handlers.onCloseAnyway(): close, losing typing. */
  constructor(doc, handlers) {
    this.headline = el("strong", { className: "save-banner-headline" });
    this.detail = el("span", { className: "save-banner-detail" });
    this.retry = el("button", { type: "button", id: "save-banner-retry" }, "Try again now");
    this.closeAnyway = el("button", {
      type: "button", id: "save-banner-close", className: "quiet danger", hidden: true,
    }, "Close without saving");
    this.root = el("div", {
      id: "save-banner", className: "save-banner", role: "alert", hidden: true,
    }, el("div", { className: "save-banner-text" }, this.headline, " ", this.detail),
    this.retry, this.closeAnyway);
    this.retry.addEventListener("click", () => handlers.onRetry());
    this.closeAnyway.addEventListener("click", () => handlers.onCloseAnyway());
    this.code = null;
    this.problem = "";
    this.closeRefused = false;
    doc.body.prepend(this.root);
  }

  get isUp() {
    return !this.root.hidden;
  }

  /** code: "disk_full" or "read_only"; message: the store's words (which folder). */
  show(code, message) {
    this.code = code;
    this.problem = message;
    this.root.dataset.code = code;
    this.headline.textContent = HEADLINE[code];
    this.#renderDetail();
    this.root.hidden = false;
  }

  /** After a refused close: says why the window is still open, and offers to close. */
  keptOpen() {
    this.closeRefused = true;
    this.closeAnyway.hidden = false;
    this.#renderDetail();
    this.root.hidden = false;
  }

  hide() {
    this.root.hidden = true;
    this.closeAnyway.hidden = true;
    this.closeRefused = false;
    this.code = null;
    delete this.root.dataset.code;
  }

  #renderDetail() {
    const parts = [this.problem, ADVICE[this.code], KEPT];
    if (this.closeRefused) parts.push(CLOSE_KEPT_OPEN);
    this.detail.textContent = parts.filter(Boolean).join(" ");
  }
}
