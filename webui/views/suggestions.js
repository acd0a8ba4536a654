// Suggested tags for the open note, each with its confidence and why, to accept
// (click, or Alt+1..3) or dismiss (×); and the background tagging's progress.
import { el } from "./dom.js";

/** Words for a reason (desktop/suggest.py): {source, count?}. */
export function reasonText(reason, tag) {
  if (reason.source === "topic") return "topic model";
  if (reason.source === "personal") return "learned from your tags";
  return `like ${reason.count} notes tagged ${tag}`;
}

/**
 * Renders suggestions [{tag, confidence, source, reasons}] for note `noteId` into
 * #suggestions; hidden when there are none. handlers.onAccept(i), onReject(i).
 */
export function renderSuggestions(container, noteId, suggestions, handlers) {
  container.dataset.noteId = noteId ?? "";
  if (suggestions.length === 0) {
    container.replaceChildren();
    container.hidden = true;
    return;
  }
  const items = suggestions.map((suggestion, i) => {
    const key = `Alt+${i + 1}`;
    const why = suggestion.reasons.map((reason) => reasonText(reason, suggestion.tag)).join(" · ");
    const percent = `${Math.round(suggestion.confidence * 100)}%`;
    const accept = el("button", {
      type: "button",
      className: "suggestion-accept",
      title: `Add the tag ${suggestion.tag} (${key})`,
    },
    el("span", { className: "suggestion-name", text: suggestion.tag }),
    el("span", { className: "suggestion-confidence", text: percent }));
    accept.addEventListener("click", () => handlers.onAccept(i));
    const reject = el("button", {
      type: "button",
      className: "suggestion-reject",
      "aria-label": `Do not suggest ${suggestion.tag} for this note`,
      title: "Not this tag",
      text: "×",
    });
    reject.addEventListener("click", () => handlers.onReject(i));
    return el("span", {
      className: "suggestion",
      dataset: { tag: suggestion.tag, source: suggestion.source },
    }, accept, el("kbd", { text: key }), el("span", { className: "suggestion-why", text: why }),
    reject);
  });
  container.replaceChildren(el("span", { className: "field-label", text: "Suggested" }), ...items);
  container.hidden = false;
}

/** The status bar's "Suggesting tags: 120 of 900" while existing notes are tagged. */
export class SuggestProgress {
  constructor(doc) {
    this.root = doc.getElementById("suggest-progress");
    this.bar = doc.getElementById("suggest-bar");
    this.text = doc.getElementById("suggest-text");
  }

  /** run: {done, total, capped}, or null when it ends. */
  show(run) {
    if (run === null) {
      this.root.hidden = true;
      return;
    }
    this.bar.max = run.total;
    this.bar.value = Math.min(run.done, run.total);
    const of = `${run.done.toLocaleString()} of ${run.total.toLocaleString()}${run.capped ? "+" : ""}`;
    this.text.textContent = `Suggesting tags: ${of}`;
    this.root.hidden = false;
  }
}
