// The start screen, shown instead of the notes when the notes database cannot
// be opened (desktop/start_problem.py): what happened in plain words, that the
// file was left as it is, and the newest good backup with a button to restore
// it. Restoring moves the file aside (nothing is deleted) and reloads the page,
// which then opens the restored notes.
import { call } from "../bridge.js";
import { rememberRestore } from "./backups.js";
import { el, longWhen } from "./dom.js";

const HEADLINES = {
  unreadable: "Margin may not read your notes",
  not_sqlite: "Your notes file is not a notes database",
  truncated: "Your notes file is cut off",
  damaged: "Your notes file is damaged",
  too_new: "Your notes are from a newer Margin",
  foreign: "Your notes file belongs to another program",
  cannot_open: "Margin cannot open your notes",
};

const count = (n) => `${n.toLocaleString()} ${n === 1 ? "note" : "notes"}`;

/** Resolves to true when the start screen is shown instead of the notes. */
export async function showStartProblem(doc) {
  const problem = await call("start_problem");
  if (problem === null) return false;
  const root = doc.getElementById("start-problem");
  const status = el("p", { className: "start-status", role: "alert" });
  root.replaceChildren(
    el("h1", { id: "start-problem-title", className: "start-title",
      text: HEADLINES[problem.kind] ?? HEADLINES.cannot_open }),
    el("p", { className: "start-message", text: problem.message }),
    el("p", {}, "The file is ", el("code", { text: problem.database }),
      ". Margin has not changed it."),
    ...offer(problem, status),
    status,
  );
  root.hidden = false;
  doc.body.dataset.startProblem = problem.kind;
  root.querySelector("button")?.focus();
  return true;
}

function offer(problem, status) {
  const backup = problem.backup;
  if (!problem.restorable) {
    return [el("p", { text: "A backup would not help here. Once the cause is fixed, start "
      + "Margin again." })];
  }
  if (!backup) {
    return [el("p", { text: "There is no good backup to restore. Margin leaves the file as "
      + "it is; you can close this window, and keep a copy of the file for someone who can "
      + "look into it." })];
  }
  const button = el("button", { id: "start-restore", type: "button", className: "start-restore" },
    "Restore this backup");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Restoring…";
    try {
      rememberRestore(backup, await call("restore_at_start", backup.name));
      window.location.reload();
    } catch (error) {
      status.textContent = error.message;
      button.disabled = false;
    }
  });
  return [
    el("p", {}, "The newest good backup is from ", el("strong", { text: longWhen(backup.created) }),
      `, with ${count(backup.notes)}. Restoring it puts it in place of the file, which is `
      + "moved aside beside it (its name starts with margin-set-aside), so nothing is deleted. "
      + "Notes written after the backup was taken are not in it."),
    el("div", { className: "start-actions" }, button),
  ];
}
