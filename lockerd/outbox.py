"""The durable MQTT outbox: events go to SQLite first, then to the broker.

paho keeps its offline queue in memory, so a daemon crash or a broker outage would lose
whatever it held. Here every message is a row in ``outbox.db`` (WAL, ``synchronous=FULL``)
before anything is sent; a row is marked sent only when the broker's PUBACK for it comes
back (QoS 1). The publisher hands rows to paho strictly in row order, a bounded window at a
time; when the connection drops it throws that paho client away (with everything paho still
held in memory) and, on the next connection, resends from the oldest unacknowledged row, in
order. A subscriber may therefore see a message twice around an outage (QoS 1 is
at-least-once) but never loses one and never sees them out of order: custody payloads carry
their ``seq`` so a consumer drops repeats.

The publisher runs in its own thread (paho's network loop plus SQLite are blocking work) and
is started and stopped by the daemon; :meth:`OutboxPublisher.wake` tells it new rows wait.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from custody.errors import DiskFullError, LockerError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    dedupe TEXT UNIQUE,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS messages_pending ON messages(id) WHERE sent_at IS NULL;
CREATE TABLE IF NOT EXISTS cursors (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


class OutboxError(LockerError):
    """The outbox database cannot be opened or written."""


class OutboxFullError(OutboxError, DiskFullError):
    """The disk filled up during an enqueue: the transaction was rolled back (no message
    stored, no cursor moved), so the same enqueue can be done again once there is space."""


@dataclass(frozen=True)
class OutMessage:
    """A message to enqueue. ``dedupe``, when set, makes a second enqueue of it a no-op."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    dedupe: str | None = None


@dataclass(frozen=True)
class StoredMessage:
    """A row of the outbox."""

    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class OutboxStore:
    """The SQLite side of the outbox; safe to share between threads (one lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(
                str(path), check_same_thread=False, isolation_level=None, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {path}: {exc}") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def enqueue(self, msg: OutMessage) -> bool:
        """Store one message durably; False when its ``dedupe`` key was already there."""
        return self.enqueue_many([msg]) == 1

    def enqueue_many(
        self, msgs: Iterable[OutMessage], cursor: tuple[str, int] | None = None
    ) -> int:
        """Store messages (in this order) and optionally move a named cursor, in ONE
        transaction: a crash leaves either all of it or none. Returns how many were new."""
        added = 0
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                now = _now()
                for m in msgs:
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO messages(topic, payload, qos, retain, dedupe,"
                        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (m.topic, m.payload, m.qos, int(m.retain), m.dedupe, now),
                    )
                    added += cur.rowcount
                if cursor is not None:
                    self._db.execute(
                        "INSERT INTO cursors(name, value) VALUES (?, ?) "
                        "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                        cursor,
                    )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL:
                    raise OutboxFullError(
                        f"disk full: nothing was added to the outbox {self.path}; the "
                        "same messages can be enqueued again once there is space"
                    ) from exc
                raise OutboxError(f"cannot write outbox {self.path}: {exc}") from exc
        return added

    def cursor(self, name: str) -> int:
        """A named cursor's value (e.g. the last ledger seq enqueued); -1 when never set."""
        with self._lock:
            row = self._db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else -1

    def pending(self, after_id: int = 0, limit: int = 100) -> list[StoredMessage]:
        """Unsent rows with id > ``after_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, qos, retain FROM messages "
                "WHERE sent_at IS NULL AND id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [StoredMessage(r[0], r[1], bytes(r[2]), r[3], bool(r[4])) for r in rows]

    def mark_sent(self, ids: Sequence[int]) -> None:
        """Mark rows acknowledged by the broker."""
        if not ids:
            return
        with self._lock:
            now = _now()
            # Losing a "sent" mark in a power cut only means a resend (QoS 1 allows it), so
            # these commits skip the fsync; enqueues keep synchronous=FULL.
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "UPDATE messages SET sent_at = ? WHERE id = ?", [(now, i) for i in ids]
                )
                self._db.execute("COMMIT")
            finally:
                self._db.execute("PRAGMA synchronous=FULL")

    def reject(self, row_id: int, reason: str) -> None:
        """Take a row the broker can never accept (an invalid topic) out of the queue,
        keeping it with the reason, so it cannot block every message behind it."""
        with self._lock:
            self._db.execute(
                "UPDATE messages SET sent_at = ?, error = ? WHERE id = ?", (_now(), reason, row_id)
            )

    def counts(self) -> tuple[int, int]:
        """(pending, sent) row counts."""
        with self._lock:
            pending = self._db.execute(
                "SELECT count(*) FROM messages WHERE sent_at IS NULL"
            ).fetchone()[0]
            total = self._db.execute("SELECT count(*) FROM messages").fetchone()[0]
        return int(pending), int(total) - int(pending)

    def prune(self, keep_sent: int = 100_000) -> int:
        """Delete the oldest sent rows beyond the newest ``keep_sent``; returns how many."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM messages WHERE sent_at IS NOT NULL AND id <= "
                "(SELECT id FROM messages WHERE sent_at IS NOT NULL "
                "ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (keep_sent,),
            )
        return int(cur.rowcount)


