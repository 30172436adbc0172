"""The station's witness cosignatures, kept beside its checkpoints: ``DATA/cosignatures.db``.

Tables (see ``docs/ledger-format.md``):

- ``cosignatures(id, size, root, witness, line, timestamp, received_at)``: every
  cosignature line a witness returned for the checkpoint of ``size`` and ``root`` (the
  witness is named by its verifier key); only lines that verified are stored;
- ``witnesses(witness, url, size, attempted_at, error, alarmed_size)``: per witness,
  the largest size it is known to have cosigned (from its cosignatures or a 409 size hint;
  -1 while unknown), the last attempt and its error, and the cosigned size at which an
  "uncosigned" alarm was last raised (so one alarm per stall, not one per round).

A separate file from ``ledger.db``: the ledger stays append-only and single-writer, while
cosignatures arrive from the daemon and from ``locker log publish`` alike. It is derived
evidence, not history: losing it loses the witnesses' statements, never an entry.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosign import add_signature_lines
from custody.ledger.note import split_note

FILE_NAME = "cosignatures.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cosignatures (
    id INTEGER PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,
    witness TEXT NOT NULL, line TEXT NOT NULL, timestamp INTEGER NOT NULL,
    received_at TEXT NOT NULL, UNIQUE (witness, size, root)
);
CREATE INDEX IF NOT EXISTS cosignatures_size ON cosignatures (size);
CREATE TABLE IF NOT EXISTS witnesses (
    witness TEXT PRIMARY KEY, url TEXT NOT NULL, size INTEGER NOT NULL DEFAULT -1,
    attempted_at TEXT, error TEXT, alarmed_size INTEGER
);
"""


@dataclass(frozen=True)
class WitnessState:
    """What the station knows of one witness."""

    witness: str
    url: str
    size: int  # largest size it is known to have cosigned; -1 unknown
    attempted_at: str | None
    error: str | None
    alarmed_size: int | None


class CosignatureStore:
    """``DATA/cosignatures.db``. Safe to open from several processes (SQLite locking)."""

    def __init__(self, data_dir: Path | str, *, readonly: bool = False) -> None:
        path = Path(data_dir) / FILE_NAME
        if readonly:
            self.conn = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
        else:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(_SCHEMA)
        self.conn.execute("PRAGMA busy_timeout=10000")

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------------ cosignatures

    def add(
        self, size: int, root: bytes, witness: str, line: str, timestamp: int, now: str
    ) -> None:
        """Keep a verified cosignature line (the first one per witness and tree head)."""
        self.conn.execute(
            "INSERT OR IGNORE INTO cosignatures (size, root, witness, line, timestamp, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?)",
            (size, root, witness, line if line.endswith("\n") else line + "\n", timestamp, now),
        )

    def lines(self, size: int, root: bytes | None = None) -> list[str]:
        """Cosignature lines for the tree head ``(size, root)``; with ``root=None``, every
        line stored at that size (a verifier then finds out whether they hold)."""
        if root is None:
            rows = self.conn.execute(
                "SELECT line FROM cosignatures WHERE size = ? ORDER BY id", (size,)
            )
        else:
            rows = self.conn.execute(
                "SELECT line FROM cosignatures WHERE size = ? AND root = ? ORDER BY id",
                (size, root),
            )
        return [r[0] for r in rows]

    def has(self, witness: str, size: int, root: bytes) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM cosignatures WHERE witness = ? AND size = ? AND root = ?",
                (witness, size, root),
            ).fetchone()
            is not None
        )

    # ------------------------------------------------------------------ witnesses

    def state(self, witness: str, url: str) -> WitnessState:
        row = self.conn.execute(
            "SELECT witness, url, size, attempted_at, error, alarmed_size FROM witnesses "
            "WHERE witness = ?",
            (witness,),
        ).fetchone()
        if row is None:
            return WitnessState(witness, url, -1, None, None, None)
        return WitnessState(*row)

    def states(self) -> list[WitnessState]:
        rows = self.conn.execute(
            "SELECT witness, url, size, attempted_at, error, alarmed_size FROM witnesses "
            "ORDER BY witness"
        )
        return [WitnessState(*r) for r in rows]

    def record_attempt(
        self, witness: str, url: str, now: str, *, size: int | None, error: str | None
    ) -> None:
        """After talking to a witness: its known cosigned size (never lowered, except by
        its own 409 answer through ``size``) and the error, if any."""
        self.conn.execute(
            "INSERT INTO witnesses (witness, url, size, attempted_at, error) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (witness) DO UPDATE SET url = excluded.url, "
            "size = CASE WHEN ? IS NULL THEN witnesses.size ELSE excluded.size END, "
            "attempted_at = excluded.attempted_at, error = excluded.error",
            (witness, url, -1 if size is None else size, now, error, size),
        )

    def mark_alarmed(self, witness: str, cosigned_size: int) -> None:
        self.conn.execute(
            "UPDATE witnesses SET alarmed_size = ? WHERE witness = ?", (cosigned_size, witness)
        )


def cosigned_note(data_dir: Path | str, note: str) -> str:
    """``note`` with the stored cosignatures of its tree head appended (unchanged when the
    station has none, or no cosignatures file)."""
    if not (Path(data_dir) / FILE_NAME).is_file():
        return note
    text, _sigs = split_note(note)
    cp = Checkpoint.parse(text)
    store = CosignatureStore(data_dir, readonly=True)
    try:
        lines = store.lines(cp.size, cp.root)
    finally:
        store.close()
    return add_signature_lines(note, lines) if lines else note


def lines_at_sizes(data_dir: Path | str) -> dict[int, list[str]]:
    """Every stored cosignature line by tree size, whatever root it was for (for
    verification: a line for another root at the same size fails there, loudly)."""
    out: dict[int, list[str]] = {}
    if not (Path(data_dir) / FILE_NAME).is_file():
        return out
    store = CosignatureStore(data_dir, readonly=True)
    try:
        for size, line in store.conn.execute("SELECT size, line FROM cosignatures ORDER BY id"):
            out.setdefault(int(size), []).append(str(line))
    finally:
        store.close()
    return out


def cosignature_lines(data_dir: Path | str) -> dict[tuple[int, bytes], list[str]]:
    """Every stored cosignature line by the tree head ``(size, root)`` it was made for."""
    out: dict[tuple[int, bytes], list[str]] = {}
    if not (Path(data_dir) / FILE_NAME).is_file():
        return out
    store = CosignatureStore(data_dir, readonly=True)
    try:
        for size, root, line in store.conn.execute(
            "SELECT size, root, line FROM cosignatures ORDER BY id"
        ):
            out.setdefault((int(size), bytes(root)), []).append(str(line))
    finally:
        store.close()
    return out
