"""Qt's enum members by their short names only where pywebview uses them: a quicker start.

pywebview's Qt backend names enum members the PyQt5 way (Qt.NoContextMenu for
Qt.ContextMenuPolicy.NoContextMenu). qtpy makes that work on PyQt6 by copying the
members of every enum of every class in QtCore, QtGui and QtWidgets onto the class
as each module is first imported. PyQt6 makes its enums only when they are first
read, so that builds all of them (about 530) at once: 0.15 s of every start on a
quiet machine, before the window can be made (measured A/B: the window is usable
0.28 s sooner without it, under load 1.4). pywebview 6.2.1's qt.py uses short names
of the classes below only; tests/desktop/test_qt_enums.py reads qt.py and fails if
it names any other.
"""

from __future__ import annotations

import enum
from types import ModuleType

# The classes whose enum members pywebview's Qt backend uses by their short names.
SHORT_NAMES_USED = ("Qt", "QEvent", "QFile", "QMessageBox", "QFileDialog")


def install() -> None:
    """Gives only those classes their short names; call before qtpy's QtCore is imported."""
    import qtpy
    import qtpy.enums_compat

    if qtpy.PYQT6:
        # qtpy.QtCore, QtGui and QtWidgets call this when they are first imported.
        qtpy.enums_compat.promote_enums = _promote_used


def _promote_used(module: ModuleType) -> None:
    for class_name in SHORT_NAMES_USED:
        klass = getattr(module, class_name, None)
        if klass is None:
            continue
        for name in dir(klass):
            attribute = getattr(klass, name) if name[:1].isupper() else None
            if isinstance(attribute, enum.EnumMeta):
                for member_name, member in attribute.__members__.items():
                    setattr(klass, member_name, member)
