// Wiring only: the state, the events, and which view renders what.
import { api, BridgeError, call } from "./bridge.js";
import { EmbedQueue, QUERY } from "./embedQueue.js";
import { Indexer } from "./indexer.js";
import { createModel } from "./model.js";
import { PersonalLearner } from "./personalLearner.js";
import { TagSuggester } from "./tagSuggester.js";
import { AboutDialog } from "./views/about.js";
import { BackupsDialog, restoredMessage } from "./views/backups.js";
import { el } from "./views/dom.js";
import { Editor } from "./views/editor.js";
import { wireFilterBox } from "./views/filterBox.js";
import { ImportDialog } from "./views/importDialog.js";
import { guardLinks, wireTextLinks } from "./views/links.js";
import { ModelStatus } from "./views/modelStatus.js";
import {
  focusSelectedRow, markSelected, putFirstRow, renderListCount, renderNoteList,
} from "./views/noteList.js";
import { renderRelated } from "./views/related.js";
import { isWriteProblem, SaveBanner } from "./views/saveBanner.js";
import { SearchPanel } from "./views/searchPanel.js";
import { BulkBar, clickMeaning, Selection } from "./views/selection.js";
import { showStartProblem } from "./views/startProblem.js";
import { StatusBar } from "./views/statusBar.js";
import { renderSuggestions, SuggestProgress } from "./views/suggestions.js";
import { renderTagSidebar } from "./views/tagSidebar.js";
import { Toast } from "./views/toast.js";

const SAVE_DELAY_MS = 400;
// How long the page's updates after a save wait for the new text's suggestions.
const SUGGESTIONS_FIRST_MS = 150;
// While notes cannot be written (a full disk, a read-only folder), saving is tried
// again this often, besides on each keystroke.
const RETRY_MS = 3000;
const LIST_STEP = 200; // rows shown at first, and added by "Show more"
const MAX_PAGE = 1000; // the most desktop/validate.py lets one list_notes call return
const RELATED_WANTED = 5; // desktop/api.py RELATED_NOTES
// While an import runs, the list shows newly imported notes this often at most.
const IMPORT_REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);

const state = {
  notes: [], more: false, shown: LIST_STEP, tags: [], text: "", tag: null,
  related: [],
  modelState: "loading", // webui/model.js: "loading", "ready" or "error"
  model: null, // the model's load info while it is ready
};
const status = new StatusBar(document);
const modelStatus = new ModelStatus(document);
const toast = new Toast(document);
const banner = new SaveBanner(document, {
  onRetry: () => retryWrites().catch(report),
  onCloseAnyway: () => closeAnyway().catch(report),
});
const noteList = $("note-list");
const editor = new Editor(document, {
  onEdit: scheduleSave,
  onSourceCommit: () => saveSourceLink().catch(report),
  onOpenSource: () => api.openSource(editor.noteId).catch(report),
  onAddTag: (name) => addTag(name).catch(report),
  onRemoveTag: (name) => removeTag(name).catch(report),
});
const filter = wireFilterBox($("filter"), {
  onChange: (text) => {
    state.text = text;
    state.shown = LIST_STEP;
    refreshList().catch(report);
  },
  onSubmit: () => openFirst().catch(report),
  onLeave: () => focusSelectedRow(noteList),
});
const embedQueue = new EmbedQueue();
const suggestProgress = new SuggestProgress(document);
const suggester = new TagSuggester(api, embedQueue, {
  onShow: (noteId, suggestions) => renderSuggestions($("suggestions"), noteId, suggestions, {
    onAccept: (index) => acceptSuggestion(index).catch(report),
    onReject: (index) => rejectSuggestion(index).catch(report),
  }),
  onProgress: (run) => suggestProgress.show(run),
  onError: reportUnlessModelDown,
});
const learner = new PersonalLearner(api, embedQueue, {
  onTagger: (name) => suggester.useTagger(learner.modelId, name),
  onError: reportUnlessModelDown,
});
const indexer = new Indexer(api, embedQueue, {
  onProgress: (run) => {
    modelStatus.showProgress(run);
    if (run === null) {
      // With every note's vector in: neighbours, suggestions and the head catch up.
      refreshRelated().catch(report);
      suggester.catchUp().catch(reportUnlessModelDown);
      learner.check().catch(reportUnlessModelDown);
    }
  },
  onEmbedded: (jobs, vectors, tags) => suggester.vectorsEmbedded(jobs, vectors, tags),
  onStored: (ids) => vectorsStored(ids),
  onError: reportUnlessModelDown,
});
const selection = new Selection();
const bulkBar = new BulkBar(document, {
  onAddTag: (name) => tagSelected(name, true).catch(report),
  onRemoveTag: (name) => tagSelected(name, false).catch(report),
  onAccept: (threshold) => acceptSelected(threshold).catch(report),
  onDelete: () => deleteSelected().catch(report),
  onClear: () => clearSelection(),
});
const importDialog = new ImportDialog(document, {
  onProgress: (progress) => importMoved(progress),
  onFinished: (progress) => importFinished(progress).catch(report),
  onMessage: (text) => status.showMessage(text),
  onError: report,
});
const backupsDialog = new BackupsDialog(document, {
  beforeRestore: async () => {
    await save();
    if (pending.size > 0) {
      throw new BridgeError("unsaved", "What you typed is not saved yet, so nothing was restored.");
    }
  },
  onError: report,
});
const aboutDialog = new AboutDialog(document, { onError: report });
const searchPanel = new SearchPanel(document, {
  onQuery: (request) => runSearch(request).catch(report),
  onOpen: (id) => openFromSearch(id).catch(report),
});
// Read by tests and handy when diagnosing: texts embedded per lane, vectors stored,
// vectors tagged and suggestion runs, personal head trainings.
window.marginStats = {
  embedded: embedQueue.counts,
  vectors: indexer.counts,
  suggestions: suggester.counts,
  personal: learner.counts,
};

