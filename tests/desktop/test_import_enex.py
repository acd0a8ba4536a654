"""Evernote .enex files: notes with their text, tags, times and source, and files that
are broken or hostile, each refused with its reason while the good ones come in."""

from __future__ import annotations

from pathlib import Path

import yaml

from desktop.imports import enex, enml
from desktop.imports.job import ImportRun
from desktop.store import Store

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE en-export SYSTEM "http://xml.evernote.com/pub/evernote-export3.dtd">\n'
    '<en-export export-date="20240101T120000Z" application="Evernote" version="10.0">\n'
)
TAIL = "</en-export>\n"


def enex_note(title: str, enml_body: str, *, tags=(), created="", updated="",
              attributes="") -> str:
    content = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        '<!DOCTYPE en-note SYSTEM "http://xml.evernote.com/pub/enml2.dtd">'
        f"<en-note>{enml_body}</en-note>"
    )
    return (
        f"<note><title>{title}</title><content><![CDATA[{content}]]></content>"
        + (f"<created>{created}</created>" if created else "")
        + (f"<updated>{updated}</updated>" if updated else "")
        + "".join(f"<tag>{tag}</tag>" for tag in tags)
        + (f"<note-attributes>{attributes}</note-attributes>" if attributes else "")
        + "</note>\n"
    )


def make_enex_files(folder: Path) -> dict[str, str]:
    """A good export, and hostile or broken ones; returns the bad files' names with a word
    their reason must hold."""
    folder.mkdir(parents=True, exist_ok=True)
    secret = folder.parent / "secret.txt"
    secret.write_text("TOP SECRET")
    (folder / "Travel.enex").write_text(HEAD + enex_note(
        "Lisbon &amp; Porto",
        "<div>Trams &amp; <b>tiles</b></div><ul><li>Belém</li><li>Alfama</li></ul>"
        '<p>See <a href="https://example.org/lx">the guide</a>.</p>'
        '<en-media type="image/jpeg" hash="00ff"/>',
        tags=["travel", "Portugal"],
        created="20130730T205204Z",
        updated="20130801T080000Z",
        attributes="<author>Ana</author><source>web.clip7</source>"
                   "<source-url>https://example.org/lisbon</source-url>",
    ) + enex_note("To do", "<div><en-todo checked=\"true\"/>pack</div><div><en-todo/>go</div>",
                  created="20140101T000000Z") + TAIL, encoding="utf-8")
    (folder / "Billion laughs.enex").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE en-export [\n <!ENTITY lol "lol">\n'
        + "".join(f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n'
                  for i in range(1, 10))
        + "]>\n<en-export><note><title>&lol9;</title></note></en-export>\n"
    )
    (folder / "External entity.enex").write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE en-export [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        "<en-export><note><title>&xxe;</title><content>&xxe;</content></note></en-export>\n"
    )
    (folder / "Malformed.enex").write_text(
        HEAD + enex_note("Fine before the break", "<div>kept</div>") + "<note><title>x</tile>"
    )
    (folder / "Latin-1.enex").write_bytes(
        (HEAD + enex_note("Café", "<div>crème brûlée</div>") + TAIL).encode("latin-1")
    )
    (folder / "Not Evernote.enex").write_text('<?xml version="1.0"?><html><body/></html>')
    huge = folder / "Huge.enex"
    with huge.open("wb") as f:
        f.truncate(enex.MAX_FILE_BYTES + 1)
    return {
        "Billion laughs.enex": "entities",
        "External entity.enex": "entities",
        "Malformed.enex": "malformed XML",
        "Latin-1.enex": "not UTF-8",
        "Not Evernote.enex": "not an Evernote export",
        "Huge.enex": "too large",
    }


def test_good_notes_come_in_and_each_bad_file_is_named_with_its_reason(store, tmp_path) -> None:
    folder = tmp_path / "evernote"
    bad = make_enex_files(folder)
    progress = ImportRun(store, folder).run()
    reasons = {failure["item"]: failure["reason"] for failure in progress["failures"]}
    assert reasons.keys() == bad.keys()
    for item, word in bad.items():
        assert word in reasons[item], reasons[item]
    assert "after 1 note" in reasons["Malformed.enex"]
    assert progress["state"] == "done"
    assert progress["imported"] == 3  # two from Travel.enex, one before Malformed's break
    notes = {note["title"]: note for note in store.export_notes()}
    assert set(notes) == {"Lisbon & Porto", "To do", "Fine before the break"}
    assert not any("TOP SECRET" in note["body"] or "lol" in note["title"]
                   for note in notes.values())

    lisbon = notes["Lisbon & Porto"]
    assert lisbon["body"] == (
        "Trams & tiles\n- Belém\n- Alfama\n\nSee the guide (https://example.org/lx).\n\n"
        "[image/jpeg]"
    )
    assert [t["name"] for t in lisbon["tags"]] == ["Portugal", "travel"]
    assert lisbon["created"] == 1_375_217_524_000  # 2013-07-30 20:52:04 UTC
    assert lisbon["updated"] == 1_375_344_000_000
    assert lisbon["source_url"] == "https://example.org/lisbon"
    assert yaml.safe_load(lisbon["front_matter"]) == {"author": "Ana", "source": "web.clip7"}
    todo = notes["To do"]
    assert todo["body"] == "[x] pack\n[ ] go"
    assert todo["created"] == todo["updated"] == 1_388_534_400_000


def test_a_note_too_big_for_the_app_is_refused_alone(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "Mixed.enex"
    path.write_text(HEAD + enex_note("Small", "<p>ok</p>") + enex_note("T" * 501, "<p>x</p>")
                    + enex_note("Big", "<p>" + "word " * 250_000 + "</p>") + TAIL)
    progress = ImportRun(store, path).run()
    assert progress["imported"] == 1 and progress["failed"] == 2
    reasons = {failure["item"]: failure["reason"] for failure in progress["failures"]}
    assert "longer than 500" in reasons["Mixed.enex#2"]
    assert reasons["Mixed.enex#3"].startswith("“Big”: too large")


def test_the_note_count_for_progress_is_found_without_parsing(tmp_path: Path) -> None:
    path = tmp_path / "Many.enex"
    # Notes straddling the counter's chunk boundary are counted once.
    path.write_text(HEAD + "".join(enex_note(f"n{i}", "x" * 997) for i in range(1500)) + TAIL)
    assert enex.count_notes(path) == 1500


def test_enml_becomes_readable_text() -> None:
    assert enml.to_text(
        "<en-note><h1>Title</h1><div>one<br/>two</div><ol><li>a<ul><li>b</li></ul></li></ol>"
        "<table><tr><th>k</th><td>v</td></tr></table><hr/>"
        "<div>a&nbsp;b &lt;c&gt;</div><script>alert(1)</script><style>p{}</style>"
        '<a href="javascript:alert(1)">js</a> <a href="https://x.org">https://x.org</a>'
        "<pre>  keep\n  spaces</pre><en-crypt>secret</en-crypt></en-note>"
    ) == (
        "Title\n\none\ntwo\n- a\n  - b\n\nk | v\n\n---\n\na b <c>\njs https://x.org\n\n"
        "  keep\n  spaces\n\n[encrypted text]"
    )
