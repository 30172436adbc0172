"""The one place a ``locker`` command checks the paths it was given, before it acts.

Every check raises :class:`custody.errors.PathError` (exit code 2) with one line naming the
path and what is wrong with it: missing, a file where a folder is needed (or the reverse),
already there when it must be new, or in a folder this user cannot write. Nothing is
created by a check: a command that passes them then writes, and a command that fails them
has written nothing. Whether a folder can be written is found by trying (an unnamed
temporary file, gone when closed): ``os.access`` says yes to root even on ``/proc``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from custody.errors import PathError
from custody.ledger.station import StationPaths
from custody.textfile import read_utf8_text

__all__ = [
    "existing_dir",
    "existing_file",
    "existing_path",
    "new_dir",
    "new_file",
    "read_utf8_text",
    "station_dir",
    "writable_dir",
]


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (what ``mkdir -p`` would start from)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def writable_dir(path: Path, what: str, target: Path | None = None) -> Path:
    """``path`` if it is a folder this process can create files in (to make ``target``)."""
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise PathError(
            f"cannot write {what} {target or path}: folder {path} is not writable "
            f"({exc.strerror or exc})"
        ) from None
    return path


def existing_dir(path: Path | str, what: str = "folder") -> Path:
    """``path`` if it is an existing folder."""
    p = Path(path)
    if not p.exists():
        raise PathError(f"{what} {p} does not exist")
    if not p.is_dir():
        raise PathError(f"{what} {p} is a file, not a folder")
    return p


def existing_path(path: Path | str, what: str = "path") -> Path:
    """``path`` if it exists (a file or a folder: an audit bundle may be either)."""
    p = Path(path)
    if not p.exists():
        raise PathError(f"{what} {p} does not exist")
    return p


def existing_file(path: Path | str, what: str = "file") -> Path:
    """``path`` if it is an existing regular file (or device) that can be opened."""
    p = Path(path)
    if not p.exists():
        raise PathError(f"{what} {p} does not exist")
    if p.is_dir():
        raise PathError(f"{what} {p} is a folder, not a file")
    try:
        with p.open("rb"):
            pass
    except OSError as exc:
        raise PathError(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    return p


def station_dir(path: Path | str) -> Path:
    """``path`` if it is an existing station data directory (it holds ``ledger.db``)."""
    p = existing_dir(path, "data directory")
    if not StationPaths(p).ledger_db.is_file():
        raise PathError(
            f"{p} is not a station data directory (no ledger.db); "
            "create one with 'locker init --data DIR'"
        )
    return p


def new_dir(path: Path | str, what: str = "folder", *, must_be_empty: bool = False) -> Path:
    """``path`` if a folder can be made (or used) there: it is not a file; if it exists it
    is a writable folder (and empty, with ``must_be_empty``); if not, its nearest existing
    ancestor is a writable folder (it will be made with its parents)."""
    p = Path(path)
    if p.exists():
        if not p.is_dir():
            raise PathError(f"{what} {p} is a file, not a folder")
        if must_be_empty and any(p.iterdir()):
            raise PathError(f"{what} {p} is not empty; give a new or empty folder")
        return writable_dir(p, what)
    base = _nearest_existing(p.parent)
    if not base.is_dir():
        raise PathError(f"cannot make {what} {p}: {base} is a file, not a folder")
    writable_dir(base, what, p)
    return p


def new_file(path: Path | str, what: str = "file") -> Path:
    """``path`` if a new file can be written there: it does not exist, and its folder
    exists and is writable."""
    p = Path(path)
    if p.exists() or p.is_symlink():
        raise PathError(f"{what} {p} already exists; refusing to overwrite it")
    parent = p.parent
    if not parent.exists():
        raise PathError(f"cannot write {what} {p}: folder {parent} does not exist")
    if not parent.is_dir():
        raise PathError(f"cannot write {what} {p}: {parent} is a file, not a folder")
    writable_dir(parent, what, p)
    return p
