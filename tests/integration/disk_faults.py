"""A disk that fills up on demand, for the ENOSPC tests (issue #17).

Two ways, chosen when the fixture starts, and reported by :attr:`SmallDisk.mode`:

- ``tmpfs`` (when this process may mount, i.e. root, as in CI and on the build machine):
  a real 4 MiB tmpfs is mounted over a temporary folder; :meth:`SmallDisk.fill` writes a
  ballast file until the kernel answers ENOSPC, :meth:`SmallDisk.free` deletes it. SQLite,
  the photo store and the outbox meet the real error from the real kernel.
- ``injected`` (anywhere else, or with ``EVIDENCE_LOCKER_DISK_FAULTS=inject``): a plain
  folder, and while "full" every photo-store file write and every tile-publish write
  (``os.write`` as ``custody.ledger.publish`` sees it) raises ``OSError(ENOSPC)``, and every
  write statement on the SQLite connections handed to :meth:`SmallDisk.watch` raises
  SQLite's ``SQLITE_FULL`` error, as SQLite itself does on a full disk.

``fill(leave=N)`` leaves about N bytes free, so that a write of many files fails part-way:
on the tmpfs the ballast is shortened by N bytes; injected, the tile writer may write N
bytes more before its writes fail.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import custody.ledger.publish
import scanner.photostore

SIZE = "4m"


def _try_mount(where: Path) -> bool:
    if os.environ.get("EVIDENCE_LOCKER_DISK_FAULTS") == "inject" or os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0755", "tmpfs", str(where)],
        capture_output=True, check=False,
    )
    return done.returncode == 0


def _full_error() -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError("database or disk is full")
    exc.sqlite_errorcode = sqlite3.SQLITE_FULL
    exc.sqlite_errorname = "SQLITE_FULL"
    return exc


class _FullConnection:
    """A sqlite3 connection that refuses every write statement while the disk is full."""

    def __init__(self, conn: sqlite3.Connection, disk: SmallDisk) -> None:
        self._conn = conn
        self._disk = disk

    def _check(self, sql: str) -> None:
        if self._disk.full and sql.lstrip().split(None, 1)[0].upper() in (
            "INSERT", "UPDATE", "DELETE", "REPLACE"
        ):
            raise _full_error()

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._check(sql)
        return self._conn.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._check(sql)
        return self._conn.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _FullFile:
    """What the photo store's ``open`` returns while the disk is full: writes fail."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self) -> _FullFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _FullOs:
    """``os`` as the tile writer sees it while the disk is full: ``write`` fails once the
    bytes left (``SmallDisk.left``) are used up."""

    def __init__(self, disk: SmallDisk) -> None:
        self._disk = disk

    def write(self, fd: int, data: Any) -> int:
        disk = self._disk
        if disk.full:
            if disk.left <= 0:
                raise OSError(errno.ENOSPC, "No space left on device")
            data = bytes(data)[: disk.left]
            disk.left -= len(data)
        return os.write(fd, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


class SmallDisk:
    """A folder on a disk the test fills and frees. See the module docstring."""

    def __init__(self, root: Path, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.mode = mode
        self.full = False
        self.left = 0  # injected: bytes the tile writer may still write while full
        self._ballast = root / f"ballast-{uuid.uuid4().hex}"
        if mode == "injected":
            real_open = open

            def photo_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
                handle = real_open(file, mode, *args, **kwargs)
                return _FullFile(handle) if self.full and "w" in mode else handle

            monkeypatch.setattr(scanner.photostore, "open", photo_open, raising=False)
            monkeypatch.setattr(custody.ledger.publish, "os", _FullOs(self))

    def watch(self, owner: Any, attribute: str) -> None:
        """In ``injected`` mode, put the full-disk layer over ``owner.<attribute>`` (a
        sqlite3 connection); on a real tmpfs there is nothing to do."""
        if self.mode == "injected":
            setattr(owner, attribute, _FullConnection(getattr(owner, attribute), self))

    def fill(self, leave: int = 0) -> None:
        """Leave no free space (or about ``leave`` bytes, see the module text)."""
        self.full = True
        self.left = leave
        if self.mode != "tmpfs":
            return
        chunk = b"\0" * (64 * 1024)
        with open(self._ballast, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        # the last partial pages too, so that not even a 4 KiB page is left
        with open(self._ballast.with_suffix(".tail"), "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 512)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        if leave:
            os.truncate(self._ballast, os.path.getsize(self._ballast) - leave)

    def free(self) -> None:
        """Give the space back."""
        self.full = False
        self.left = 0  # injected: bytes the tile writer may still write while full
        self._ballast.unlink(missing_ok=True)
        self._ballast.with_suffix(".tail").unlink(missing_ok=True)


@pytest.fixture()
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmallDisk]:
    """A :class:`SmallDisk`: a real tmpfs when the test may mount one, else injected."""
    where = tmp_path / "small-disk"
    where.mkdir()
    mounted = _try_mount(where)
    disk = SmallDisk(where, "tmpfs" if mounted else "injected", monkeypatch)
    try:
        yield disk
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=False)
