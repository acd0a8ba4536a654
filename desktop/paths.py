"""Where Margin keeps its data and where its bundled files (webui/) live."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "Margin"
DATA_DIR_ENV = "MARGIN_DATA_DIR"


def data_dir(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: --data-dir, else $MARGIN_DATA_DIR, else the user data dir.

    The directory is created if it does not exist yet.
    """
    chosen = (
        cli_value
        or os.environ.get(DATA_DIR_ENV)
        or platformdirs.user_data_dir(APP_NAME, appauthor=False)
    )
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_file(data: Path) -> Path:
    return data / "margin.sqlite3"


def backups_dir(data: Path) -> Path:
    """Snapshots of the database (desktop/backup.py); created on the first one."""
    return data / "backups"


def log_file(data: Path) -> Path:
    return data / "margin.log"


def lock_file(data: Path) -> Path:
    return data / "margin.lock"


def instance_file(data: Path) -> Path:
    """Who holds the lock: written by the running instance for a second launch to read."""
    return data / "margin.instance.json"


def resource_root() -> Path:
    """The folder holding webui/: the PyInstaller bundle when frozen, else the source tree."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parent.parent


def webui_dir() -> Path:
    return resource_root() / "webui"


def icon_file() -> Path:
    """Margin's icon as a PNG (build.spec puts it in the package)."""
    return resource_root() / "icons" / "margin.png"
