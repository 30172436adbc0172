"""The ledger's SQLite file: entries, perfect Merkle nodes and signed checkpoints.

Tables (see ``docs/ledger-format.md``):

- ``entries(seq, raw, leaf)``: the exact entry bytes and their RFC 6962 leaf hash;
- ``nodes(id, level, idx, hash)``: every *perfect* subtree of ``2**level`` leaves of level
  >= :data:`STORED_MIN_LEVEL` (4) completed so far: one row per 16 entries appended, and a
  proof reads O(log n) of them. The few lower levels a proof needs are hashed up from the
  ``leaf`` column (at most 16 leaves, one range query) instead of being stored: writing a
  row per entry cost a third of a batched append. Files of schema version 1 also hold rows
  of levels 1-3; they are left alone and never read.
- ``checkpoints(id, size, root, note, signed_at)``: every signed checkpoint, never deleted;
- ``meta(key, value)``: the log's origin and format version.

Append-only is enforced by the database itself: triggers abort every UPDATE and DELETE on
all four tables. The file is in WAL mode with ``synchronous=FULL`` by default, so a
committed append survives a crash or power cut and a half-written one is rolled back.
Only one process writes: :class:`WriterLock` holds an exclusive ``flock`` on a lock file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from custody.errors import DiskFullError, LockerError, PathError
from custody.ledger.errors import (
    LedgerCorruptError,
    LedgerDamagedError,
    LedgerError,
    LedgerLockedError,
    NoSuchEntryError,
)

SCHEMA_VERSION = 2
# Perfect nodes of this level and above are stored; lower ones are derived from the leaves.
STORED_MIN_LEVEL = 4
_BLOCK = 1 << STORED_MIN_LEVEL
TABLES = ("meta", "entries", "nodes", "checkpoints")
SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

# Nodes are keyed by the order they are completed in (``node_id``), so every append writes
# at the end of one B-tree instead of at one place per level: a commit dirties one page.
_NODES_SQL = """
CREATE TABLE nodes (
    id INTEGER PRIMARY KEY,
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL
)
"""


def node_id(level: int, index: int) -> int:
    """The row id of perfect node (level, index): the seq of the leaf that completed it,
    times 64, plus the level (a tree of 2**63 leaves has fewer than 64 levels)."""
    return ((((index + 1) << level) - 1) << 6) | level


def _trigger_sql(table: str) -> str:
    return "".join(
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} BEGIN "
        f"SELECT RAISE(ABORT, 'ledger is append-only: {table} rows cannot be "
        f"{'changed' if op == 'UPDATE' else 'deleted'}'); END;\n"
        for op in ("UPDATE", "DELETE")
    )


@dataclass(frozen=True)
class StoredCheckpoint:
    """One row of the checkpoints table."""

    id: int
    size: int
    root: bytes
    note: str
    signed_at: str


class WriterLock:
    """An exclusive, non-blocking ``flock`` on a file: the ledger's single-writer guard.

    The kernel drops the lock when the process dies, so a crash never leaves a stale lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LedgerLockedError(
                f"another process is writing this ledger (lock {self.path} is held)"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def connect(path: Path, *, readonly: bool = False, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open the ledger file with the ledger's pragmas (autocommit: callers run ``BEGIN``)."""
    if synchronous.upper() not in SYNCHRONOUS_MODES:
        raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def create_schema(path: Path, origin: str) -> None:
    """Create a new, empty ledger file at ``path`` (which must not exist)."""
    conn = connect(path)
    try:
        # imported here: sqlite_utils imports numpy (and its BLAS threads) when it is
        # installed, which readers and the verifier's workers have no use for
        import sqlite_utils

        db = sqlite_utils.Database(conn)
        conn.execute("BEGIN IMMEDIATE")
        db.table("meta").create({"key": str, "value": str}, pk="key", not_null={"value"})
        db.table("entries").create(
            {"seq": int, "raw": bytes, "leaf": bytes}, pk="seq", not_null={"raw", "leaf"}
        )
        conn.execute(_NODES_SQL)
        db.table("checkpoints").create(
            {"id": int, "size": int, "root": bytes, "note": str, "signed_at": str},
            pk="id",
            not_null={"size", "root", "note", "signed_at"},
        )
        for table in TABLES:
            for stmt in _trigger_sql(table).strip().split("\n"):
                conn.execute(stmt)
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [
                ("origin", origin),
                ("format", "evidence-locker-ledger"),
                ("schema_version", str(SCHEMA_VERSION)),
            ],
        )
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
    finally:
        conn.close()


def damaged(path: Path, detail: str) -> LedgerDamagedError:
    """The error for a ledger file that fails a check, saying what to do about it."""
    return LedgerDamagedError(
        f"the ledger file {path} is damaged ({detail}); nothing will be written to it. "
        f"Run 'locker audit verify --data {path.parent}' to see what is intact, and restore "
        "the station from its off-site copy (the restore drill, docs/offsite.md)"
    )


def storage_error(exc: sqlite3.Error, path: Path, doing: str) -> LockerError:
    """The project's error for an SQLite failure on the ledger file ``path``: a damaged
    file (:class:`LedgerDamagedError`), a full disk (:class:`DiskFullError`), or the file
    cannot be opened (:class:`PathError`); anything else as :class:`LedgerError`."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return damaged(path, str(exc))
    if code == sqlite3.SQLITE_FULL:
        return DiskFullError(
            f"disk full while {doing} {path}: nothing was written; free some space and "
            "try again"
        )
    if code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM):
        return PathError(f"cannot use the ledger file {path} ({exc})")
    return LedgerError(f"SQLite failed while {doing} {path}: {exc}")


def check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """Raise :class:`LedgerDamagedError` unless the file passes ``PRAGMA quick_check`` and
    the store's own checks: the four tables and their append-only triggers, the format
    name and origin in ``meta``, and rows numbered 0..n-1 without a gap. (Whether the
    entries hash and chain correctly is ``locker audit verify``'s job, not a start-up's.)"""
    try:
        problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:
            raise damaged(path, "SQLite quick_check: " + " ".join("; ".join(problems).split()))
        names = {
            (str(kind), str(name))
            for kind, name in conn.execute("SELECT type, name FROM sqlite_master")
        }
        for table in TABLES:
            if ("table", table) not in names:
                raise damaged(path, f"the {table} table is missing")
            for op in ("update", "delete"):
                if ("trigger", f"{table}_no_{op}") not in names:
                    raise damaged(path, f"the append-only trigger {table}_no_{op} is missing")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != "evidence-locker-ledger" or not meta.get("origin"):
            raise damaged(path, "its meta table names no evidence-locker ledger and origin")
        low, high, count = conn.execute(
            "SELECT min(seq), max(seq), count(*) FROM entries"
        ).fetchone()
        if count and (low != 0 or high != count - 1):
            raise damaged(path, f"{count} entries numbered {low}..{high}, not 0..{count - 1}")
    except sqlite3.Error as exc:  # "file is not a database", "malformed", ...
        raise storage_error(exc, path, "checking") from None


class LedgerStore:
    """Typed access to one ledger file. Not thread-safe by itself: :class:`Ledger` locks."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        # The last complete 16-leaf block read (first seq, leaf hashes): rows are never
        # changed once written, and a proof asks for several nodes of the same block.
        self._block: tuple[int, list[bytes | None]] = (-_BLOCK, [])

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------------ reads

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def size(self) -> int:
        """Number of entries (one past the highest seq)."""
        row = self.conn.execute("SELECT max(seq) FROM entries").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM entries").fetchone()[0])

    def row(self, seq: int) -> tuple[bytes, bytes]:
        """``(raw, leaf)`` of one entry."""
        row = self.conn.execute("SELECT raw, leaf FROM entries WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise NoSuchEntryError(f"no entry {seq}")
        return bytes(row[0]), bytes(row[1])

    def get_node(self, level: int, index: int) -> bytes:
        """The hash of the perfect subtree of ``2**level`` leaves starting at
        ``index * 2**level`` (level 0: a leaf hash). Levels below :data:`STORED_MIN_LEVEL`
        are hashed up from the stored leaf hashes."""
        if level >= STORED_MIN_LEVEL:
            row = self.conn.execute(
                "SELECT hash FROM nodes WHERE id = ?", (node_id(level, index),)
            ).fetchone()
            if row is None:
                raise LedgerCorruptError(f"tree node (level {level}, index {index}) is missing")
            return bytes(row[0])
        start = index << level
        base, leaves = self._block
        if not base <= start < base + _BLOCK:
            base = start - start % _BLOCK
            leaves = self._read_block(base)
        width = 1 << level
        chunk = leaves[start - base : start - base + width]
        if len(chunk) != width or None in chunk:
            raise LedgerCorruptError(f"tree node (level {level}, index {index}) is missing")
        hashes = cast(list[bytes], chunk)
        sha256 = hashlib.sha256
        while len(hashes) > 1:
            hashes = [
                sha256(b"\x01" + hashes[i] + hashes[i + 1]).digest()
                for i in range(0, len(hashes), 2)
            ]
        return hashes[0]

    def _read_block(self, base: int) -> list[bytes | None]:
        """The leaf hashes of ``[base, base + 16)`` as far as stored, ``None`` for a gap
        (cached when all 16 are there: stored rows never change)."""
        leaves: list[bytes | None] = []
        for seq, leaf in self.conn.execute(
            "SELECT seq, leaf FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq",
            (base, base + _BLOCK),
        ):
            leaves.extend([None] * (seq - base - len(leaves)))
            leaves.append(bytes(leaf))
        if len(leaves) == _BLOCK and None not in leaves:
            self._block = (base, leaves)
        return leaves

    def iter_rows(
        self, start: int = 0, stop: int | None = None, batch: int = 4096
    ) -> Iterator[tuple[int, bytes, bytes]]:
        """``(seq, raw, leaf)`` in seq order, read in batches."""
        end = (1 << 62) if stop is None else stop
        cur = self.conn.execute(
            "SELECT seq, raw, leaf FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq",
            (start, end),
        )
        while rows := cur.fetchmany(batch):
            yield from rows

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self.conn.execute(
            "SELECT id, size, root, note, signed_at FROM checkpoints ORDER BY id"
        ).fetchall()
        return [StoredCheckpoint(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in rows]

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        r = self.conn.execute(
            "SELECT id, size, root, note, signed_at FROM checkpoints ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if r is None else StoredCheckpoint(r[0], r[1], bytes(r[2]), r[3], r[4])

    # ------------------------------------------------------------------ writes

    def append(
        self,
        first_seq: int,
        raws: Sequence[bytes],
        leaves: Sequence[bytes],
        nodes: Sequence[tuple[int, int, bytes]],
        checkpoint: tuple[int, bytes, str, str] | None = None,
    ) -> None:
        """Write entries (``raws[i]`` with leaf hash ``leaves[i]`` at seq ``first_seq + i``),
        nodes ``(level, idx, hash)`` and optionally a checkpoint ``(size, root, note,
        signed_at)`` in ONE transaction. Nodes below :data:`STORED_MIN_LEVEL` are not
        written (callers need not produce them)."""
        if len(raws) != len(leaves):
            raise ValueError(f"{len(raws)} entries but {len(leaves)} leaf hashes")
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            # BLOBs are bound as bytearray: sqlite3 binds those directly, while each bytes
            # parameter first goes through the adapter lookup (about 1 us each on CPython
            # 3.11, a third of a batched insert's own cost). The stored values are the same.
            # The rows are zipped from the columns at C speed, without a Python loop.
            conn.executemany(
                "INSERT INTO entries (seq, raw, leaf) VALUES (?, ?, ?)",
                zip(
                    range(first_seq, first_seq + len(raws)),
                    map(bytearray, raws),
                    map(bytearray, leaves),
                    strict=True,
                ),
            )
            if nodes:
                conn.executemany(
                    "INSERT INTO nodes (id, level, idx, hash) VALUES (?, ?, ?, ?)",
                    [
                        (node_id(lv, ix), lv, ix, bytearray(h))
                        for lv, ix, h in nodes
                        if lv >= STORED_MIN_LEVEL
                    ],
                )
            if checkpoint is not None:
                conn.execute(
                    "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)",
                    checkpoint,
                )
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may already have rolled back on its own (a full disk does): a second
            # ROLLBACK would fail and hide the error that matters.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def add_checkpoint(self, size: int, root: bytes, note: str, signed_at: str) -> None:
        self.append(0, (), (), (), (size, root, note, signed_at))