// ---------------------------------------------------------------- messages

const PLAIN = {
  not_found: "That note or tag no longer exists.",
};

function report(error) {
  if (isWriteProblem(error)) {
    writesFail(error); // one banner, however many writes failed
  } else if (error instanceof BridgeError) {
    status.showMessage(PLAIN[error.code] ?? error.message, "error");
  } else {
    console.error(error);
    status.showMessage("Something went wrong in the window. Please try again.", "error");
  }
}

/** A failed embedding says nothing new once the status bar shows the model is down. */
function reportUnlessModelDown(error) {
  if (state.modelState !== "error") report(error);
}

function quoted(text, max = 60) {
  const short = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return `“${short}”`;
}

// ---------------------------------------------------------------- saving

// Fields typed into since the last save; sent together after a pause in typing.
let pending = new Set();
let saveTimer = null;
let inFlight = null;

function scheduleSave(field) {
  pending.add(field);
  status.setSaveState("saving");
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => save().catch(report), SAVE_DELAY_MS);
}

/** Saves what is pending now; saves never overlap, so they land in typing order. */
async function save() {
  clearTimeout(saveTimer);
  saveTimer = null;
  while (inFlight) await inFlight;
  const id = editor.noteId;
  if ((id === null && !editor.isDraft) || pending.size === 0) return;
  const fields = Object.fromEntries([...pending].map((field) => [field, editor.value(field)]));
  pending = new Set();
  inFlight = id === null ? sendCreate(fields) : sendSave(id, fields);
  try {
    await inFlight;
  } finally {
    inFlight = null;
  }
}

async function sendSave(id, fields) {
  const before = editor.noteId === id ? editor.note.content_hash : null;
  // New text is embedded by the worker while Python saves it: suggestions come sooner.
  const last = editor.noteId === id ? editor.note : null;
  const text = last && { title: fields.title ?? last.title, body: fields.body ?? last.body };
  if (text && (text.title !== last.title || text.body !== last.body)) indexer.noteSaving(id, text);
  let note;
  try {
    note = await api.saveNote(id, fields);
  } catch (error) {
    // Typed text stays in the editor and goes out again with the next save.
    if (editor.noteId === id) Object.keys(fields).forEach((field) => pending.add(field));
    saveFailed(error);
    return;
  }
  if (note.content_hash !== before) {
    // The page's own updates after a save (the note's details, "Saved", its row) wait
    // for the new text's suggestions, a moment at most: their layout on this thread
    // held up the worker's answer by 10-40 ms.
    const shown = indexer.noteChanged(note);
    const enough = new Promise((resolve) => { setTimeout(resolve, SUGGESTIONS_FIRST_MS); });
    await Promise.race([shown, enough]);
  }
  // A tag added or accepted meanwhile showed a newer note than this reply.
  if (last && editor.note !== last && editor.noteId === id) {
    note = await api.getNote(id).catch(() => note);
  }
  editor.update(note);
  if (pending.size === 0) status.setSaveState("saved");
  saveWorked();
  await refreshSavedRow(id);
}

