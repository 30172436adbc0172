"""The durable SMS queue (``DATA/sms.db``): notices wait here, committed before any sending.

The outbox's way (:mod:`lockerd.outbox`): SQLite in WAL mode with ``synchronous=FULL``, one
lock, every change one transaction. A row per notice key (so a notice is queued once), fed
from the ledger's ``notice.sent`` entries with the feed's cursor moved in the same
transaction (a crash neither skips a notice nor queues it twice). States::

    queued -> sending -> sent -> delivered | failed | unconfirmed
       ^         |
       +---------+  (a transient failure, until the attempts run out)

``sending`` is committed *before* the PDU goes to the modem: a row found in that state
after a crash may or may not have gone out, so it is never sent again (it becomes
``unconfirmed``). The ledger entries each change calls for are queued in ``entries`` in the
same transaction and written to the ledger in order by the service, so a crash between
the two only repeats an entry the custody core recognises and skips.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.errors import LockerError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sms (
    key TEXT PRIMARY KEY,
    notice_seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    person TEXT NOT NULL,
    number TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    params TEXT NOT NULL,
    urgent INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    channel TEXT NOT NULL DEFAULT '',
    refs TEXT NOT NULL DEFAULT '[]',
    reports TEXT NOT NULL DEFAULT '{}',
    reason TEXT NOT NULL DEFAULT '',
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS sms_due ON sms(state, next_at);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

QUEUED, SENDING, SENT = "queued", "sending", "sent"
DELIVERED, FAILED, UNCONFIRMED = "delivered", "failed", "unconfirmed"
FEED_CURSOR = "ledger"


class QueueError(LockerError):
    """The SMS queue database cannot be opened or written."""


@dataclass(frozen=True)
class NewSms:
    """A notice to queue."""

    key: str
    notice_seq: int
    role: str
    person: str
    number: str  # E.164, or "" when the person has none
    kind: str
    text: str
    params: Mapping[str, str]
    urgent: bool
    not_before: float  # unix time (after quiet hours for a notice that can wait)


@dataclass(frozen=True)
class SmsRow:
    """A queued notice."""

    key: str
    role: str
    person: str
    number: str
    kind: str
    text: str
    params: dict[str, str]
    urgent: bool
    state: str
    attempts: int
    next_at: float
    channel: str
    refs: list[str]
    reports: dict[str, str]
    sent_at: float | None


@dataclass(frozen=True)
class PendingEntry:
    """A ledger entry still to write."""

    id: int
    kind: str
    body: dict[str, Any]


_COLUMNS = ("key, role, person, number, kind, text, params, urgent, state, attempts, next_at,"
            " channel, refs, reports, sent_at")


def _row(r: Sequence[Any]) -> SmsRow:
    return SmsRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), bool(r[7]), r[8],
                  r[9], r[10], r[11], json.loads(r[12]), json.loads(r[13]), r[14])


Entry = tuple[str, Mapping[str, Any]]


class SmsQueue:
    """The SQLite side; safe to share between threads (one lock)."""

    def __init__(self, path: Path, *, start_cursor: int = -1) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(str(path), check_same_thread=False,
                                       isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            # a new queue starts at the ledger's end: older notices are not sent now
            self._db.execute("INSERT OR IGNORE INTO cursors(name, value) VALUES (?, ?)",
                             (FEED_CURSOR, start_cursor))
        except sqlite3.Error as exc:
            raise QueueError(f"cannot open SMS queue {path}: {exc}") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self, statements: Iterable[tuple[str, Sequence[Any]]],
            entries: Iterable[Entry] = ()) -> int:
        changed = 0
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for sql, args in statements:
                    changed += self._db.execute(sql, args).rowcount
                for kind, body in entries:
                    self._db.execute(
                        "INSERT INTO entries(kind, body) VALUES (?, ?)",
                        (kind, json.dumps(dict(body), ensure_ascii=False, sort_keys=True)),
                    )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise QueueError(f"cannot write SMS queue {self.path}: {exc}") from exc
        return changed

    # ------------------------------------------------------------------ feeding

    def cursor(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM cursors WHERE name = ?",
                                   (FEED_CURSOR,)).fetchone()
        return int(row[0]) if row else -1

    def enqueue(self, items: Sequence[NewSms], cursor: int,
                entries: Iterable[Entry] = ()) -> int:
        """Queue notices and move the feed cursor, in one transaction; how many were new."""
        stmts: list[tuple[str, Sequence[Any]]] = [
            ("INSERT OR IGNORE INTO sms(key, notice_seq, role, person, number, kind, text,"
             " params, urgent, state, next_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
             (n.key, n.notice_seq, n.role, n.person, n.number, n.kind, n.text,
              json.dumps(dict(n.params), ensure_ascii=False), int(n.urgent), QUEUED,
              n.not_before))
            for n in items
        ]
        stmts.append(("UPDATE cursors SET value = ? WHERE name = ?", (cursor, FEED_CURSOR)))
        return self._tx(stmts, entries) - 1

    # ------------------------------------------------------------------ sending

    def due(self, now: float) -> SmsRow | None:
        """The next queued row due at ``now``: urgent ones first, then oldest."""
        with self._lock:
            r = self._db.execute(
                f"SELECT {_COLUMNS} FROM sms WHERE state = ? AND next_at <= ? "
                "ORDER BY urgent DESC, next_at, notice_seq LIMIT 1",
                (QUEUED, now),
            ).fetchone()
        return None if r is None else _row(r)

    def next_due_at(self) -> float | None:
        with self._lock:
            r = self._db.execute("SELECT min(next_at) FROM sms WHERE state = ?",
                                 (QUEUED,)).fetchone()
        return None if r is None or r[0] is None else float(r[0])

    def get(self, key: str) -> SmsRow | None:
        with self._lock:
            r = self._db.execute(f"SELECT {_COLUMNS} FROM sms WHERE key = ?", (key,)).fetchone()
        return None if r is None else _row(r)

    def rows(self, state: str | None = None) -> list[SmsRow]:
        with self._lock:
            if state is None:
                rs = self._db.execute(f"SELECT {_COLUMNS} FROM sms ORDER BY notice_seq")
            else:
                rs = self._db.execute(
                    f"SELECT {_COLUMNS} FROM sms WHERE state = ? ORDER BY notice_seq", (state,)
                )
            return [_row(r) for r in rs.fetchall()]

    def mark_sending(self, key: str, channel: str) -> int:
        """Committed before the text goes out; returns the attempt number."""
        self._tx([("UPDATE sms SET state = ?, attempts = attempts + 1, channel = ? "
                   "WHERE key = ?", (SENDING, channel, key))])
        row = self.get(key)
        assert row is not None
        return row.attempts

    def mark_sent(self, key: str, refs: Sequence[str], at: float, report_expected: bool,
                  entries: Iterable[Entry]) -> None:
        state = SENT if report_expected else UNCONFIRMED
        self._tx([("UPDATE sms SET state = ?, refs = ?, sent_at = ?, reports = '{}' "
                   "WHERE key = ?", (state, json.dumps(list(refs)), at, key))], entries)

    def retry(self, key: str, at: float, reason: str, entries: Iterable[Entry]) -> None:
        self._tx([("UPDATE sms SET state = ?, next_at = ?, reason = ? WHERE key = ?",
                   (QUEUED, at, reason, key))], entries)

    def finish(self, key: str, state: str, reason: str, entries: Iterable[Entry]) -> None:
        """A final state (delivered, failed, unconfirmed) with its entries."""
        self._tx([("UPDATE sms SET state = ?, reason = ? WHERE key = ?", (state, reason, key))],
                 entries)

    def set_reports(self, key: str, reports: Mapping[str, str]) -> None:
        self._tx([("UPDATE sms SET reports = ? WHERE key = ?", (json.dumps(dict(reports)), key))])

    def find_sent(self, channel: str, ref: str, number: str | None = None) -> SmsRow | None:
        """The newest row sent on ``channel`` waiting for a report on ``ref``."""
        with self._lock:
            rs = self._db.execute(
                f"SELECT {_COLUMNS} FROM sms WHERE state = ? AND channel = ? AND refs LIKE ?"
                " ORDER BY sent_at DESC",
                (SENT, channel, f'%"{ref}"%'),
            ).fetchall()
        for row in map(_row, rs):
            if ref in row.refs and ref not in row.reports and (
                number is None or number == row.number
            ):
                return row
        return None

    def sent_before(self, moment: float) -> list[SmsRow]:
        """Rows still waiting for a report that were sent before ``moment``."""
        with self._lock:
            rs = self._db.execute(
                f"SELECT {_COLUMNS} FROM sms WHERE state = ? AND sent_at < ? ORDER BY sent_at",
                (SENT, moment),
            ).fetchall()
        return [_row(r) for r in rs]

    # ------------------------------------------------------------------ ledger entries

    def pending_entries(self, limit: int = 100) -> list[PendingEntry]:
        with self._lock:
            rs = self._db.execute(
                "SELECT id, kind, body FROM entries WHERE done = 0 ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        return [PendingEntry(r[0], r[1], json.loads(r[2])) for r in rs]

    def entry_done(self, entry_id: int) -> None:
        self._tx([("UPDATE entries SET done = 1 WHERE id = ?", (entry_id,))])

    def counts(self) -> dict[str, int]:
        with self._lock:
            rs = self._db.execute("SELECT state, count(*) FROM sms GROUP BY state").fetchall()
        return {str(s): int(c) for s, c in rs}
