// The Backups dialog: the snapshots desktop/backup.py keeps (when, how many
// notes, how big), "Back up now", and restoring one after a confirmation that
// says what will happen. Python puts the backup in place of the notes (keeping
// the notes now as a backup first, so a restore can be undone from this same
// list), then the page reloads: the open note, the lists, the search and the
// taggers' work all came from the notes that were replaced.
import { call } from "../bridge.js";
import { el, longWhen } from "./dom.js";

// Carries the outcome of a restore across the page's reload (this tab only).
const RESTORED_KEY = "margin.restored";
const KIND_TEXT = {
  auto: "automatic",
  manual: "made by you",
  "before-restore": "your notes before a restore",
};

const count = (n) => `${n.toLocaleString()} ${n === 1 ? "note" : "notes"}`;

function size(bytes) {
  if (bytes < 1e6) return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

export class BackupsDialog {
  /**
   * handlers.beforeRestore(): saves what is being typed (resolves once it is stored).
   * handlers.onError(error): a failure to show in the status bar.
   */
  constructor(doc, handlers) {
    const $ = (id) => doc.getElementById(id);
    this.doc = doc;
    this.handlers = handlers;
    this.root = $("backups-panel");
    this.list = $("backup-list");
    this.status = $("backups-status");
    this.nowButton = $("backup-now");
    this.confirmBox = $("backup-confirm");
    this.confirmText = $("backup-confirm-text");
    this.restoreButton = $("backup-confirm-restore");
    this.cancelButton = $("backup-confirm-cancel");
    this.backups = [];
    this.chosen = null; // the backup awaiting confirmation
    this.busy = false;
    this.returnFocus = null;

    this.nowButton.addEventListener("click", () => this.backUpNow().catch((e) => this.#failed(e)));
    this.restoreButton.addEventListener("click", () => this.#restore().catch((e) => this.#failed(e)));
    this.cancelButton.addEventListener("click", () => this.#ask(null));
    $("backups-close").addEventListener("click", () => this.close());
    doc.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !this.isOpen || this.busy) return;
      event.preventDefault();
      event.stopPropagation();
      if (this.chosen) this.#ask(null);
      else this.close();
    });
    this.root.addEventListener("click", (event) => {
      if (event.target === this.root && !this.busy) this.close(); // the backdrop
    });
  }

  get isOpen() {
    return !this.root.hidden;
  }

  async open() {
    if (!this.isOpen) this.returnFocus = this.doc.activeElement;
    this.root.hidden = false;
    this.#ask(null);
    this.nowButton.focus();
    await this.refresh();
  }

  close() {
    this.root.hidden = true;
    this.#ask(null);
    this.returnFocus?.focus?.();
    this.returnFocus = null;
  }

  async refresh() {
    const { backups, problem } = await call("list_backups");
    this.backups = backups;
    this.#render();
    if (problem) this.status.textContent = `The last automatic backup failed: ${problem}`;
  }

  async backUpNow() {
    this.#setBusy(true, "Backing up…");
    try {
      const backup = await call("back_up_now");
      await this.refresh();
      this.status.textContent = `Backed up ${count(backup.notes)} (${size(backup.size)}).`;
    } finally {
      this.#setBusy(false);
    }
  }

  /** Shows the confirmation for the backup called `name` (also what the rows' buttons do). */
  confirmRestore(name) {
    this.#ask(this.backups.find((backup) => backup.name === name) ?? null);
  }

  #ask(backup) {
    this.chosen = backup;
    this.confirmBox.hidden = backup === null;
    if (backup === null) return;
    this.confirmText.textContent = `Restore the backup of ${longWhen(backup.created)} `
      + `(${count(backup.notes)})? It takes the place of all your notes now. Your notes now `
      + "are first kept as a new backup in this list, so you can go back to them. Changes "
      + "made after this backup was taken are only in that new backup.";
    this.restoreButton.focus();
  }

  async #restore() {
    const backup = this.chosen;
    if (!backup || this.busy) return;
    this.#setBusy(true, "Restoring…");
    try {
      await this.handlers.beforeRestore();
      rememberRestore(backup, await call("restore_backup", backup.name));
    } catch (error) {
      this.#setBusy(false);
      throw error;
    }
    // Stays busy: the page is replaced by one over the restored notes.
    window.location.reload();
  }

  #failed(error) {
    this.status.textContent = error.message;
    this.handlers.onError(error);
  }

  /** While busy, every button waits and `text` says what is going on. */
  #setBusy(busy, text = "") {
    this.busy = busy;
    if (busy) this.status.textContent = text;
    for (const button of this.root.querySelectorAll("button")) button.disabled = busy;
  }

  #render() {
    if (this.backups.length === 0) {
      this.list.replaceChildren(el("li", { className: "backup-empty",
        text: "No backups yet. The first is made when Margin starts." }));
      return;
    }
    this.list.replaceChildren(...this.backups.map((backup) => el("li", {
      className: "backup-row", dataset: { name: backup.name, good: String(backup.good) },
    },
    el("span", { className: "backup-when", text: longWhen(backup.created) }),
    el("span", { className: "backup-kind", text: KIND_TEXT[backup.kind] }),
    el("span", { className: "backup-notes",
      text: backup.good ? count(backup.notes) : `Cannot be restored: ${backup.problem}` }),
    el("span", { className: "backup-size", text: size(backup.size) }),
    backup.good ? this.#restoreButton(backup) : null)));
  }

  #restoreButton(backup) {
    const button = el("button", { type: "button", className: "quiet",
      "aria-label": `Restore the backup of ${longWhen(backup.created)}` }, "Restore…");
    button.addEventListener("click", () => this.confirmRestore(backup.name));
    return button;
  }
}

/** Keeps what a restore did (desktop/backup.py Restored) across the reload that follows. */
export function rememberRestore(backup, done) {
  sessionStorage.setItem(RESTORED_KEY, JSON.stringify({
    from: backup.created, notes: done.notes, kept: done.kept?.created ?? null,
    setAside: done.set_aside,
  }));
}

/** After a reload: what the last restore did, in a line for the status bar (or null). */
export function restoredMessage() {
  const saved = sessionStorage.getItem(RESTORED_KEY);
  if (saved === null) return null;
  sessionStorage.removeItem(RESTORED_KEY);
  const { from, notes, kept, setAside } = JSON.parse(saved);
  const parts = [`Restored the backup of ${longWhen(from)}: ${count(notes)}.`];
  if (kept) parts.push(`The notes you had are kept as the backup of ${longWhen(kept)}.`);
  if (setAside) parts.push(`The file that could not be opened was moved to ${setAside}.`);
  return parts.join(" ");
}
