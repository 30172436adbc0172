"""One ledger entry: its position, its leaf hash, its exact bytes and its decoded object.

The entry bytes are the RFC 8785 canonical JSON of an object whose first fields are fixed
(``v``, ``seq``, ``prev``, ``ts``, ``kind``, ``actor``) and whose other fields are the
kind's own. See ``docs/ledger-format.md``.
"""

from __future__ import annotations

from typing import Any

from custody.ledger.canonical import loads_trusted

FORMAT_VERSION = 1
RESERVED_KEYS = frozenset({"v", "seq", "prev", "ts", "kind", "actor"})


class Entry:
    """An appended entry. ``raw`` is exactly what is stored and hashed; ``body`` is the whole
    decoded object (the fixed fields included).

    Immutable (read-only properties) and compared by value. ``body`` may be left out when
    ``raw`` is known to be valid ledger JSON (the ledger just wrote it): it is then decoded
    on first access and cached, so a batch append does not parse back every entry it
    encoded.
    """

    # Plain slots behind read-only properties: a batch append builds one Entry per item,
    # and overriding __setattr__ would make that twice as slow.
    __slots__ = ("_body", "_leaf_hash", "_raw", "_seq")

    def __init__(
        self, seq: int, leaf_hash: bytes, raw: bytes, body: dict[str, Any] | None = None
    ) -> None:
        self._seq = seq
        self._leaf_hash = leaf_hash
        self._raw = raw
        self._body = body

    @property
    def seq(self) -> int:
        """The entry's position in the log (0-based)."""
        return self._seq

    @property
    def leaf_hash(self) -> bytes:
        """RFC 6962 leaf hash of :attr:`raw`."""
        return self._leaf_hash

    @property
    def raw(self) -> bytes:
        """The exact stored (and hashed) bytes."""
        return self._raw

    @property
    def body(self) -> dict[str, Any]:
        """The whole decoded object, the fixed fields included."""
        body = self._body
        if body is None:
            body = self._body = loads_trusted(self._raw)
        return body

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entry):
            return NotImplemented
        return (
            self._seq == other._seq
            and self._leaf_hash == other._leaf_hash
            and self._raw == other._raw
            and self.body == other.body
        )

    def __hash__(self) -> int:
        return hash((self._seq, self._leaf_hash, self._raw))

    def __repr__(self) -> str:
        return f"Entry(seq={self._seq!r}, leaf_hash={self._leaf_hash!r}, raw={self._raw!r})"

    def __reduce__(self) -> tuple[type[Entry], tuple[int, bytes, bytes, dict[str, Any]]]:
        return (Entry, (self._seq, self._leaf_hash, self._raw, self.body))

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
