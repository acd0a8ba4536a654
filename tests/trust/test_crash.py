"""Crash safety: the real app is killed (SIGKILL to its whole process tree, Qt
WebEngine's processes included) at random moments, 20 times: 10 during a
5,000-note Markdown import started in the window, 10 while notes are typed into
the window with real key events. After each kill:

- `PRAGMA integrity_check` of the database as the kill left it says ok;
- every note whose creation or save was acknowledged is there and intact: the app
  journals each answer of create_note and save_note before it leaves for the page
  (MARGIN_TEST_SAVES, desktop/control.py), so the journal holds every
  acknowledgement the page got, up to the very instant of the kill, and perhaps one
  it never got (whose note must be stored all the same);
- the import's record matches the notes stored, and it never lost what its
  progress had already reported;
- the app starts again on the same data dir (the single-instance lock is the
  kernel's, gone with the process), offers the import in a notice that says where
  it stopped, and the import resumes through it, ending with all 5,000 notes
  exactly once and the folder's copies skipped by content hash.

The moments come from a seeded generator: MARGIN_CRASH_SEED=<n> replays a run's
plan (the seed is in every failure message).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.app.harness import AppError, AppProcess
from tests.trust.crashed_data import (
    copy_database,
    import_items,
    import_job_states,
    integrity,
    journal,
    live_notes,
)
from tests.trust.process_tree import alive, kill_tree

SEED = int(os.environ.get("MARGIN_CRASH_SEED", "7"))
NOTES = 5000
COPIES = 40  # files whose content another file already has
IMPORT_KILLS = 10
EDIT_KILLS = 10
# Kills land between these fractions of the import, so each one cuts a running import.
IMPORT_SPAN = (0.02, 0.8)
# Roughly how long a batch of the import takes to read and store (imports/job.py
# BATCH); the kill comes up to this long after the progress passed its point, so
# it lands anywhere in a batch's reading or storing.
BATCH_SECONDS = 0.2
# How long after the window is ready typing goes on before the kill (seconds).
TYPING_SPAN = (0.5, 5.0)
# Pauses between bursts of keys: some shorter and some longer than the editor's
# 400 ms wait before saving (webui/app.js SAVE_DELAY_MS).
PAUSES = (0.0, 0.02, 0.1, 0.45, 0.5, 0.6)
WORDS = [
    *("margin", "note", "idea", "draft", "plan", "garden", "river", "léa", "café"),
    *("naïve", "straße", "über", "東京", "日記", "κείμενο", "текст", "letter", "budget"),
    *("sprint", "meeting", "recipe", "travel", "ticket", "42", "2026"),
    *("the", "a", "of", "and", "to", "in", "is", "it", "that", "for"),
]
TITLE_JS = "document.getElementById('title')"
NOTICE_JS = "document.getElementById('import-notice')"
NEW_NOTE_SHOWN_JS = (
    f"!document.getElementById('editor').hidden && document.activeElement === {TITLE_JS}"
    f" && {TITLE_JS}.value === ''"
)


def fail(message: str) -> None:
    pytest.fail(f"[MARGIN_CRASH_SEED={SEED}] {message}", pytrace=False)


def reap(app: AppProcess, victims: list[int]) -> None:
    """After kill_tree: the app ended by SIGKILL, and none of its processes is left."""
    if app.stop() != -9:
        fail("the app was not ended by SIGKILL")
    survivors = alive(victims)
    if survivors:
        fail(f"processes of the killed app still run: {survivors}")


def checked_copy(data: Path, scratch: Path, kill: str) -> Path:
    db = copy_database(data, scratch / kill)
    verdict = integrity(db)
    if verdict != ["ok"]:
        fail(f"{kill}: integrity_check says {verdict[:5]}")
    return db


# ---------------------------------------------------------------- import


def make_vault(root: Path, rng: random.Random) -> dict[str, tuple[str, str]]:
    """NOTES Markdown files of distinct notes, then COPIES files repeating some of
    them; returns each file's (title, body)."""
    root.mkdir(parents=True)
    notes: dict[str, tuple[str, str]] = {}
    for i in range(NOTES):
        title = f"Note {i:04} " + " ".join(rng.choices(WORDS, k=3))
        body = " ".join(rng.choices(WORDS, k=rng.randint(5, 40))) + "\n"
        notes[f"n{i:04}.md"] = (title, body)
    originals = list(notes.values())
    for j in range(COPIES):
        notes[f"z copy {j:02}.md"] = originals[j * (NOTES // COPIES)]
    for name, (title, body) in notes.items():
        (root / name).write_text(f"---\ntitle: {json.dumps(title)}\n---\n{body}", "utf-8")
    return notes


def start_import(app: AppProcess, vault: Path) -> None:
    """Starts (or resumes) the import as the import dialog does when given a path."""
    app.eval("document.getElementById('open-transfer').click()")
    app.call_async(f"window.marginImport({json.dumps(str(vault))})")


def resume_from_notice(app: AppProcess, vault: Path, stopped_at: int, total: int) -> None:
    """Resumes the import through the notice the app shows at start after a kill,
    which must say where the import stopped."""
    shown = app.wait_for(f"!{NOTICE_JS}.hidden && {NOTICE_JS}.textContent")
    said = f"An import of {vault.resolve()} stopped at {stopped_at:,} of {total:,} notes."
    if shown != said + "ResumeDiscard":
        fail(f"after a kill the notice said {shown!r}, not {said!r}")
    app.eval(f"{NOTICE_JS}.querySelector('.offer-resume').click()")
    # The progress shows once the app has taken the job up again.
    app.wait_for("!document.getElementById('import-run').hidden")


def check_import(
    db: Path, files: dict[str, tuple[str, str]], reported: int, kill: str
) -> int:
    """The notes stored are files' notes, each once and intact, matching the job's
    record, and at least as many as the progress had reported; returns their number."""
    notes = live_notes(db)
    items = import_items(db)
    stored = Counter((note["title"], note["body"]) for note in notes.values())
    twice = [title for (title, _), count in stored.items() if count > 1]
    if twice:
        fail(f"{kill}: notes stored twice: {twice[:5]}")
    known = set(files.values())
    strangers = [title for (title, body) in stored if (title, body) not in known]
    if strangers:
        fail(f"{kill}: notes not as in their files: {strangers[:5]}")
    if not all(note["hash_ok"] for note in notes.values()):
        fail(f"{kill}: a stored content hash is not its note's")
    recorded = {files[item] for item, outcome in items.items() if outcome == "imported"}
    if recorded != set(stored):
        fail(
            f"{kill}: the import's record and the notes differ: {len(recorded)} items"
            f" recorded as imported, {len(stored)} notes stored"
        )
    for item, outcome in items.items():
        if outcome == "duplicate" and files[item] not in stored:
            fail(f"{kill}: {item} was skipped as a copy of a note that is not stored")
    if len(stored) < reported:
        fail(f"{kill}: the progress reported {reported} imported, {len(stored)} are stored")
    jobs = import_job_states(db)
    if len(jobs) > 1:
        fail(f"{kill}: the import started over instead of resuming: jobs {jobs}")
    return len(stored)


def kill_during_import(
    data: Path, vault: Path, until: int, rng: random.Random, stopped_at: int, total: int
) -> dict[str, Any]:
    """Starts the app, starts the import (or resumes it through the notice, after a
    kill at `stopped_at` items), and kills the app once `until` items are done (plus
    up to BATCH_SECONDS); returns the last progress seen before the kill."""
    app = AppProcess(data)
    try:
        app.start()
        if stopped_at:
            resume_from_notice(app, vault, stopped_at, total)
        else:
            start_import(app, vault)
        progress: dict[str, Any] = {}
        while True:
            progress = app.call("import_progress") or {}
            if progress.get("state") in ("done", "cancelled", "failed"):
                fail(f"the import ended before the kill at {until}: {progress}")
            if progress.get("done", 0) >= until:
                break
        time.sleep(rng.uniform(0, BATCH_SECONDS))
        reap(app, kill_tree(app.pid))
        return progress
    finally:
        app.cleanup()


def test_kills_during_a_5000_note_import_lose_nothing_and_it_resumes(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    vault = tmp_path / "vault"
    files = make_vault(vault, rng)
    data = tmp_path / "data"
    total = len(files)
    points = sorted(int(total * rng.uniform(*IMPORT_SPAN)) for _ in range(IMPORT_KILLS))
    stored = before = checked = 0
    for number, point in enumerate(points, start=1):
        kill = f"import kill {number} (after {point} items)"
        progress = kill_during_import(data, vault, point, rng, before, total)
        db = checked_copy(data, tmp_path / "after", f"import-{number}")
        now = check_import(db, files, progress.get("imported", 0), kill)
        if now < stored:
            fail(f"{kill}: {stored} notes were stored before, {now} now")
        stored, before, checked = now, len(import_items(db)), checked + now

    # Started once more, the import resumes through the notice and completes.
    with AppProcess(data) as app:
        resume_from_notice(app, vault, before, total)
        deadline = time.monotonic() + 120
        while (progress := app.call("import_progress"))["state"] not in ("done", "failed"):
            if time.monotonic() > deadline:
                fail(f"the resumed import did not end: {progress}")
            time.sleep(0.1)
        assert progress["state"] == "done", progress
        assert progress["imported"] == NOTES, progress
        assert progress["duplicates"] == COPIES, progress
        assert progress["failed"] == 0, progress
        assert progress["done"] == total, progress
        assert progress["resumed"] == before, progress
    db = checked_copy(data, tmp_path / "after", "import-final")
    assert check_import(db, files, NOTES, "after the resumed import") == NOTES
    assert sorted((n["title"], n["body"]) for n in live_notes(db).values()) == sorted(
        set(files.values())
    )
    outcomes = Counter(import_items(db).values())
    assert outcomes == {"imported": NOTES, "duplicate": COPIES}, outcomes
    assert import_job_states(db) == ["done"]
    print(
        f"\ncrash/import: {IMPORT_KILLS} kills, {checked} stored notes checked after them,"
        f" then all {NOTES}, seed {SEED}"
    )


# ---------------------------------------------------------------- typing


def words(rng: random.Random, low: int, high: int) -> str:
    text = " ".join(rng.choices(WORDS, k=rng.randint(low, high)))
    # Now and then a new line in a body.
    return text.replace(" 42 ", " 42\n")


def bursts(text: str, rng: random.Random) -> list[tuple[str, float]]:
    """The text cut into bursts of keys, each with the pause after it."""
    out = []
    at = 0
    while at < len(text):
        size = rng.randint(1, 12)
        out.append((text[at : at + size], rng.choice(PAUSES)))
        at += size
    return out


class Killer:
    """Kills the app's process tree from a thread of its own: `delay` seconds from
    now, or, given `after_saves`, `delay` seconds after the journal holds that many
    acknowledged saves (the moment an answer leaves for the page), or when
    TYPING_SPAN ends, whichever comes first."""

    def __init__(
        self, app: AppProcess, delay: float, after_saves: int | None, saves: Path
    ) -> None:
        self.killed = threading.Event()
        self._victims: list[int] = []
        self._thread = threading.Thread(
            target=self._run, args=(app.pid, delay, after_saves, saves), name="killer"
        )
        self._thread.start()

    def _run(self, pid: int, delay: float, after_saves: int | None, saves: Path) -> None:
        if after_saves is not None:
            deadline = time.monotonic() + TYPING_SPAN[1]
            while time.monotonic() < deadline and _saves_in(saves) < after_saves:
                time.sleep(0.002)
        time.sleep(delay)
        self.killed.set()
        self._victims = kill_tree(pid)

    def victims(self) -> list[int]:
        self._thread.join()
        return self._victims


def _saves_in(saves: Path) -> int:
    return sum(entry["call"] == "save_note" for entry in journal(saves))


class Typist:
    """Types new notes into the window until the app dies under it; remembers what
    it meant each note to hold."""

    def __init__(self, app: AppProcess, saves: Path, rng: random.Random) -> None:
        self.app = app
        self.saves = saves
        self.rng = rng
        self.meant: dict[int, tuple[str, str]] = {}

    def run(self, killed: threading.Event) -> None:
        try:
            while True:
                self._one_note()
        except (AppError, OSError):
            if not killed.is_set():
                raise

    def _one_note(self) -> None:
        before = self._created()
        self.app.press("Ctrl+N")
        deadline = time.monotonic() + 10
        while len(created := self._created()) == len(before):
            if time.monotonic() > deadline:
                raise AppError("Ctrl+N made no note")
            time.sleep(0.01)
        note_id = created[-1]
        self.app.wait_for(NEW_NOTE_SHOWN_JS)
        title = words(self.rng, 1, 4).replace("\n", " ")
        body = words(self.rng, 3, 12)
        self.meant[note_id] = (title, body)
        for keys, pause in bursts(title, self.rng) + [("\n", 0.0)] + bursts(body, self.rng):
            self.app.type_text(keys)
            time.sleep(pause)

    def _created(self) -> list[int]:
        entries = journal(self.saves)
        return [entry["note"]["id"] for entry in entries if entry["call"] == "create_note"]


def check_saves(
    db: Path, answers: list[dict[str, Any]], meant: dict[int, tuple[str, str]], kill: str
) -> None:
    """Every note acknowledged is stored, holding at least what each acknowledgement
    said and nothing that was not typed into it."""
    notes = live_notes(db)
    for answer in answers:
        acked = answer["note"]
        note = notes.get(acked["id"])
        if note is None:
            fail(f"{kill}: note {acked['id']} was acknowledged ({answer['call']}) but is gone")
        title, body = meant.get(acked["id"], ("", ""))
        for field, typed in (("title", title), ("body", body)):
            if not note[field].startswith(acked[field]):
                fail(
                    f"{kill}: note {acked['id']}'s {field} was acknowledged as"
                    f" {acked[field]!r} but is stored as {note[field]!r}"
                )
            if not typed.startswith(note[field]):
                fail(f"{kill}: note {acked['id']}'s {field} is {note[field]!r}, typed {typed!r}")
        if not note["hash_ok"]:
            fail(f"{kill}: note {acked['id']}'s content hash is not its content's")


def test_kills_while_typing_lose_no_acknowledged_save(tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    # Odd kills at a random moment; even ones a few ms after a save was answered.
    plans = [
        (rng.uniform(*TYPING_SPAN), None)
        if number % 2
        else (rng.uniform(0, 0.03), rng.randint(1, 4))
        for number in range(1, EDIT_KILLS + 1)
    ]
    data = tmp_path / "data"
    answers: list[dict[str, Any]] = []
    meant: dict[int, tuple[str, str]] = {}
    checks = 0
    for number, (delay, after_saves) in enumerate(plans, start=1):
        saves = tmp_path / f"saves-{number}.jsonl"
        app = AppProcess(data, extra_env={"MARGIN_TEST_SAVES": str(saves)})
        try:
            app.start()
            # Each round's text is its own, however far the previous round got.
            typist = Typist(app, saves, random.Random(f"{SEED}-{number}"))
            killer = Killer(app, delay, after_saves, saves)
            typist.run(killer.killed)
            reap(app, killer.victims())
        finally:
            app.cleanup()
        answers += journal(saves)
        meant |= typist.meant
        kill_name = f"typing kill {number}"
        db = checked_copy(data, tmp_path / "after", f"typing-{number}")
        check_saves(db, answers, meant, kill_name)
        checks += len(answers)

    with AppProcess(data) as app:
        listed = app.call("list_notes", "", None, 1000, 0)
    notes = {answer["note"]["id"] for answer in answers}
    assert {row["id"] for row in listed} == notes
    saved = sum(answer["call"] == "save_note" for answer in answers)
    assert saved >= EDIT_KILLS, f"too few saves were acknowledged to test anything: {saved}"
    print(
        f"\ncrash/typing: {EDIT_KILLS} kills, {len(notes)} notes,"
        f" {saved} acknowledged saves ({checks} checks), seed {SEED}"
    )

