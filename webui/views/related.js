// Related notes under the open note: the nearest few by meaning, one click each.
import { el } from "./dom.js";

/**
 * Renders the notes related to note `noteId` (search results: id, title, snippet)
 * into #related; hidden when there are none.
 */
export function renderRelated(container, noteId, notes, onOpen) {
  container.dataset.noteId = noteId ?? "";
  if (notes.length === 0) {
    container.replaceChildren();
    container.hidden = true;
    return;
  }
  const items = notes.map((note) => {
    const button = el("button", { type: "button", className: "related-note", dataset: { id: note.id } },
      el("span", { className: note.title ? "related-title" : "related-title untitled",
        text: note.title || "Untitled" }),
      note.snippet ? el("span", { className: "related-snippet", text: note.snippet }) : null);
    button.addEventListener("click", () => onOpen(note.id));
    return el("li", {}, button);
  });
  container.replaceChildren(
    el("h2", { className: "related-label", text: "Related notes" }),
    el("ul", { className: "related-list" }, items),
  );
  container.hidden = false;
}
