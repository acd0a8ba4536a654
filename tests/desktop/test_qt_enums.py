"""desktop/qt_enums.py gives short enum names to every class pywebview's Qt backend
uses them on, read from its source, and leaves the other classes alone.

Each check runs in a fresh interpreter: qtpy gives the names once, when its modules
are first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Prints the short names pywebview's qt.py reads that do not resolve, then whether a
# class it does not use got short names anyway.
CHECK = """
import json, re, sys
from desktop import qt_enums
qt_enums.SHORT_NAMES_USED = tuple(sys.argv[1].split(",")) if sys.argv[1] else ()
qt_enums.install()
from qtpy import QtCore, QtGui, QtWidgets
from webview.platforms import qt

# Classes qtpy gives short names in (QtWebEngine's it never did); an unqualified class
# is looked up in them as qt.py imports it.
modules = (QtCore, QtGui, QtWidgets)
unresolved = set()
source = open(qt.__file__, encoding="utf-8").read()
for module_name, class_name, name in re.findall(
    r"\\b(?:(QtCore|QtGui|QtWidgets)\\.)?(Q[A-Za-z]*|Qt)\\.([A-Z][A-Za-z_]*)\\b", source
):
    owners = [getattr(sys.modules["qtpy." + module_name], class_name, None)] if module_name \\
        else [getattr(module, class_name, None) for module in modules]
    for owner in owners:
        if isinstance(owner, type) and not hasattr(owner, name):
            unresolved.add(f"{class_name}.{name}")
print(json.dumps({
    "unresolved": sorted(unresolved),
    "others_untouched": not hasattr(QtWidgets.QSizePolicy, "Expanding"),
}))
"""


def check(classes: tuple[str, ...]) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", CHECK, ",".join(classes)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_every_short_name_pywebview_uses_resolves_and_no_other_class_gets_them() -> None:
    from desktop.qt_enums import SHORT_NAMES_USED

    assert check(SHORT_NAMES_USED) == {"unresolved": [], "others_untouched": True}


def test_a_class_left_out_is_found() -> None:
    # The check above can fail: without QFile and QFileDialog, qt.py's uses of them show.
    result = check(("Qt", "QEvent", "QMessageBox"))
    assert result["unresolved"] == ["QFile.ReadOnly", "QFileDialog.ShowDirsOnly"]
