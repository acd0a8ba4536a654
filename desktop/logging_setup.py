"""Logging for the app: a rotating file in the data dir, warnings also on stderr."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"
# extra= for a record whose news the user already got in plainer words on stderr.
SHOWN = {"shown_to_user": True}


def _not_shown(record: logging.LogRecord) -> bool:
    return not getattr(record, "shown_to_user", False)


def configure(log_path: Path) -> None:
    file_handler: logging.Handler | None = None
    try:
        file_handler = logging.handlers.RotatingFileHandler(
            log_path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError as e:
        # A read-only data folder: Margin still starts, and says why it cannot save.
        unwritable = e
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("margin: %(levelname)s %(message)s"))
    console.addFilter(_not_shown)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if file_handler is not None:
        file_handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(file_handler)
    root.addHandler(console)
    if file_handler is None:
        logging.getLogger(__name__).warning("cannot write the log %s: %s", log_path, unwritable)
    # pywebview adds its own stderr handler at import unless its logger already has
    # one; this one keeps its records flowing to ours only (file, warnings on stderr).
    logging.getLogger("pywebview").addHandler(logging.NullHandler())
    logging.captureWarnings(True)
