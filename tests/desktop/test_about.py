"""desktop/about.py: the version, the title, and the credits the licences ask for."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from desktop import about

SHARED_README = Path(__file__).resolve().parents[3] / "shared" / "data" / "README.md"


def test_title_is_the_name_and_the_version_of_the_installed_package() -> None:
    assert about.version() == importlib.metadata.version("margin")
    assert about.title() == f"Margin {about.version()}"


def test_models_and_training_data_carry_their_licences() -> None:
    facts = about.facts()
    licences = {part["name"]: part["licence"] for part in facts["models_and_data"]}
    assert licences == {
        "Universal Sentence Encoder multilingual v3": "Apache-2.0",
        "CLINC150": "CC BY 3.0",
        "SIB-200": "CC BY-SA 4.0",
    }
    # The data's own README: its table's last column is each folder's licence.
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in SHARED_README.read_text(encoding="utf-8").splitlines()
        if line.startswith(("| clinc150/", "| sib200/"))
    ]
    readme = {row[0]: row[-1] for row in rows}
    assert readme["clinc150/"] == licences["CLINC150"]
    assert readme["sib200/"].startswith(licences["SIB-200"])


def test_software_versions_and_licence_files_come_from_the_installed_packages() -> None:
    software = {part["name"]: part for part in about.facts()["software"]}
    pyqt = software["PyQt6 and PyQt6-WebEngine"]
    assert pyqt["version"] == importlib.metadata.version("PyQt6")
    assert pyqt["licence"] == "GPL-3.0"
    assert pyqt["licence_files"] and all(Path(f).is_file() for f in pyqt["licence_files"])
    assert software["pywebview"]["version"] == "6.2.1"
    assert software["TensorFlow.js and its WebAssembly backend"]["licence"] == "Apache-2.0"


def test_notice_credits_every_part() -> None:
    notice = about.notice()
    for part in about.MODELS_AND_DATA + about.SOFTWARE:
        assert f"{part.name} ({part.licence})" in notice
        assert part.credit in notice