/** A new note begun while nothing could be written, stored with what was typed so far. */
async function sendCreate(fields) {
  let note;
  try {
    note = await api.createNote({ ...fields, tags: editor.note.tags.map((tag) => tag.name) });
  } catch (error) {
    if (editor.isDraft) Object.keys(fields).forEach((field) => pending.add(field));
    saveFailed(error);
    return;
  }
  if (editor.isDraft) editor.adopt(note);
  saveWorked();
  if (pending.size === 0) status.setSaveState("saved");
  indexer.noteChanged(note);
  suggester.show(note.id).catch(report);
  await refreshList();
  markSelected(noteList, note.id, selection.picked);
  if (note.tags.length > 0) await refreshTags();
}

function saveFailed(error) {
  status.setSaveState("failed");
  editor.markUnsaved(true);
  report(error);
}

function saveWorked() {
  if (pending.size === 0) editor.markUnsaved(false);
  writesWork();
}

/** Typing in the editor that is not saved yet. */
const unsaved = () => pending.size > 0;

/** Before the editor shows another note: save; what could not be saved is forgotten,
 * unless the disk or the folder was the reason: then this note stays open. */
async function settle() {
  await save();
  if (unsaved() && banner.isUp) {
    throw new BridgeError("unsaved", "This note stays open until what you typed is saved.");
  }
  pending = new Set();
}

// ---------------------------------------------------------------- when nothing can be written

let retryTimer = null;

function writesFail(error) {
  banner.show(error.code, error.message);
  retryTimer ??= setInterval(() => retryWrites().catch(report), RETRY_MS);
}

function writesWork() {
  if (!banner.isUp) return;
  clearInterval(retryTimer);
  retryTimer = null;
  banner.hide();
  // Vectors refused meanwhile are made again.
  indexer.catchUp().catch(reportUnlessModelDown);
}

/** The typing not saved yet goes out again; with none, the store says whether it can
 * write again (it tries). */
async function retryWrites() {
  if (unsaved()) {
    await save();
    return;
  }
  const problem = await call("storage_problem");
  if (problem) writesFail(problem);
  else writesWork();
}

let closingAnyway = false;

async function closeAnyway() {
  closingAnyway = true;
  await call("close_window");
}

/** A new note while nothing can be written: typed into a draft, stored once it can be. */
function openDraft(error) {
  editor.showDraft(state.tag ? [state.tag] : []);
  markSelected(noteList, null, selection.picked);
  suggester.show(null).catch(report);
  refreshRelated().catch(report);
  status.setSaveState("");
  report(error);
  editor.focusTitle();
}

async function saveSourceLink() {
  const id = editor.noteId;
  if (id === null) return;
  await save();
  status.setSaveState("saving");
  try {
    editor.update(await api.saveNote(id, { source_url: editor.value("source_url") }));
    status.setSaveState("saved");
  } catch (error) {
    status.setSaveState("failed");
    throw error;
  }
}

// ---------------------------------------------------------------- list and tags

let listRequest = 0;
let listShown = 0; // the request whose notes the list shows

async function refreshList() {
  const ticket = ++listRequest;
  // One row more than shown tells whether there is more to show.
  const wanted = state.shown + 1;
  const notes = [];
  while (notes.length < wanted) {
    const size = Math.min(MAX_PAGE, wanted - notes.length);
    const page = await api.listNotes(state.text, state.tag, size, notes.length);
    notes.push(...page);
    if (page.length < size) break;
  }
  if (ticket !== listRequest) return; // a newer filter already asked
  listShown = ticket;
  state.more = notes.length > state.shown;
  state.notes = notes.slice(0, state.shown);
  renderList();
}

