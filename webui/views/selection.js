// Many notes at once: which notes of the list are picked, and the bar of what
// can be done to them (add or remove a tag, accept suggestions, delete).
//
// The open note is where a selection starts. Ctrl+click (Cmd on macOS) picks or
// drops one note, Shift+click picks the run from the open note, Shift+↑/↓ in the
// list (Shift+Alt+↑/↓ anywhere) extends the run while moving, Ctrl+A in the list
// picks every note shown, Escape drops the selection. A selection is two notes
// or more; with fewer, actions apply to the open note as before.
import { el } from "./dom.js";

export class Selection {
  constructor() {
    this.picked = new Set();
    this.anchor = null;
  }

  get size() {
    return this.picked.size;
  }

  get active() {
    return this.picked.size >= 2;
  }

  has(id) {
    return this.picked.has(id);
  }

  /** The picked ids in the order of `order` (the list's ids). */
  ids(order) {
    return order.filter((id) => this.picked.has(id));
  }

  clear() {
    this.picked = new Set();
    this.anchor = null;
  }

  /** Ctrl+click: `id` in or out; the open note joins when a selection starts. */
  toggle(id, openId) {
    if (this.picked.size === 0 && openId !== null && openId !== id) this.picked.add(openId);
    if (this.picked.has(id)) this.picked.delete(id);
    else this.picked.add(id);
    this.anchor = id;
  }

  /** Shift+click or Shift+arrow: the notes from the anchor (or the open note) to `id`. */
  extendTo(id, openId, order) {
    this.anchor ??= openId ?? id;
    let from = order.indexOf(this.anchor);
    const to = order.indexOf(id);
    if (from === -1) {
      this.anchor = id;
      from = to;
    }
    const [low, high] = from <= to ? [from, to] : [to, from];
    this.picked = new Set(order.slice(low, high + 1));
  }

  all(order) {
    this.picked = new Set(order);
    this.anchor = order[0] ?? null;
  }

  /** Keeps only notes still in the list (after a filter or a delete). */
  keep(order) {
    const shown = new Set(order);
    this.picked = new Set([...this.picked].filter((id) => shown.has(id)));
    if (!shown.has(this.anchor)) this.anchor = null;
  }
}

/** What a click on a list row means: "open", "toggle" or "extend". */
export function clickMeaning(event) {
  if (event.shiftKey) return "extend";
  if (event.ctrlKey || event.metaKey) return "toggle";
  return "open";
}

export class BulkBar {
  /**
   * handlers: onAddTag(name), onRemoveTag(name), onAccept(threshold 0..1), onDelete(),
   * onClear(). The bar shows while a selection is active.
   */
  constructor(doc, handlers) {
    const $ = (id) => doc.getElementById(id);
    this.root = $("bulk-bar");
    this.count = $("bulk-count");
    this.tagInput = $("bulk-tag");
    this.confidence = $("bulk-confidence");
    const tagName = () => this.tagInput.value.trim();
    $("bulk-add").addEventListener("click", () => {
      if (tagName()) handlers.onAddTag(tagName());
    });
    $("bulk-remove").addEventListener("click", () => {
      if (tagName()) handlers.onRemoveTag(tagName());
    });
    this.tagInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && tagName()) {
        event.preventDefault();
        if (event.shiftKey) handlers.onRemoveTag(tagName());
        else handlers.onAddTag(tagName());
      }
    });
    $("bulk-accept").addEventListener("click", () => {
      const percent = Number(this.confidence.value);
      if (Number.isFinite(percent) && percent >= 0 && percent <= 100) {
        handlers.onAccept(percent / 100);
      }
    });
    $("bulk-delete").addEventListener("click", () => handlers.onDelete());
    $("bulk-clear").addEventListener("click", () => handlers.onClear());
  }

  render(selection) {
    this.root.hidden = !selection.active;
    if (selection.active) {
      this.count.replaceChildren(el("strong", { text: selection.size.toLocaleString() }),
        " notes selected");
    }
  }

  clearTagInput() {
    this.tagInput.value = "";
  }
}
