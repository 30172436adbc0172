"""The optional C accelerator (``custody/ledger/_speedups.c``) and the switch that turns it off.

The pure-Python code in :mod:`custody.ledger.canonical` and :mod:`custody.ledger.verify` is the
reference; the accelerator only takes the common case faster and hands everything unusual
back to it (see the C file's header). ``NATIVE`` is the loaded module, or ``None`` when it
was not built or when ``EVIDENCE_LOCKER_PURE_PYTHON=1`` is set (an auditor may want the
reference path only; tests switch it per case).
"""

from __future__ import annotations

import os
from types import ModuleType

try:
    from custody.ledger import _speedups as _built
except ImportError:  # not compiled here (no C compiler or OpenSSL headers at install)
    _built = None  # type: ignore[assignment]

BUILT: ModuleType | None = _built
NATIVE: ModuleType | None = None if os.environ.get("EVIDENCE_LOCKER_PURE_PYTHON") == "1" else BUILT


def describe() -> str:
    """One line for ``--help`` texts and reports: which implementation runs."""
    if NATIVE is not None:
        return "C accelerator (custody.ledger._speedups) with the Python reference as fallback"
    if BUILT is None:
        return "pure Python (the C accelerator is not built)"
    return "pure Python (EVIDENCE_LOCKER_PURE_PYTHON=1)"