/** After a save: only the saved note's row changes, and it becomes the first (the
 * newest `updated`), unless the list has to be read again. */
async function refreshSavedRow(id) {
  if (listShown !== listRequest) {
    await refreshList(); // a list read before the save may still land: read it again
    return;
  }
  const ticket = listRequest;
  const [first] = await api.listNotes(state.text, state.tag, 1, 0);
  if (ticket !== listRequest) return; // a newer list is on its way
  if (first?.id !== id) {
    await refreshList(); // the note left the filter, or a newer one came in (an import)
    return;
  }
  const index = state.notes.findIndex((note) => note.id === id);
  if (index !== -1) state.notes.splice(index, 1);
  state.notes.unshift(first);
  putFirstRow(noteList, first, editor.noteId, openFromList, selection.picked);
  if (index !== -1) return;
  if (state.notes.length > state.shown) {
    state.notes.pop();
    noteList.lastElementChild.remove();
    state.more = true;
  }
  renderListFrame();
}

const openFromList = (id, event) => listClick(id, event).catch(report);

function renderList() {
  renderListFrame();
  renderNoteList(noteList, state.notes, editor.noteId, openFromList, selection.picked);
}

/** What goes with the rows: the selection among them, their count, "Show more". */
function renderListFrame() {
  selection.keep(listedIds());
  bulkBar.render(selection);
  renderListCount($("list-count"), state.notes.length, state.text, state.tag, state.more);
  $("show-more").hidden = !state.more;
}

async function showMore() {
  state.shown += LIST_STEP;
  await refreshList();
}

async function refreshTags() {
  state.tags = await api.listTags();
  const active = state.tag?.toLocaleLowerCase();
  if (active && !state.tags.some((tag) => tag.name.toLocaleLowerCase() === active)) {
    state.tag = null; // the tag is gone (renamed away, or its last note deleted)
    await refreshList();
  }
  renderTags();
}

function renderTags() {
  renderTagSidebar($("tag-list"), state.tags, state.tag, {
    onSelect: (name) => selectTag(name).catch(report),
    onRename: (oldName, newName) => renameTag(oldName, newName).catch(report),
  });
  editor.setKnownTags(state.tags);
  searchPanel.setTags(state.tags);
}

async function selectTag(name) {
  state.tag = name;
  state.shown = LIST_STEP;
  renderTags();
  await refreshList();
}

async function renameTag(oldName, newName) {
  const oldFold = oldName.toLocaleLowerCase();
  const newFold = newName.toLocaleLowerCase();
  const merges = newFold !== oldFold
    && state.tags.some((tag) => tag.name.toLocaleLowerCase() === newFold);
  await settle();
  await api.renameTag(oldName, newName);
  if (state.tag?.toLocaleLowerCase() === oldFold) state.tag = newName;
  suggester.refresh().catch(report);
  learner.tagsChanged();
  await refreshTags();
  await refreshList();
  if (editor.noteId !== null) editor.update(await api.getNote(editor.noteId));
  status.showMessage(merges
    ? `Merged ${quoted(oldName)} into ${quoted(newName)}.`
    : `Renamed ${quoted(oldName)} to ${quoted(newName)}.`);
}

async function addTag(name) {
  const id = editor.noteId;
  if (id === null) return;
  editor.update(await api.addTag(id, name));
  editor.clearTagInput();
  await tagsChanged();
}

async function removeTag(name) {
  const id = editor.noteId;
  if (id === null) return;
  editor.update(await api.removeTag(id, name));
  await tagsChanged();
}

/** After the open note's tags changed: the lists, its suggestions, the personal head. */
async function tagsChanged() {
  suggester.refresh().catch(report);
  learner.tagsChanged();
  await refreshTags();
  await refreshList();
}

// ---------------------------------------------------------------- suggested tags

async function acceptSuggestion(index) {
  const id = editor.noteId;
  const suggestion = suggester.at(index);
  if (id === null || !suggestion) return;
  suggester.drop(suggestion.tag);
  const { tag, source, confidence } = suggestion;
  editor.update(await api.acceptSuggestion(id, tag, source, confidence));
  await tagsChanged();
}

