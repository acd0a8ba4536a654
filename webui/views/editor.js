// The editor pane: title, source link, tag chips, body, dates. It reports edits
// through handlers and never saves by itself (app.js owns saving).
import { longWhen } from "./dom.js";
import { renderChips, renderTagOptions } from "./tagChips.js";

export class Editor {
  constructor(doc, handlers) {
    const $ = (id) => doc.getElementById(id);
    this.root = $("editor");
    this.empty = $("empty-state");
    this.title = $("title");
    this.body = $("body");
    this.source = $("source-url");
    this.openSource = $("open-source");
    this.chips = $("tag-chips");
    this.tagInput = $("tag-input");
    this.tagOptions = $("tag-options");
    this.dates = $("note-dates");
    this.note = null;
    this.knownTags = [];

    this.title.addEventListener("input", () => handlers.onEdit("title"));
    this.body.addEventListener("input", () => handlers.onEdit("body"));
    this.title.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); this.body.focus(); }
    });
    // The link is saved when the field is left, not per keystroke: half-typed
    // addresses are not valid links yet.
    this.source.addEventListener("change", () => handlers.onSourceCommit());
    this.source.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); this.source.blur(); }
    });
    this.source.addEventListener("input", () => this.#showOpenButton());
    this.openSource.addEventListener("click", () => handlers.onOpenSource());
    this.tagInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === ",") {
        event.preventDefault();
        const name = this.tagInput.value.trim();
        if (name) handlers.onAddTag(name);
      } else if (event.key === "Escape") {
        event.preventDefault();
        this.tagInput.value = "";
        this.body.focus();
      }
    });
    this.onRemoveTag = handlers.onRemoveTag;
  }

  get noteId() {
    return this.note?.id ?? null;
  }

  /** A new note begun while nothing can be written: no id until it is stored. */
  get isDraft() {
    return this.note?.draft === true;
  }

  showDraft(tagNames) {
    const now = Date.now();
    this.show({
      id: null, draft: true, title: "", body: "", source_url: null, created: now, updated: now,
      content_hash: null, tags: tagNames.map((name) => ({ name, origin: "user", added: now })),
    });
  }

  /** The draft was stored as `note`: from now on it is that note, typed text untouched. */
  adopt(note) {
    this.note = note;
    this.#renderMeta();
  }

  /** Marks the open note as holding typing that is not saved yet (or no longer). */
  markUnsaved(unsaved) {
    if (unsaved) this.root.dataset.unsaved = "true";
    else delete this.root.dataset.unsaved;
  }

  show(note) {
    this.note = note;
    this.markUnsaved(false);
    this.title.value = note.title;
    this.body.value = note.body;
    this.source.value = note.source_url ?? "";
    this.tagInput.value = "";
    this.body.scrollTop = 0;
    this.#renderMeta();
    this.root.hidden = false;
    this.empty.hidden = true;
  }

  /** After a save: refresh what the store decides (dates, tags), not the typed text. */
  update(note) {
    if (note.id !== this.noteId) return;
    this.note = note;
    this.#renderMeta();
  }

  hide() {
    this.note = null;
    this.root.hidden = true;
    this.empty.hidden = false;
  }

  value(field) {
    if (field === "title") return this.title.value;
    if (field === "body") return this.body.value;
    return this.source.value.trim() || null;
  }

  setKnownTags(tags) {
    this.knownTags = tags;
    renderTagOptions(this.tagOptions, tags, this.note?.tags ?? []);
  }

  clearTagInput() {
    this.tagInput.value = "";
  }

  focusTitle() { this.title.focus(); }
  focusBody() { this.body.focus(); }
  focusTagInput() { this.tagInput.focus(); }

  #renderMeta() {
    const note = this.note;
    renderChips(this.chips, note.tags, this.onRemoveTag);
    renderTagOptions(this.tagOptions, this.knownTags, note.tags);
    this.dates.textContent = note.updated !== note.created
      ? `Created ${longWhen(note.created)} · Edited ${longWhen(note.updated)}`
      : `Created ${longWhen(note.created)}`;
    this.#showOpenButton();
  }

  #showOpenButton() {
    const saved = this.note?.source_url;
    this.openSource.hidden = !saved || saved !== this.source.value.trim();
  }
}
