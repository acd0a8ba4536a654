// The note list: one row per summary (title, snippet, date, tags).
import { el, shortWhen } from "./dom.js";

/**
 * Renders `notes` (store summaries) into the list element. `onOpen(id)` runs
 * when a row is clicked.
 */
export function renderNoteList(list, notes, selectedId, onOpen) {
  const rows = notes.map((note) => {
    const selected = note.id === selectedId;
    const row = el(
      "li",
      {
        className: selected ? "note-row selected" : "note-row",
        role: "option",
        "aria-selected": selected ? "true" : "false",
        tabindex: selected ? "0" : "-1",
        dataset: { id: note.id },
      },
      el("div", { className: "note-row-head" },
        el("span", { className: note.title ? "note-row-title" : "note-row-title untitled",
          text: note.title || "Untitled" }),
        el("time", { className: "note-row-when", text: shortWhen(note.updated) })),
      note.snippet ? el("div", { className: "note-row-snippet", text: note.snippet }) : null,
      note.tags.length
        ? el("div", { className: "note-row-tags" },
          note.tags.map((name) => el("span", { className: "mini-tag", text: name })))
        : null,
    );
    row.addEventListener("click", () => onOpen(note.id));
    return row;
  });
  list.replaceChildren(...rows);
}

/** Moves the selection without rebuilding the rows. */
export function markSelected(list, selectedId) {
  for (const row of list.children) {
    const selected = Number(row.dataset.id) === selectedId;
    row.classList.toggle("selected", selected);
    row.setAttribute("aria-selected", selected ? "true" : "false");
    row.tabIndex = selected ? 0 : -1;
  }
}

export function focusSelectedRow(list) {
  list.querySelector(".note-row.selected")?.focus();
}

/** "12 notes", "3 notes tagged “travel”", "First 200 notes", "No notes match", … */
export function renderListCount(target, count, text, tag, more) {
  const tagged = tag ? ` tagged “${tag}”` : "";
  if (more) target.textContent = `First ${count} notes${tagged}`;
  else if (count > 0) target.textContent = `${count} ${count === 1 ? "note" : "notes"}${tagged}`;
  else if (text) target.textContent = `No notes${tagged} match “${text.trim()}”`;
  else if (tag) target.textContent = `No notes${tagged}`;
  else target.textContent = "No notes yet. Press Ctrl+N to write one.";
}