async function rejectSuggestion(index) {
  const id = editor.noteId;
  const suggestion = suggester.at(index);
  if (id === null || !suggestion) return;
  suggester.drop(suggestion.tag);
  const { tag, source, confidence } = suggestion;
  await api.rejectSuggestion(id, tag, source, confidence);
  // A rejection is a negative example for the head, and the next suggestion may show.
  suggester.refresh().catch(report);
  learner.tagsChanged();
}

// ---------------------------------------------------------------- notes

let openRequest = 0;

async function openNote(id) {
  if (id === editor.noteId) return;
  const ticket = ++openRequest;
  await settle();
  const note = await api.getNote(id);
  if (ticket !== openRequest) return; // another note was asked for meanwhile
  editor.show(note);
  status.setSaveState("");
  markSelected(noteList, id, selection.picked);
  refreshRelated().catch(report);
  suggester.show(id).catch(report);
}

async function openFirst() {
  if (state.notes.length === 0) return;
  await openNote(state.notes[0].id);
  editor.focusBody();
}

async function step(delta) {
  if (state.notes.length === 0) return;
  const here = state.notes.findIndex((note) => note.id === editor.noteId);
  const there = here === -1
    ? (delta > 0 ? 0 : state.notes.length - 1)
    : Math.min(Math.max(here + delta, 0), state.notes.length - 1);
  const listHadFocus = noteList.contains(document.activeElement);
  await openNote(state.notes[there].id);
  if (listHadFocus) focusSelectedRow(noteList);
}

async function newNote() {
  searchPanel.close({ keepFocus: true });
  await settle();
  filter.clear();
  state.text = "";
  // A new note made while a tag is selected carries that tag, so it stays in view.
  let note;
  try {
    note = await api.createNote(state.tag ? { tags: [state.tag] } : {});
  } catch (error) {
    if (!isWriteProblem(error)) throw error;
    openDraft(error);
    return;
  }
  editor.show(note);
  indexer.noteChanged(note);
  refreshRelated().catch(report);
  suggester.show(note.id).catch(report);
  status.setSaveState("");
  await refreshList();
  if (state.tag) await refreshTags();
  editor.focusTitle();
}

async function deleteCurrent() {
  const id = editor.noteId;
  if (id === null) return;
  await settle();
  const title = editor.value("title") || "Untitled";
  const index = state.notes.findIndex((note) => note.id === id);
  await api.deleteNote(id);
  editor.hide();
  suggester.show(null).catch(report);
  learner.tagsChanged();
  status.setSaveState("");
  await refreshList();
  await refreshTags();
  const next = state.notes[Math.min(Math.max(index, 0), state.notes.length - 1)];
  if (next) {
    await openNote(next.id);
    focusSelectedRow(noteList);
  }
  toast.show(`Deleted ${quoted(title)}.`, () => undoDelete(id).catch(report));
}

async function undoDelete(id) {
  await settle();
  const note = await api.undoDelete(id);
  editor.show(note);
  refreshRelated().catch(report);
  suggester.show(note.id).catch(report);
  learner.tagsChanged();
  status.setSaveState("");
  await refreshList();
  await refreshTags();
  status.showMessage(`Restored ${quoted(note.title || "Untitled")}.`);
}

// ---------------------------------------------------------------- many notes at once

const listedIds = () => state.notes.map((note) => note.id);

function showSelection() {
  markSelected(noteList, editor.noteId, selection.picked);
  bulkBar.render(selection);
}

function clearSelection() {
  selection.clear();
  showSelection();
}

async function listClick(id, event) {
  const meaning = clickMeaning(event);
  if (meaning === "open") {
    if (selection.size > 0) clearSelection();
    await openNote(id);
    return;
  }
  if (meaning === "toggle") selection.toggle(id, editor.noteId);
  else selection.extendTo(id, editor.noteId, listedIds());
  showSelection();
}

let extending = Promise.resolve();

/** Shift+↑/↓: moves to the next note and extends the selection to it. Key repeats
 * queue up, so each step starts from where the one before ended. */
