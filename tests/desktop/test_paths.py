"""Where Margin looks for its data dir and its bundled webui/."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs
import pytest

from desktop import paths

REPO = Path(__file__).resolve().parents[2]


def test_cli_value_wins_over_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "from-env"))
    chosen = paths.data_dir(tmp_path / "from-cli")
    assert chosen == (tmp_path / "from-cli").resolve()
    assert chosen.is_dir()
    assert not (tmp_path / "from-env").exists()


def test_environment_is_used_without_a_cli_value(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "nested" / "data"))
    assert paths.data_dir() == (tmp_path / "nested" / "data").resolve()
    assert (tmp_path / "nested" / "data").is_dir()


def test_default_is_the_user_data_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(paths.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    expected = Path(platformdirs.user_data_dir("Margin", appauthor=False)).resolve()
    if sys.platform.startswith("linux"):
        assert expected == (tmp_path / "xdg" / "Margin").resolve()
    assert paths.data_dir() == expected


def test_files_live_in_the_data_dir(tmp_path: Path) -> None:
    for path in (
        paths.database_file(tmp_path),
        paths.log_file(tmp_path),
        paths.lock_file(tmp_path),
        paths.instance_file(tmp_path),
    ):
        assert path.parent == tmp_path
    assert len({paths.database_file(tmp_path), paths.log_file(tmp_path)}) == 2


def test_webui_from_the_source_tree(monkeypatch) -> None:
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    assert paths.webui_dir() == REPO / "webui"
    assert (paths.webui_dir() / "index.html").is_file()


def test_webui_from_a_pyinstaller_bundle(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resource_root() == tmp_path
    assert paths.webui_dir() == tmp_path / "webui"


@pytest.mark.parametrize("value", ["", None])
def test_empty_cli_value_falls_back(tmp_path: Path, monkeypatch, value) -> None:
    monkeypatch.setenv(paths.DATA_DIR_ENV, str(tmp_path / "env"))
    assert paths.data_dir(value) == (tmp_path / "env").resolve()
