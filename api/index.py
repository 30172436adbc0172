"""A derived index from item labels, case ids and photo hashes to ledger sequence numbers.

An item's chain of custody is every entry that names the item; at a million entries the API
cannot scan the ledger per request, so it keeps this index in ``DATA/api-index.db``. It is
**derived state only**: built from the ledger's entries, caught up as new entries arrive,
and thrown away and rebuilt when it does not match the ledger (a different ledger, or one
shorter than what was indexed). Deleting the file is always safe. The ledger stays the truth.

The index records, per entry, the labels, cases and photos the entry names, found by
:func:`references` in the entry's fields: an alarm's ``items`` list names each of its items
(and so does the comma-joined ``item`` of alarms written before that list existed).
"""

from __future__ import annotations

import base64
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from api.errors import ApiError

INDEX_NAME = "api-index.db"


class IndexOrderError(ApiError):
    """Entries were handed to the index out of order (a bug in the caller, never data)."""

_VERSION = "2"  # 2: comma-joined "item" values split into their labels

# Field names under which entries name an item, a case, or list several items. Kept broad
# on purpose: an entry naming a thing under any of them belongs to its history.
ITEM_KEYS = frozenset({"item", "label", "item_label"})
ITEM_LIST_KEYS = frozenset({"items", "labels", "scanned", "missing", "extra", "manifest"})
CASE_KEYS = frozenset({"case", "case_id"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS item_seq (
    label TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (label, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS case_seq (
    case_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (case_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS photo_seq (
    sha256 TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (sha256, seq)) WITHOUT ROWID;
"""


class IndexedEntry(Protocol):
    """What the index needs of a ledger entry."""

    @property
    def seq(self) -> int: ...

    @property
    def leaf_hash(self) -> bytes: ...

    @property
    def body(self) -> Mapping[str, Any]: ...


@dataclass
class References:
    """The items, cases and photos one entry names."""

    items: set[str] = field(default_factory=set)
    cases: set[str] = field(default_factory=set)
    photos: set[str] = field(default_factory=set)


def _walk(value: Any, refs: References, key: str | None) -> None:
    # Decoded entries are plain dicts and lists (exact type checks: the Mapping ABC is slow).
    if type(value) is dict:
        sha = value.get("sha256")
        if isinstance(sha, str) and _HEX64.match(sha) and "bytes" in value:
            refs.photos.add(sha)
        # An object inside an item list that carries its label names that item.
        if key in ITEM_LIST_KEYS:
            for k in ("label", "item"):
                if isinstance(value.get(k), str):
                    refs.items.add(value[k])
        for k, v in value.items():
            _walk(v, refs, k)
    elif type(value) is list:
        for v in value:
            _walk(v, refs, key)
    elif isinstance(value, str) and key is not None:
        if key in ITEM_LIST_KEYS:
            refs.items.add(value)
        elif key in ITEM_KEYS:
            # alarms written before their body had one definition joined several labels
            # with commas in "item" (a label never holds one): each is an item of its own
            refs.items.update(x for x in value.split(",") if x)
        elif key in CASE_KEYS:
            refs.cases.add(value)


def references(body: Mapping[str, Any]) -> References:
    """The item labels, case ids and photo hashes named anywhere in an entry's fields."""
    refs = References()
    _walk(body, refs, None)
    return refs


class LedgerSource(Protocol):
    """What the index reads from the ledger."""

    @property
    def size(self) -> int: ...

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[Any]: ...

    def entry(self, seq: int) -> Any: ...


class ItemIndex:
    """The derived index; use it from one thread only (the API's ledger thread)."""

    BATCH = 20_000

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / INDEX_NAME
        self._conn = sqlite3.connect(self.path, isolation_level=None)
        # Derived data: losing the tail in a crash only means re-reading it from the ledger.
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._size = int(self._meta("size") or 0)
        self._last = self._meta("last_leaf") or ""

    def close(self) -> None:
        """Close the index database."""
        self._conn.close()

    @property
    def size(self) -> int:
        """How many ledger entries are indexed."""
        return self._size

    def _meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _reset(self) -> None:
        self._conn.execute("BEGIN")
        for table in ("item_seq", "case_seq", "photo_seq", "meta"):
            self._conn.execute(f"DELETE FROM {table}")
        self._conn.execute("INSERT INTO meta VALUES ('version', ?)", (_VERSION,))
        self._conn.execute("COMMIT")
        self._size, self._last = 0, ""

    def _matches(self, ledger: LedgerSource) -> bool:
        """Whether what was indexed is a prefix of this ledger (same last leaf hash)."""
        if self._size == 0:
            return True
        if self._meta("version") != _VERSION or ledger.size < self._size:
            return False
        leaf = ledger.entry(self._size - 1).leaf_hash
        return base64.b64encode(leaf).decode() == self._last

    def check(self, ledger: LedgerSource) -> None:
        """Throw the index away if it is not a prefix of ``ledger`` (then rebuild it)."""
        if not self._matches(ledger):
            self._reset()

    def catch_up(self, ledger: LedgerSource) -> int:
        """Index the entries the ledger gained since last time; returns how many."""
        self.check(ledger)
        target = ledger.size
        done = 0
        while self._size < target:
            stop = min(target, self._size + self.BATCH)
            self.add(ledger.entries(self._size, stop))
            done += stop - self._size
        return done

    def add(self, entries: Iterable[IndexedEntry]) -> None:
        """Index the next entries (they must follow on from :attr:`size`), in one transaction."""
        items: list[tuple[str, int]] = []
        cases: list[tuple[str, int]] = []
        photos: list[tuple[str, int]] = []
        last: IndexedEntry | None = None
        for e in entries:
            if e.seq != (last.seq + 1 if last else self._size):
                raise IndexOrderError(f"index: entry {e.seq} does not follow {self._size}")
            refs = references(e.body)
            items.extend((x, e.seq) for x in refs.items)
            cases.extend((x, e.seq) for x in refs.cases)
            photos.extend((x, e.seq) for x in refs.photos)
            last = e
        if last is None:
            return
        c = self._conn
        c.execute("BEGIN")
        c.executemany("INSERT OR IGNORE INTO item_seq VALUES (?, ?)", items)
        c.executemany("INSERT OR IGNORE INTO case_seq VALUES (?, ?)", cases)
        c.executemany("INSERT OR IGNORE INTO photo_seq VALUES (?, ?)", photos)
        size, leaf = last.seq + 1, base64.b64encode(last.leaf_hash).decode()
        c.execute("INSERT OR REPLACE INTO meta VALUES ('size', ?)", (str(size),))
        c.execute("INSERT OR REPLACE INTO meta VALUES ('last_leaf', ?)", (leaf,))
        c.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (_VERSION,))
        c.execute("COMMIT")
        self._size, self._last = size, leaf

    def _seqs(self, table: str, column: str, key: str, offset: int, limit: int) -> list[int]:
        rows = self._conn.execute(
            f"SELECT seq FROM {table} WHERE {column} = ? ORDER BY seq LIMIT ? OFFSET ?",
            (key, limit, offset),
        ).fetchall()
        return [int(r[0]) for r in rows]

    def _count(self, table: str, column: str, key: str) -> int:
        row = self._conn.execute(
            f"SELECT count(*) FROM {table} WHERE {column} = ?", (key,)
        ).fetchone()
        return int(row[0])

    def item_seqs(self, label: str, offset: int = 0, limit: int = -1) -> list[int]:
        """Sequence numbers of the entries naming an item, in ledger order."""
        return self._seqs("item_seq", "label", label, offset, limit)

    def item_count(self, label: str) -> int:
        """How many entries name an item."""
        return self._count("item_seq", "label", label)

    def case_seqs(self, case_id: str, offset: int = 0, limit: int = -1) -> list[int]:
        """Sequence numbers of the entries naming a case directly, in ledger order."""
        return self._seqs("case_seq", "case_id", case_id, offset, limit)

    def photo_seqs(self, sha256: str) -> list[int]:
        """Sequence numbers of the entries that reference a photo."""
        return self._seqs("photo_seq", "sha256", sha256, 0, -1)