function extendSelection(delta) {
  extending = extending.catch(() => {}).then(async () => {
    const from = editor.noteId;
    await step(delta);
    if (editor.noteId === null) return;
    selection.extendTo(editor.noteId, from, listedIds());
    showSelection();
  });
  return extending;
}

function selectAll() {
  selection.all(listedIds());
  showSelection();
}

async function tagSelected(name, add) {
  const ids = selection.ids(listedIds());
  await settle();
  const { changed } = await call(add ? "tag_notes" : "untag_notes", ids, name);
  bulkBar.clearTagInput();
  if (ids.includes(editor.noteId)) editor.update(await api.getNote(editor.noteId));
  await tagsChanged();
  status.showMessage(add
    ? `Tagged ${changed.toLocaleString()} notes ${quoted(name)}.`
    : `Removed ${quoted(name)} from ${changed.toLocaleString()} notes.`);
}

async function acceptSelected(threshold) {
  const ids = selection.ids(listedIds());
  const reply = await call("accept_suggestions_above", ids, suggester.tagger ?? "none:none",
    threshold);
  if (ids.includes(editor.noteId)) editor.update(await api.getNote(editor.noteId));
  await tagsChanged();
  const waiting = reply.waiting
    ? ` ${reply.waiting.toLocaleString()} notes have no suggestions yet.` : "";
  status.showMessage(`Accepted ${reply.accepted.toLocaleString()} suggested tags on `
    + `${reply.notes.toLocaleString()} notes.${waiting}`);
}

async function deleteSelected() {
  const ids = selection.ids(listedIds());
  await settle();
  const { deleted } = await call("delete_notes", ids);
  selection.clear();
  const openGone = deleted.includes(editor.noteId);
  const index = state.notes.findIndex((note) => note.id === editor.noteId);
  if (openGone) {
    editor.hide();
    suggester.show(null).catch(report);
    status.setSaveState("");
  }
  learner.tagsChanged();
  await refreshList();
  await refreshTags();
  const next = state.notes[Math.min(Math.max(index, 0), state.notes.length - 1)];
  if (openGone && next) {
    await openNote(next.id);
    focusSelectedRow(noteList);
  }
  toast.show(`Deleted ${deleted.length.toLocaleString()} notes.`,
    () => undoDeleteSelected(deleted).catch(report));
}

async function undoDeleteSelected(ids) {
  const { restored } = await call("undo_delete_notes", ids);
  learner.tagsChanged();
  await refreshList();
  await refreshTags();
  selection.all(restored);
  showSelection();
  status.showMessage(`Restored ${restored.length.toLocaleString()} notes.`);
}

// ---------------------------------------------------------------- import and export

let lastImported = 0;
let listRefreshedAt = 0;

function importMoved(progress) {
  if (progress.imported <= lastImported) return;
  lastImported = progress.imported;
  // New notes have no vectors: the indexer picks them up (and suggestions follow it).
  indexer.catchUp().catch(reportUnlessModelDown);
  if (performance.now() - listRefreshedAt > IMPORT_REFRESH_MS) {
    listRefreshedAt = performance.now();
    refreshList().catch(report);
  }
}

async function importFinished(progress) {
  lastImported = 0;
  indexer.catchUp().catch(reportUnlessModelDown);
  learner.tagsChanged();
  await refreshList();
  await refreshTags();
  if (editor.noteId === null && state.notes.length > 0) await openNote(state.notes[0].id);
  if (progress.state === "done") {
    status.showMessage(`Import finished: ${progress.imported.toLocaleString()} notes in.`);
  }
}

async function copyMarkdown() {
  const id = editor.noteId;
  if (id === null) return;
  await save();
  const { markdown } = await call("note_markdown", id);
  // Not navigator.clipboard: its permission request takes the Qt window down
  // (pywebview 6.2.1 answers it with the wrong type under PyQt6).
  const scratch = el("textarea", { className: "copy-scratch", "aria-hidden": "true" });
  scratch.value = markdown;
  document.body.append(scratch);
  scratch.select();
  const copied = document.execCommand("copy");
  scratch.remove();
  if (copied) status.showMessage("Copied the note as Markdown.");
  else status.showMessage("Could not copy: the system clipboard refused.", "error");
}

// ---------------------------------------------------------------- related notes

let relatedRequest = 0;

