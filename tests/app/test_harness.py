"""tests/app/harness.py: a start that never gets ready says what the app printed."""

from __future__ import annotations

import pytest

from tests.app.harness import AppError, AppProcess


def test_a_start_that_never_gets_ready_reports_the_apps_output() -> None:
    app = AppProcess(ready_js="false")
    try:
        with pytest.raises(AppError) as raised:
            app.start(timeout=6)
    finally:
        app.cleanup()
    message = str(raised.value)
    assert message.startswith("timed out after")
    # The app logs this line at every test start, before the page loads.
    assert "test control channel listening on" in message
