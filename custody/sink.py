"""What the custody services need from the ledger: :class:`EntrySink`.

The real :class:`custody.ledger.Ledger` satisfies it; :class:`MemorySink` is an in-memory
stand-in that writes entries in the same format (``v, seq, prev, ts, kind, actor`` plus the
kind's own fields at the top level; no floats; integers below 2**53), used by fast unit
tests and tools that need no disk.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from custody.errors import LockerError
from custody.ports import Clock, SystemClock

ENVELOPE = ("v", "seq", "prev", "ts", "kind", "actor")


class EntryLike(Protocol):
    """One appended entry: its position and the whole decoded object."""

    @property
    def seq(self) -> int: ...

    @property
    def body(self) -> Mapping[str, Any]: ...


class EntrySink(Protocol):
    """Append-only entry log: the part of the ledger the custody services use."""

    def append(self, kind: str, body: Mapping[str, Any], *, actor: str) -> EntryLike:
        """Append one entry and return it (with its ``seq`` and decoded ``body``)."""
        ...

    def entries(self, start: int = 0) -> Iterator[Any]:
        """Every entry from ``start`` on, in order (each has ``seq`` and ``body``)."""
        ...

    @property
    def size(self) -> int:
        """How many entries the log holds."""
        ...


class EntryFormatError(LockerError):
    """An entry body has a float, a too-large integer, or a field of the envelope."""


@dataclass(frozen=True)
class MemoryEntry:
    """An entry held by :class:`MemorySink`."""

    seq: int
    raw: bytes
    leaf_hash: bytes
    body: Mapping[str, Any]


def _check_value(value: object, where: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) >= 2**53:
            raise EntryFormatError(f"{where}: integer {value} is not below 2**53")
        return
    if isinstance(value, float):
        raise EntryFormatError(f"{where}: floats are not allowed in entries")
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_value(v, f"{where}[{i}]")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise EntryFormatError(f"{where}: key {k!r} is not a string")
            _check_value(v, f"{where}.{k}")
        return
    raise EntryFormatError(f"{where}: {type(value).__name__} is not a JSON value")


class MemorySink:
    """An in-memory :class:`EntrySink` that encodes entries like the real ledger does."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._entries: list[MemoryEntry] = []

    @property
    def size(self) -> int:
        return len(self._entries)

    def append(self, kind: str, body: Mapping[str, Any], *, actor: str) -> MemoryEntry:
        for name in ENVELOPE:
            if name in body:
                raise EntryFormatError(f"entry body must not set the envelope field {name!r}")
        _check_value(dict(body), kind)
        prev = self._entries[-1].leaf_hash if self._entries else bytes(32)
        now = self._clock.now()
        ts = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        obj = {
            **body,
            "v": 1,
            "seq": len(self._entries),
            "prev": base64.b64encode(prev).decode(),
            "ts": ts,
            "kind": kind,
            "actor": actor,
        }
        raw = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        entry = MemoryEntry(
            seq=len(self._entries),
            raw=raw,
            leaf_hash=hashlib.sha256(b"\x00" + raw).digest(),
            body=json.loads(raw),
        )
        self._entries.append(entry)
        return entry

    def entries(self, start: int = 0) -> Iterator[MemoryEntry]:
        return iter(self._entries[start:])
