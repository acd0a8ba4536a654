"""Markdown files and folders (an Obsidian-like vault) into the store, through the runner."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import yaml

from desktop.imports import Unreadable, front_matter, markdown
from desktop.imports.job import ImportRun
from desktop.store import Store

NOW = 1_700_000_000_000
# 2021-03-04 05:06:07 UTC, given to files without times in their front matter.
FILE_TIME_NS = 1_614_834_367_000_000_000


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    os.utime(path, ns=(FILE_TIME_NS, FILE_TIME_NS))
    return path


def make_vault(root: Path) -> dict[str, str]:
    """A small vault: nested folders, front matter, inline tags, none of either, an
    empty file, hidden folders and other files; and files that cannot be imported.
    Returns the bad files' names with a word their reason must hold."""
    write(root / "Projects" / "2024" / "Trip plan.md", (
        "---\n"
        "title: Lisbon in spring\n"
        "tags: [travel, Lisbon]\n"
        "created: 2024-03-01T09:30:00Z\n"
        "updated: 2024-03-02 10:00:00+01:00\n"
        "aliases: [lx, spring trip]\n"
        "rating: 5\n"
        "source: https://example.org/lisbon\n"
        "---\n"
        "# Plan\n\nTrams #city and #food/pastry, not `#code`, not a#b, not #2024.\n"
        "```\n#fenced\n```\n"
        "See https://example.org/page#anchor and #Lisbon again.\n"
    ))
    write(root / "Projects" / "Ideas.md", (
        "---\ntags: ideas, someday\ndate: 2020-01-01\nsource: my notebook\n---\n"
        "Grow tomatoes.\r\nOn the balcony.\r\n"
    ))
    write(root / "Inbox.md", "No front matter here, one #todo.\n")
    write(root / "Empty.md", "")
    write(root / "Bom.md", "\ufeff---\ntitle: With a BOM\n---\nText")
    write(root / "Odd title.md", "---\ntitle: [a, list]\ncreated: next tuesday\n---\nkept")
    write(root / ".obsidian" / "workspace.md", "hidden settings")
    write(root / ".trash" / "Old.md", "deleted in Obsidian")
    write(root / "Attachments" / "photo.png", b"\x89PNG\r\n")
    write(root / "Broken" / "Bad YAML.md", "---\ntitle: [unclosed\n---\nbody")
    write(root / "Broken" / "Not a mapping.md", "---\n- just\n- a list\n---\nbody")
    write(root / "Broken" / "Latin-1.md", "caf\xe9 au lait".encode("latin-1"))
    write(root / "Broken" / "Long title.md", f"---\ntitle: {'x' * 501}\n---\n")
    big = write(root / "Broken" / "Huge.md", b"")
    with big.open("r+b") as f:
        f.truncate(markdown.MAX_FILE_BYTES + 1)
    return {
        "Broken/Bad YAML.md": "broken YAML",
        "Broken/Not a mapping.md": "broken YAML",
        "Broken/Latin-1.md": "not UTF-8",
        "Broken/Long title.md": "title is longer than 500",
        "Broken/Huge.md": "too large",
    }


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


def by_title(store: Store) -> dict[str, dict]:
    return {note["title"]: note for note in store.export_notes(limit=1000)}