@dataclass(frozen=True)
class BrokerSettings:
    """How to reach the broker."""

    host: str
    port: int
    client_id: str
    status_topic: str
    keepalive: int = 30
    username: str = ""
    password: str = ""
    window: int = 100


class _Lost(Exception):
    """The broker connection ended (or never came up)."""


class OutboxPublisher:
    """Sends outbox rows to the broker, in order, marking each sent on its PUBACK."""

    def __init__(self, store: OutboxStore, broker: BrokerSettings) -> None:
        self.store = store
        self.broker = broker
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._connected = threading.Event()
        self._lost = threading.Event()
        self._online = threading.Event()
        self._acks: collections.deque[int] = collections.deque()
        self._thread: threading.Thread | None = None
        self.sessions = 0  # connections made, for the logs and tests
        self._last_log = 0.0

    # ------------------------------------------------------------------ control

    def start(self) -> None:
        """Start the publisher thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="mqtt-outbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Flush what the broker will take within ``timeout``, publish the retained
        ``offline`` status, disconnect and end the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout + 2.0)
            self._thread = None

    def wake(self) -> None:
        """New rows are waiting: publish them now rather than at the next tick."""
        self._wake.set()

    @property
    def connected(self) -> bool:
        """Whether a broker session is up right now."""
        return self._connected.is_set()

    def wait_online(self, timeout: float) -> bool:
        """Block until a session is up and its retained ``online`` status acknowledged."""
        return self._online.wait(timeout)

    def wait_drained(self, timeout: float) -> bool:
        """Block until no row is pending (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.store.counts()[0] == 0:
                return True
            time.sleep(0.02)
        return self.store.counts()[0] == 0

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self._session()
                backoff = 0.1
            except (_Lost, OSError) as exc:
                now = time.monotonic()
                if now - self._last_log > 30:  # rate-limited: an outage may last hours
                    log.warning("MQTT broker %s:%s unavailable: %s", self.broker.host,
                                self.broker.port, exc or "connection lost")
                    self._last_log = now
            self._connected.clear()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.broker.client_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
        )
        client.max_inflight_messages_set(self.broker.window)
        client.max_queued_messages_set(0)
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password or None)
        client.will_set(self.broker.status_topic, b"offline", qos=1, retain=True)

        def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
            if not reason.is_failure:
                self._connected.set()
            else:
                self._lost.set()
            self._wake.set()

        def on_disconnect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
            self._connected.clear()
            self._lost.set()
            self._wake.set()

        def on_publish(c: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
            self._acks.append(mid)
            self._wake.set()

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_publish = on_publish
        return client

    def _session(self) -> None:
        """One broker connection, from CONNECT to its loss (or to stop)."""
        self._lost.clear()
        self._acks.clear()
        client = self._client()
        client.connect(self.broker.host, self.broker.port, self.broker.keepalive)
        client.loop_start()
        try:
            deadline = time.monotonic() + 10
            while not self._connected.is_set():
                if self._lost.is_set() or self._stop.is_set() or time.monotonic() > deadline:
                    raise _Lost("no CONNACK")
                self._wake.wait(0.1)
                self._wake.clear()
            online = client.publish(self.broker.status_topic, b"online", qos=1, retain=True)
            online.wait_for_publish(5.0)
            self.sessions += 1
            self._online.set()
            self._pump(client)
            if self._stop.is_set() and not self._lost.is_set():
                info = client.publish(self.broker.status_topic, b"offline", qos=1, retain=True)
                info.wait_for_publish(2.0)
                client.disconnect()
        finally:
            client.loop_stop()
            self._connected.clear()
            self._online.clear()

    def _pump(self, client: mqtt.Client) -> None:
        inflight: dict[int, int] = {}  # paho mid -> outbox row id
        last_id = 0
        stop_deadline: float | None = None
        while not self._lost.is_set():
            self._wake.clear()
            self._settle(inflight)
            if self._stop.is_set():
                # on stop: give what is in flight a moment to be acknowledged, send no more
                stop_deadline = stop_deadline or time.monotonic() + 3.0
                if not inflight or time.monotonic() > stop_deadline:
                    return
            else:
                room = self.broker.window - len(inflight)
                if room > 0:
                    for row in self.store.pending(after_id=last_id, limit=room):
                        try:
                            info = client.publish(row.topic, row.payload, qos=row.qos,
                                                  retain=row.retain)
                        except ValueError as exc:  # invalid topic or payload: never sendable
                            log.error("outbox row %d rejected: %s", row.id, exc)
                            self.store.reject(row.id, str(exc))
                            last_id = row.id
                            continue
                        if info.rc != mqtt.MQTT_ERR_SUCCESS:
                            raise _Lost(mqtt.error_string(info.rc))
                        inflight[info.mid] = row.id
                        last_id = row.id
            if self._wake.wait(0.2) and len(inflight) > self.broker.window // 2:
                time.sleep(0.002)  # busy: let a few more PUBACKs arrive, settle them together
        self._settle(inflight)  # acknowledgements that came in just before the loss
        raise _Lost("connection lost")

    def _settle(self, inflight: dict[int, int]) -> None:
        done: list[int] = []
        while self._acks:
            mid = self._acks.popleft()
            row = inflight.pop(mid, None)
            if row is not None:
                done.append(row)
        self.store.mark_sent(done)
