"""A picture of the window holding a few notes, at test-artifacts/window.png.

Runs on a real X display (xvfb-run -a), where the window is drawn as users see it.
"""

from __future__ import annotations

import os

import pytest

from tests.app.harness import READY_JS, ROOT

NOTES = [
    {
        "title": "Reading list for the spring",
        "body": "The Overstory, Richard Powers\nBraiding Sweetgrass, Robin Wall Kimmerer\n"
        "A Swim in a Pond in the Rain, George Saunders",
        "tags": ["books"],
    },
    {
        "title": "Why SQLite's WAL mode suits a desktop app",
        "body": "Readers never block the writer, and a crash loses at most the last "
        "transaction. Checkpoints run in the background.",
        "source_url": "https://www.sqlite.org/wal.html",
        "tags": ["databases", "reference"],
    },
    {
        "title": "Lisbon, three days",
        "body": "Day 1: Alfama and the castle at sunset. Tram 28 early, before the queues.\n"
        "Day 2: Belém: the monastery, the tower, and pastéis at the original bakery.\n"
        "Day 3: LX Factory, then the river walk back to Cais do Sodré.\n\n"
        "Pack: comfortable shoes (the hills!), a light jacket for the evening wind.",
        "source_url": "https://example.org/lisbon-in-three-days",
        "tags": ["travel", "plans"],
    },
]


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X display: xvfb-run -a")
def test_window_screenshot(app_factory) -> None:
    app = app_factory(offscreen=False)
    for note in NOTES:
        assert "id" in app.call("create_note", note)
    app.eval("window.__before_reload = true; location.reload(); true")
    app.wait_for(f"window.__before_reload === undefined && {READY_JS}", timeout=20)
    app.wait_for("document.querySelectorAll('.note-row').length === 3")
    app.eval("document.getElementById('body').focus(); true")

    path = app.screenshot(ROOT / "test-artifacts" / "window.png")

    from qtpy.QtGui import QImage

    image = QImage(str(path))
    assert (image.width(), image.height()) == (1200, 780)
    # Drawn, not blank: the sidebar, the list, and the paper differ in colour.
    colours = {image.pixelColor(x, 700).name() for x in (100, 360, 800)}
    assert len(colours) == 3