def test_a_vault_is_imported_with_what_every_file_says(store: Store, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    bad = make_vault(vault)
    progress = ImportRun(store, vault).run()

    assert progress["state"] == "done" and progress["problem"] is None
    assert (progress["imported"], progress["duplicates"], progress["failed"]) == (6, 0, 5)
    assert progress["done"] == progress["total"] == 11
    assert progress["others"] == 1  # the picture; hidden folders are not even counted
    reasons = {failure["item"]: failure["reason"] for failure in progress["failures"]}
    assert reasons.keys() == bad.keys()
    for item, word in bad.items():
        assert word in reasons[item], reasons[item]

    notes = by_title(store)
    trip = notes["Lisbon in spring"]
    assert trip["body"].startswith("# Plan\n\nTrams #city")
    assert trip["created"] == ms("2024-03-01T09:30:00+00:00")
    assert trip["updated"] == ms("2024-03-02T10:00:00+01:00")
    assert trip["source_url"] == "https://example.org/lisbon"
    assert {t["name"] for t in trip["tags"]} == {
        "travel", "Lisbon", "city", "food/pastry", "Projects/2024"}
    assert all(t["origin"] == "user" for t in trip["tags"])
    assert yaml.safe_load(trip["front_matter"]) == {"aliases": ["lx", "spring trip"], "rating": 5}

    ideas = notes["Ideas"]
    assert ideas["body"] == "Grow tomatoes.\r\nOn the balcony.\r\n"
    assert [t["name"] for t in ideas["tags"]] == ["ideas", "Projects", "someday"]
    assert ideas["source_url"] is None
    assert yaml.safe_load(ideas["front_matter"]) == {
        "date": dt.date(2020, 1, 1), "source": "my notebook"}
    # No times in the front matter: the file's own.
    assert ideas["updated"] == FILE_TIME_NS // 1_000_000

    inbox = notes["Inbox"]
    assert [t["name"] for t in inbox["tags"]] == ["todo"]
    assert inbox["front_matter"] is None
    assert inbox["created"] == inbox["updated"] == FILE_TIME_NS // 1_000_000
    assert notes["Empty"]["body"] == "" and notes["Empty"]["tags"] == []
    assert notes["With a BOM"]["body"] == "Text"
    odd = notes["Odd title"]
    assert yaml.safe_load(odd["front_matter"]) == {
        "title (as imported)": ["a", "list"], "created (as imported)": "next tuesday"}
    assert "hidden settings" not in {n["body"] for n in notes.values()}


def test_importing_a_vault_again_skips_every_note_as_a_duplicate(store, tmp_path) -> None:
    vault = tmp_path / "vault"
    make_vault(vault)
    ImportRun(store, vault).run()
    again = ImportRun(store, vault).run()
    assert (again["imported"], again["duplicates"], again["failed"]) == (0, 6, 5)
    assert len(store.list_notes()) == 6


def test_one_file_is_imported_without_a_folder_tag(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path / "deep" / "folder" / "One.md", "Just #one")
    progress = ImportRun(store, path).run()
    assert progress["imported"] == 1
    assert [t["name"] for t in store.export_notes()[0]["tags"]] == ["one"]


def test_front_matter_times_and_tags_in_their_many_spellings() -> None:
    utc = dt.UTC
    assert front_matter.time_ms(dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=utc)) == ms(
        "2024-01-02T03:04:05.678+00:00")
    assert front_matter.time_ms("2024-01-02T03:04:05Z") == ms("2024-01-02T03:04:05+00:00")
    assert front_matter.time_ms("2024-01-02T03:04") == ms("2024-01-02T03:04")  # local time
    assert front_matter.time_ms(dt.date(2024, 1, 2)) == ms("2024-01-02T00:00")
    assert front_matter.time_ms(1_700_000_000) == 1_700_000_000_000  # seconds
    assert front_matter.time_ms(1_700_000_000_123) == 1_700_000_000_123  # ms
    for unusable in ("soon", True, None, [2024], float("nan"), 10**30):
        assert front_matter.time_ms(unusable) is None
    assert front_matter.time_ms(front_matter.yaml_time(-5)) == -5
    assert front_matter.yaml_time(10**18) == 10**18  # past year 9999: kept as a number
    assert list(markdown.inline_tags("#a #b/c #1 #_x x#y (#z) #ünï #a-b- `#c`")) == [
        "a", "b/c", "_x", "ünï", "a-b-"]


def test_front_matter_needs_its_closing_line_and_hostile_yaml_fails_cleanly() -> None:
    assert front_matter.split("---\nno end") == (None, "---\nno end")
    assert front_matter.split("---\n---\nbody") == ({}, "body")
    assert front_matter.split("--- \r\na: 1\r\n...\r\n\r\nbody") == ({"a": 1}, "\r\nbody")
    with pytest.raises(Unreadable, match="broken YAML"):
        front_matter.split("---\n" + "[" * 5000 + "\n---\n")
    with pytest.raises(Unreadable, match="broken YAML"):
        front_matter.split("---\na: !!python/object/apply:os.system ['true']\n---\n")
    # Aliases load as shared values, so "billion laughs" costs nothing.
    laughs = "---\na: &a [lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(20)
    ) + "---\n"
    meta, _ = front_matter.split(laughs)
    assert len(front_matter.dump(meta)) < 2000
