"""A witness's data directory and its SQLite file.

::

    WDIR/witness.key   the witness's Ed25519 signer key (mode 0600):
                       PRIVATE+KEY+<name>+<hex key id>+base64(0x04 || seed)
    WDIR/witness.vkey  its verifier key, C2SP tlog-cosignature form name+keyid+base64(0x04||key)
    WDIR/witness.db    SQLite (WAL, synchronous=FULL):
        meta(key, value)                       name, format
        log_keys(origin, vkey)                 the logs this witness follows, and the
                                               signed-note keys it trusts for each
        latest(origin, size, root, note, updated_at)
                                               the latest checkpoint it cosigned per log
                                               (the note with its own cosignature)
        refused(id, origin, old_size, proof, note, status, reason, received_at)
                                               every validly signed checkpoint it refused:
                                               evidence of a fork or of a confused log

The check of a submission and the update of ``latest`` happen in ONE ``BEGIN IMMEDIATE``
transaction (:meth:`WitnessStore.transaction`), committed before the answer is sent.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from custody.errors import ConfigError, UsageError
from custody.ledger.cosign import Cosigner
from custody.ledger.note import NoteError, Verifier

FORMAT = "evidence-locker-witness/1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_keys (
    origin TEXT NOT NULL, vkey TEXT NOT NULL, added_at TEXT NOT NULL,
    PRIMARY KEY (origin, vkey)
);
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,
    note TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refused (
    id INTEGER PRIMARY KEY, origin TEXT NOT NULL, old_size INTEGER NOT NULL,
    proof TEXT NOT NULL, note TEXT NOT NULL, status INTEGER NOT NULL,
    reason TEXT NOT NULL, received_at TEXT NOT NULL
);
"""


class WitnessNotFoundError(ConfigError):
    """The directory holds no witness (run ``locker witness init``)."""


@dataclass(frozen=True)
class WitnessPaths:
    """Where each part of a witness data directory lives."""

    root: Path

    @property
    def key(self) -> Path:
        return self.root / "witness.key"

    @property
    def vkey(self) -> Path:
        return self.root / "witness.vkey"

    @property
    def db(self) -> Path:
        return self.root / "witness.db"


@dataclass(frozen=True)
class Latest:
    """The latest checkpoint a witness cosigned for one log."""

    origin: str
    size: int
    root: bytes
    note: str
    updated_at: str


@dataclass(frozen=True)
class Refused:
    """A validly signed checkpoint the witness did not cosign."""

    id: int
    origin: str
    old_size: int
    proof: str
    note: str
    status: int
    reason: str
    received_at: str


def connect(path: Path) -> sqlite3.Connection:
    """The witness database, durable on every commit (autocommit: callers run BEGIN)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def init_witness(root: Path | str, name: str) -> Cosigner:
    """Create a witness data directory with a new key; refuses an existing one."""
    paths = WitnessPaths(Path(root))
    for existing in (paths.key, paths.vkey, paths.db):
        if existing.exists():
            raise UsageError(f"{paths.root} already holds a witness ({existing.name} exists)")
    cosigner = Cosigner.generate(name)
    paths.root.mkdir(parents=True, exist_ok=True)
    # O_EXCL and 0600 from the start: the key is never readable by others, never clobbered
    fd = os.open(paths.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(cosigner.skey + "\n")
        f.flush()
        os.fsync(f.fileno())
    paths.vkey.write_text(cosigner.vkey + "\n")
    conn = connect(paths.db)
    try:
        conn.executescript(_SCHEMA)
        conn.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)", [("name", name), ("format", FORMAT)]
        )
    finally:
        conn.close()
    return cosigner


class WitnessStore:
    """Typed access to one witness's database. One thread at a time."""

    def __init__(self, root: Path | str) -> None:
        self.paths = WitnessPaths(Path(root))
        if not self.paths.db.is_file() or not self.paths.key.is_file():
            raise WitnessNotFoundError(
                f"{self.paths.root} is not a witness data directory; "
                "create one with `locker witness init --data DIR --name NAME`"
            )
        self.conn = connect(self.paths.db)
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def cosigner(self) -> Cosigner:
        return Cosigner.from_skey(self.paths.key.read_text())

    # ------------------------------------------------------------------ logs

    def add_log(self, origin: str, vkey: str, now: str) -> Verifier:
        """Trust ``vkey`` (a signed-note Ed25519 verifier key) for the log ``origin``."""
        if not origin or "\n" in origin:
            raise UsageError("a log origin is one non-empty line")
        try:
            verifier = Verifier.from_vkey(vkey)
        except NoteError as exc:
            raise UsageError(f"--key: {exc}") from None
        self.conn.execute(
            "INSERT OR IGNORE INTO log_keys (origin, vkey, added_at) VALUES (?, ?, ?)",
            (origin, verifier.vkey, now),
        )
        return verifier

    def log_keys(self, origin: str) -> list[Verifier]:
        rows = self.conn.execute(
            "SELECT vkey FROM log_keys WHERE origin = ? ORDER BY vkey", (origin,)
        ).fetchall()
        return [Verifier.from_vkey(r[0]) for r in rows]

    def origins(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT origin FROM log_keys ORDER BY 1")]

    # ------------------------------------------------------------------ state

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on an exception)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def latest(self, origin: str) -> Latest | None:
        r = self.conn.execute(
            "SELECT origin, size, root, note, updated_at FROM latest WHERE origin = ?", (origin,)
        ).fetchone()
        return None if r is None else Latest(r[0], r[1], bytes(r[2]), r[3], r[4])

    def set_latest(self, origin: str, size: int, root: bytes, note: str, now: str) -> None:
        self.conn.execute(
            "INSERT INTO latest (origin, size, root, note, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
            "note = excluded.note, updated_at = excluded.updated_at",
            (origin, size, root, note, now),
        )

    def add_refused(
        self, origin: str, old_size: int, proof: str, note: str, status: int, reason: str, now: str
    ) -> None:
        self.conn.execute(
            "INSERT INTO refused (origin, old_size, proof, note, status, reason, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (origin, old_size, proof, note, status, reason, now),
        )

    def refused(self, origin: str | None = None) -> list[Refused]:
        sql = "SELECT id, origin, old_size, proof, note, status, reason, received_at FROM refused"
        args: tuple[str, ...] = ()
        if origin is not None:
            sql += " WHERE origin = ?"
            args = (origin,)
        return [Refused(*r) for r in self.conn.execute(sql + " ORDER BY id", args)]