async function refreshRelated() {
  const id = editor.noteId;
  const ticket = ++relatedRequest;
  const notes = id === null ? [] : await api.related(id);
  if (ticket !== relatedRequest || id !== editor.noteId) return;
  state.related = notes;
  renderRelated($("related"), id, notes, (other) => openNote(other).catch(report));
}

function vectorsStored(ids) {
  // The open note's neighbours move with its vector, and fill in while others are indexed.
  if (editor.noteId === null) return;
  if (ids.includes(editor.noteId) || state.related.length < RELATED_WANTED) {
    refreshRelated().catch(report);
  }
}

// ---------------------------------------------------------------- search

let searchRequest = 0;

/** Runs the panel's query; a newer one asked meanwhile wins, older answers are dropped. */
async function runSearch({ text, filters }) {
  const ticket = ++searchRequest;
  if (!text.trim()) {
    searchPanel.showResults(text, [], "Type to find notes by meaning or by their words.");
    return;
  }
  const vector = await queryVector(text);
  if (ticket !== searchRequest) return;
  let results;
  try {
    results = await api.search(text, vector, filters);
  } catch (error) {
    if (ticket !== searchRequest) return;
    if (!(error instanceof BridgeError)) throw error;
    searchPanel.showResults(text, [], error.message);
    return;
  }
  if (ticket !== searchRequest) return;
  searchPanel.showResults(text, results, searchSummary(results.length, vector !== null));
}

/** The query's vector, or null (words only) while the model loads or if it failed. */
async function queryVector(text) {
  if (state.model === null) return null;
  try {
    const [vector] = await embedQueue.embed([text], QUERY);
    return vector;
  } catch (error) {
    console.error(error);
    return null;
  }
}

function searchSummary(count, byMeaning) {
  const found = count === 0 ? "No notes match." : `${count} ${count === 1 ? "note" : "notes"}`;
  if (byMeaning) return found;
  const why = state.modelState === "loading"
    ? "while the language model loads" : "(the language model is unavailable)";
  return `${found} · matching words only ${why}`;
}

async function openFromSearch(id) {
  searchPanel.close({ keepFocus: true });
  await openNote(id);
  editor.focusBody();
}

// ---------------------------------------------------------------- the model

function startModel() {
  const model = createModel({
    onStatus: (modelState) => {
      state.modelState = modelState.state;
      if (modelState.state === "error") state.model = null;
      // "ready" is shown with the load info, below.
      if (modelState.state !== "ready") modelStatus.show(modelState);
    },
  });
  embedQueue.use(model);
  model.ready.then(
    (info) => {
      state.model = info;
      modelStatus.show(model.status, info);
      searchPanel.rerun(); // by meaning now, not only by words
      learner.start(info.model_id).catch(reportUnlessModelDown);
      return indexer.start(info.model_id);
    },
    () => {}, // the status bar already says so (onStatus)
  ).catch(reportUnlessModelDown);
}

// ---------------------------------------------------------------- keyboard

function isTextField(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function shortcut(event) {
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (mod && !event.altKey && !event.shiftKey && key === "n") return newNote;
  if (mod && !event.altKey && key === "f") return () => filter.focus();
  if (mod && !event.altKey && !event.shiftKey && key === "k") return () => searchPanel.open();
  if (key === "/" && !mod && !event.altKey && !isTextField(event.target)) {
    return () => filter.focus();
  }
  if (event.altKey && event.shiftKey && !mod && key === "ArrowDown") {
    return () => extendSelection(1);
  }
  if (event.altKey && event.shiftKey && !mod && key === "ArrowUp") {
    return () => extendSelection(-1);
  }
  if (event.altKey && !mod && key === "ArrowDown") return () => step(1);
  if (event.altKey && !mod && key === "ArrowUp") return () => step(-1);
  if (mod && !event.altKey && key === "t" && editor.noteId !== null) {
    return () => editor.focusTagInput();
  }
  // Alt+1..3 accept a suggested tag; by the key's place, whatever the layout prints on it.
  const digit = Number(/^Digit([1-3])$/.exec(event.code)?.[1]);
  if (event.altKey && !mod && !event.shiftKey && digit && suggester.at(digit - 1)) {
    return () => acceptSuggestion(digit - 1);
  }
  if (mod && event.shiftKey && !event.altKey && key === "c" && editor.noteId !== null) {
    return copyMarkdown;
  }
  const remove = selection.active ? deleteSelected : deleteCurrent;
  if (mod && key === "Delete") return remove;
  // In text fields Ctrl+Backspace keeps deleting the previous word.
  if (mod && key === "Backspace" && !isTextField(event.target)) return remove;
  if (mod && !event.shiftKey && key === "z" && toast.isUp) return () => toast.runAction();
  if (key === "Escape" && editor.root.contains(event.target)) {
    return () => focusSelectedRow(noteList);
  }
  return null;
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented) return; // a field already handled this key
  const action = shortcut(event);
  if (!action) return;
  event.preventDefault();
  Promise.resolve(action()).catch(report);
});

