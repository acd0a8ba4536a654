// The note list: one row per summary (title, snippet, date, tags).
import { el, shortWhen } from "./dom.js";

/**
 * Renders `notes` (store summaries) into the list element. `onOpen(id, event)`
 * runs when a row is clicked. `picked` holds the ids of a selection of many
 * notes (webui/views/selection.js), shown apart from the open note.
 */
export function renderNoteList(list, notes, selectedId, onOpen, picked = new Set()) {
  list.replaceChildren(...notes.map((note) => noteRow(note, selectedId, onOpen, picked)));
}

/**
 * Shows `note` (a store summary) as the first row, in place of its old row if it
 * has one, and leaves every other row as it is: after a save, rebuilding the whole
 * list would cost the page a layout of every row while the person types.
 */
export function putFirstRow(list, note, selectedId, onOpen, picked = new Set()) {
  list.querySelector(`:scope > .note-row[data-id="${note.id}"]`)?.remove();
  list.prepend(noteRow(note, selectedId, onOpen, picked));
}

function noteRow(note, selectedId, onOpen, picked) {
  const selected = note.id === selectedId;
  const classes = ["note-row", selected && "selected", picked.has(note.id) && "picked"];
  const row = el(
    "li",
    {
      className: classes.filter(Boolean).join(" "),
      role: "option",
      "aria-selected": selected || picked.has(note.id) ? "true" : "false",
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
  row.addEventListener("click", (event) => onOpen(note.id, event));
  return row;
}

/** Moves the selection without rebuilding the rows. */
export function markSelected(list, selectedId, picked = new Set()) {
  for (const row of list.children) {
    const id = Number(row.dataset.id);
    const selected = id === selectedId;
    row.classList.toggle("selected", selected);
    row.classList.toggle("picked", picked.has(id));
    row.setAttribute("aria-selected", selected || picked.has(id) ? "true" : "false");
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
