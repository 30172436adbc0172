"""A saved copy of the API's custody state, so that a restart does not fold the whole ledger.

Folding a million entries into the custody projection takes most of a minute; reading a
saved state takes about a second. The snapshot is **derived data**, like the index
(:mod:`api.index`): it is tagged with the ledger prefix it was folded from (its size and the
RFC 6962 root of the ledger at that size), used at start only when the ledger still has
that prefix, and otherwise thrown away: the state is rebuilt from the ledger. Deleting the
file is always safe. Nothing is trusted over the ledger.

The file, ``DATA/api-projection.json``, is two lines of JSON (plain values, never pickle):

1. the header: ``{"format": "evidence-locker/api-projection", "version": 1, "size": N,
   "root": base64, "body_bytes": n, "body_sha256": hex}``;
2. the body: :meth:`api.custody_view.CustodyView.to_state` (the projection's rows and the
   ladder steps notified).

The header is read first, so a snapshot of another ledger is rejected without reading the
body; the body's hash catches a torn or damaged file. It is written to a temporary file and
renamed over the old one, so a reader sees the old snapshot or the new one, never half.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from api.errors import ApiError

SNAPSHOT_NAME = "api-projection.json"
FORMAT = "evidence-locker/api-projection"
VERSION = 1
_HEADER_MAX = 4096  # the header line is ~200 bytes; anything longer is not our header

log = logging.getLogger("api.snapshot")


class NoSnapshotError(ApiError):
    """There is no snapshot file (a first start, or it was deleted): rebuild."""


class SnapshotRejectedError(ApiError):
    """The snapshot cannot be used (another ledger, a shorter one, another format, or a
    damaged file): it is ignored and the state rebuilt from the ledger."""


class RootSource(Protocol):
    """What the snapshot needs of the ledger: its size and its root at a size."""

    @property
    def size(self) -> int: ...

    def root(self, size: int | None = None) -> bytes: ...


@dataclass(frozen=True)
class Snapshot:
    """A snapshot read back: the ledger prefix it was folded from, and its body."""

    size: int
    root: str  # base64 of the RFC 6962 root at ``size``
    body: Mapping[str, Any]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while a whole state is built or saved.

    Restoring a million-entry state allocates millions of lists and objects at once, none
    of them garbage; the collector would walk the growing heap again and again (it made the
    restore twice as slow). Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class SnapshotFile:
    """Reads and writes ``DATA/api-projection.json``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / SNAPSHOT_NAME

    def read(self, ledger: RootSource) -> Snapshot:
        """The snapshot, if it was folded from a prefix of ``ledger``.

        Raises :class:`NoSnapshotError` when there is none and :class:`SnapshotRejectedError`
        (with the reason) when it does not fit this ledger or is damaged.
        """
        try:
            with self.path.open("rb") as f:
                head = f.readline(_HEADER_MAX)
                header = self._header(head)
                size, root = header["size"], header["root"]
                if size > ledger.size:
                    raise SnapshotRejectedError(
                        f"snapshot is of {size} entries but the ledger holds {ledger.size} "
                        "(a shorter or replaced ledger)"
                    )
                if _b64(ledger.root(size)) != root:
                    raise SnapshotRejectedError(
                        f"snapshot's root at size {size} is not the ledger's (a replaced ledger)"
                    )
                raw = f.read()
        except FileNotFoundError:
            raise NoSnapshotError(f"no snapshot {self.path}") from None
        except OSError as exc:
            raise SnapshotRejectedError(f"snapshot cannot be read: {exc}") from exc
        if raw.endswith(b"\n"):
            raw = raw[:-1]
        if len(raw) != header["body_bytes"] or hashlib.sha256(raw).hexdigest() != header[
            "body_sha256"
        ]:
            raise SnapshotRejectedError("snapshot body does not match its hash (damaged file)")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise SnapshotRejectedError(f"snapshot body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise SnapshotRejectedError("snapshot body is not a JSON object")
        return Snapshot(size=size, root=root, body=body)

    @staticmethod
    def _header(line: bytes) -> dict[str, Any]:
        try:
            header = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise SnapshotRejectedError(f"snapshot header is not JSON: {exc}") from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise SnapshotRejectedError("not an API projection snapshot")
        if header.get("version") != VERSION:
            raise SnapshotRejectedError(
                f"snapshot format version {header.get('version')!r}, this API reads {VERSION}"
            )
        types = {"size": int, "root": str, "body_bytes": int, "body_sha256": str}
        for key, kind in types.items():
            if type(header.get(key)) is not kind:
                raise SnapshotRejectedError(f"snapshot header: bad or missing {key!r}")
        if header["size"] <= 0:
            raise SnapshotRejectedError("snapshot header: size must be positive")
        return header

    def write(self, ledger: RootSource, size: int, body: Mapping[str, Any]) -> int:
        """Save ``body`` as the state folded from the first ``size`` entries of ``ledger``;
        returns the file's size in bytes. Replaces the previous snapshot atomically."""
        if not 0 < size <= ledger.size:
            raise SnapshotRejectedError(
                f"cannot snapshot {size} entries of a ledger of {ledger.size}"
            )
        raw = orjson.dumps(body)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "size": size,
            "root": _b64(ledger.root(size)),
            "body_bytes": len(raw),
            "body_sha256": hashlib.sha256(raw).hexdigest(),
        }
        # A name of our own: two API processes on one data directory never share a temp file.
        tmp = self.path.with_name(f".{SNAPSHOT_NAME}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as f:
                f.write(orjson.dumps(header) + b"\n")
                f.write(raw)
                f.write(b"\n")
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)
        return self.path.stat().st_size