noteList.addEventListener("keydown", (event) => {
  const mod = event.ctrlKey || event.metaKey;
  if (mod && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "a") {
    event.preventDefault();
    selectAll();
    return;
  }
  if (event.key === "Escape" && selection.size > 0) {
    event.preventDefault();
    clearSelection();
    return;
  }
  if (event.altKey || mod) return;
  if (event.shiftKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
    event.preventDefault();
    extendSelection(event.key === "ArrowDown" ? 1 : -1).catch(report);
    return;
  }
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    step(event.key === "ArrowDown" ? 1 : -1).catch(report);
  } else if (event.key === "Enter") {
    event.preventDefault();
    editor.focusBody();
  }
});

$("new-note").addEventListener("click", () => newNote().catch(report));
$("open-search").addEventListener("click", () => searchPanel.open());
$("show-more").addEventListener("click", () => showMore().catch(report));
$("delete-note").addEventListener("click", () => deleteCurrent().catch(report));
$("copy-markdown").addEventListener("click", () => copyMarkdown().catch(report));
$("open-transfer").addEventListener("click", () => importDialog.open());
$("open-backups").addEventListener("click", () => backupsDialog.open().catch(report));
$("open-about").addEventListener("click", () => aboutDialog.open());

// ---------------------------------------------------------------- never navigate

// The page is the app: links and dropped files or URLs must not replace it
// (desktop/navigation.py refuses that in Qt as well). Links open in the browser.
const openLink = (url) => call("open_link", url).catch(report);
guardLinks(document, openLink);
wireTextLinks(editor.body, openLink);
for (const type of ["dragover", "drop"]) {
  document.addEventListener(type, (event) => {
    const textIntoField = isTextField(event.target)
      && !event.dataTransfer?.types.includes("Files");
    if (!textIntoField) event.preventDefault();
  });
}

// ---------------------------------------------------------------- start

// desktop/app.py calls this when the window is closing, and waits for it: false keeps
// the window open, with typing that could not be saved yet for want of room or
// permission (the banner says so, and offers to close anyway).
window.marginBeforeClose = async () => {
  await save().catch(report);
  if (!unsaved() || !banner.isUp || closingAnyway) return true;
  banner.keptOpen();
  return false;
};
// Imports and exports of a path given directly, as the file dialog would give it
// (tests and scripts drive these; people use the dialog).
window.marginImport = (path) => importDialog.start(path);
window.marginExport = (format, folder) => importDialog.exportTo(format, folder);
// Asks again which imports stopped before their end, offers them, and gives them.
window.marginUnfinishedImports = () => importDialog.offerUnfinished();

async function start() {
  // A notes database that cannot be opened: the start screen instead of the notes.
  if (await showStartProblem(document)) return;
  await Promise.all([refreshList(), refreshTags()]);
  if (state.notes.length > 0) await openNote(state.notes[0].id);
  else renderList();
  document.body.dataset.ready = "true";
  const restored = restoredMessage();
  if (restored) status.showMessage(restored);
  // A data folder that could only be opened for reading says so before anything is typed.
  call("storage_problem").then((problem) => problem && writesFail(problem)).catch(report);
  // An import cut short by a crash or a closed window is offered to resume or discard.
  importDialog.offerUnfinished().catch(report);
  // After the notes show: the model loads in its worker while they are in use.
  startModel();
}

start().catch(report);
