"""One ledger entry: its position, its leaf hash, its exact bytes and its decoded object.

The entry bytes are the RFC 8785 canonical JSON of an object whose first fields are fixed
(``v``, ``seq``, ``prev``, ``ts``, ``kind``, ``actor``) and whose other fields are the
kind's own. See ``docs/ledger-format.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FORMAT_VERSION = 1
RESERVED_KEYS = frozenset({"v", "seq", "prev", "ts", "kind", "actor"})


@dataclass(frozen=True)
class Entry:
    """An appended entry. ``raw`` is exactly what is stored and hashed; ``body`` is the whole
    decoded object (the fixed fields included)."""

    seq: int
    leaf_hash: bytes
    raw: bytes
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        """The entry kind, e.g. ``"item.checked_in"``."""
        return str(self.body["kind"])

    @property
    def actor(self) -> str:
        """Who caused the entry (a person id, or a component such as ``"lockerd"``)."""
        return str(self.body["actor"])

    @property
    def ts(self) -> str:
        """When the entry was appended: UTC, RFC 3339 with milliseconds and ``Z``."""
        return str(self.body["ts"])

    @property
    def prev(self) -> str:
        """Base64 of the previous entry's leaf hash."""
        return str(self.body["prev"])

    def fields(self) -> dict[str, Any]:
        """The kind's own fields (the body without the reserved keys)."""
        return {k: v for k, v in self.body.items() if k not in RESERVED_KEYS}
