"""Steps a person takes in the real window, shared by the trust tests."""

from __future__ import annotations

from tests.app.harness import AppProcess


def write_note(app: AppProcess, title: str, body: str) -> None:
    """Ctrl+N, the title, Enter, then the body, typed through Qt's key events."""
    app.press("Ctrl+N")
    app.wait_for("document.activeElement === document.getElementById('title')")
    app.type_text(title + "\n")
    app.wait_for("document.activeElement === document.getElementById('body')")
    app.type_text(body)
