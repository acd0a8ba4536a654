// The search panel (Ctrl+K): finds notes by meaning and by words, filtered by a
// tag and a range of edit dates. Matched words arrive as [text, isMatch]
// segments and become <mark> elements built here: note text stays text.
import { el, shortWhen } from "./dom.js";

const DEBOUNCE_MS = 150;
// desktop/validate.py MAX_SEARCH_CHARS: a longer paste searches its start.
export const MAX_QUERY_CHARS = 1000;

export class SearchPanel {
  /** handlers.onQuery({text, filters}) after typing pauses; handlers.onOpen(id). */
  constructor(doc, handlers) {
    const $ = (id) => doc.getElementById(id);
    this.root = $("search-panel");
    this.input = $("search-input");
    this.tag = $("search-tag");
    this.from = $("search-from");
    this.to = $("search-to");
    this.info = $("search-info");
    this.list = $("search-results");
    this.handlers = handlers;
    this.results = [];
    this.active = -1;
    this.timer = null;
    this.openFirstShown = false;
    this.returnFocus = null;

    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.#emit(), DEBOUNCE_MS);
    });
    for (const field of [this.tag, this.from, this.to]) {
      field.addEventListener("change", () => this.#emit());
    }
    this.root.addEventListener("keydown", (event) => this.#onKey(event));
    // A press on the dimmed backdrop, outside the dialog, closes it; so does focus
    // moving elsewhere (a shortcut for another field).
    this.root.addEventListener("mousedown", (event) => {
      if (event.target === this.root) this.close();
    });
    this.root.addEventListener("focusout", (event) => {
      const to = event.relatedTarget;
      if (to instanceof Node && !this.root.contains(to)) this.close({ keepFocus: true });
    });
  }

  get isOpen() {
    return !this.root.hidden;
  }

  open() {
    if (!this.isOpen) {
      this.returnFocus = document.activeElement;
      this.root.hidden = false;
      // Notes may have changed since the panel was last open.
      this.rerun();
    }
    this.input.focus();
    this.input.select();
  }

  /** Searches again what is typed (the notes or the model changed), if the panel is open. */
  rerun() {
    if (this.isOpen && this.input.value) this.#emit();
  }

  /** Closes; `keepFocus` when the caller moves focus itself (opening a note). */
  close({ keepFocus = false } = {}) {
    if (!this.isOpen) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.openFirstShown = false;
    this.root.hidden = true;
    if (!keepFocus && this.returnFocus instanceof HTMLElement && this.returnFocus.isConnected) {
      this.returnFocus.focus();
    }
    this.returnFocus = null;
  }

  /** The query as it stands: the text (cut to MAX_QUERY_CHARS) and {tag, from, to}. */
  request() {
    return {
      text: cut(this.input.value, MAX_QUERY_CHARS),
      filters: {
        tag: this.tag.value || null,
        from: dayStart(this.from.value),
        to: dayEnd(this.to.value),
      },
    };
  }

  /** Fills the tag filter with known tags, keeping the chosen one while it exists. */
  setTags(tags) {
    const chosen = this.tag.value;
    this.tag.replaceChildren(
      el("option", { value: "", text: "Any tag" }),
      ...tags.map((tag) => el("option", { value: tag.name, text: tag.name })),
    );
    this.tag.value = tags.some((tag) => tag.name === chosen) ? chosen : "";
  }

  /** Search results (desktop/search.py) for `text`, with a line above them. */
  showResults(text, results, info) {
    this.results = results;
    this.active = results.length > 0 ? 0 : -1;
    this.list.replaceChildren(...results.map((result, i) => this.#row(result, i)));
    this.list.setAttribute("aria-label", text ? `Results for “${text}”` : "Search results");
    this.#markActive();
    this.showInfo(info);
    if (this.openFirstShown) {
      this.openFirstShown = false;
      if (results.length > 0) this.handlers.onOpen(results[0].id);
    }
  }

  showInfo(text) {
    this.info.textContent = text;
  }

  #emit() {
    clearTimeout(this.timer);
    this.timer = null;
    this.handlers.onQuery(this.request());
  }

  #row(result, index) {
    const title = result.title ? marked(result.highlights.title) : "Untitled";
    const row = el("li", {
      className: "search-result",
      id: `search-result-${index}`,
      role: "option",
      dataset: { id: result.id },
    },
    el("div", { className: "search-result-head" },
      el("span", { className: result.title ? "search-result-title" : "search-result-title untitled" },
        title),
      el("time", { className: "search-result-when", text: shortWhen(result.updated) })),
    result.snippet
      ? el("div", { className: "search-result-snippet" }, marked(result.highlights.snippet))
      : null,
    result.tags.length
      ? el("div", { className: "search-result-tags" },
        result.tags.map((name) => el("span", { className: "mini-tag", text: name })))
      : null);
    row.addEventListener("click", () => this.handlers.onOpen(result.id));
    return row;
  }

  #markActive() {
    [...this.list.children].forEach((row, i) => {
      row.classList.toggle("active", i === this.active);
      row.setAttribute("aria-selected", i === this.active ? "true" : "false");
    });
    if (this.active >= 0) {
      this.input.setAttribute("aria-activedescendant", `search-result-${this.active}`);
      this.list.children[this.active].scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  }

  #onKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      this.close();
    } else if (event.target === this.input && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      if (this.results.length === 0) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = Math.min(Math.max(this.active + step, 0), this.results.length - 1);
      this.#markActive();
    } else if (event.target === this.input && event.key === "Enter") {
      event.preventDefault();
      if (this.timer !== null) {
        // Typing still waits for its pause: search it now, open its first result.
        this.openFirstShown = true;
        this.#emit();
      } else if (this.active >= 0) {
        this.handlers.onOpen(this.results[this.active].id);
      }
    }
  }
}

/** The first `max` UTF-16 units of `text`, less half a surrogate pair at the end
 * (alone it is not a character, and the bridge refuses it). */
function cut(text, max) {
  const start = text.slice(0, max);
  const last = start.charCodeAt(start.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? start.slice(0, -1) : start;
}

/** [text, isMatch] segments as text nodes and <mark> elements. */
function marked(segments) {
  return segments.map(([text, isMatch]) => (isMatch ? el("mark", { text }) : text));
}

/** Local midnight starting a date field's "YYYY-MM-DD" (plus `days`), in ms; null when empty. */
function dayStart(value, days = 0) {
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!parts) return null;
  return new Date(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3]) + days).getTime();
}

/** The last millisecond of that day, local time; null when empty. */
function dayEnd(value) {
  const next = dayStart(value, 1);
  return next === null ? null : next - 1;
}
