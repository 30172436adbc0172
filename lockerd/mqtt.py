"""The station's MQTT topics and payloads (DESIGN.md §3.5, docs/mqtt.md).

Everything here only *enqueues* into the durable outbox (:mod:`lockerd.outbox`); the
publisher thread does the sending. Topics, under ``<prefix>/<station>/``:

- ``status``: ``online`` / ``offline``, retained; ``offline`` is also the last will.
- ``cabinet/<cab>/compartment/<n>``: the compartment's state, retained.
- ``custody``: every ledger entry, in ``seq`` order, with its leaf hash (QoS 1).
- ``alarm``: alarm entries (a forced door, an unexplained removal, a door left open, ...).
- ``notify/<role>/<person>``: notices for people (what an SMS gateway consumes).
- ``checkpoint``: the latest signed checkpoint note, retained.

Custody messages are fed from the ledger itself by :func:`feed_ledger`, with the last seq
enqueued kept in the outbox's own transaction: after a crash the feed resumes exactly where
it stopped, so no entry is skipped or enqueued twice.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from custody.ports import Notice
from lockerd.outbox import OutboxStore, OutMessage

LEDGER_CURSOR = "ledger"


class EntryLike(Protocol):
    """What the feed needs of a ledger entry."""

    @property
    def seq(self) -> int: ...

    @property
    def leaf_hash(self) -> bytes: ...

    @property
    def raw(self) -> bytes: ...


class LedgerLike(Protocol):
    """What the feed needs of the ledger."""

    def entries(self, start: int = 0) -> Iterator[Any]: ...


@dataclass(frozen=True)
class Topics:
    """Topic names for one station."""

    station: str
    prefix: str = "locker"

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.station}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def custody(self) -> str:
        return f"{self.base}/custody"

    @property
    def alarm(self) -> str:
        return f"{self.base}/alarm"

    @property
    def checkpoint(self) -> str:
        return f"{self.base}/checkpoint"

    def compartment(self, cabinet: str, index: int) -> str:
        return f"{self.base}/cabinet/{topic_segment(cabinet)}/compartment/{index}"

    def notify(self, role: str, person: str) -> str:
        return f"{self.base}/notify/{topic_segment(role)}/{topic_segment(person)}"


def topic_segment(text: str) -> str:
    """One topic level from free text: MQTT wildcards (``+``, ``#``), the level separator
    and NUL are not allowed in a published topic, so they become ``_``."""
    cleaned = re.sub(r"[+#/\x00]", "_", text).strip()
    return cleaned or "_"


def _json(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def is_alarm_kind(kind: str) -> bool:
    """Whether a ledger entry kind is an alarm (published on ``alarm`` too)."""
    return kind.startswith("alarm")


def custody_messages(topics: Topics, entry: EntryLike) -> list[OutMessage]:
    """The messages one ledger entry produces: ``custody`` always, ``alarm`` for alarms."""
    body = json.loads(entry.raw)
    payload = {
        "seq": entry.seq,
        "leaf_hash": base64.b64encode(entry.leaf_hash).decode(),
        "kind": body.get("kind", ""),
        "ts": body.get("ts", ""),
        "entry": body,
        "raw": base64.b64encode(entry.raw).decode(),
    }
    out = [OutMessage(topics.custody, _json(payload), qos=1, dedupe=f"custody:{entry.seq}")]
    if is_alarm_kind(str(body.get("kind", ""))):
        alarm = {"seq": entry.seq, "kind": body.get("kind"), "ts": body.get("ts"), "entry": body}
        out.append(OutMessage(topics.alarm, _json(alarm), qos=1, dedupe=f"alarm:{entry.seq}"))
    return out


def feed_ledger(store: OutboxStore, ledger: LedgerLike, topics: Topics, batch: int = 500) -> int:
    """Enqueue every ledger entry after the outbox's cursor, in seq order; returns how
    many entries were fed. Each batch and its cursor move commit together."""
    start = store.cursor(LEDGER_CURSOR) + 1
    fed = 0
    pending: list[OutMessage] = []
    last = start - 1
    for entry in ledger.entries(start):
        if entry.seq != last + 1:  # the ledger's seq is dense; anything else is a bug upstream
            raise ValueError(f"ledger gave seq {entry.seq} after {last}")
        pending.extend(custody_messages(topics, entry))
        last = entry.seq
        fed += 1
        if fed % batch == 0:
            store.enqueue_many(pending, cursor=(LEDGER_CURSOR, last))
            pending = []
    if pending:
        store.enqueue_many(pending, cursor=(LEDGER_CURSOR, last))
    return fed


def compartment_message(
    topics: Topics,
    cabinet: str,
    index: int,
    *,
    door_closed: bool,
    occupied: bool,
    locked: bool,
    ts: str,
    item: str | None = None,
) -> OutMessage:
    """The retained state of one compartment."""
    payload = {
        "cabinet": cabinet,
        "compartment": index,
        "door": "closed" if door_closed else "open",
        "occupied": occupied,
        "locked": locked,
        "item": item,
        "ts": ts,
    }
    return OutMessage(topics.compartment(cabinet, index), _json(payload), qos=1, retain=True)


def checkpoint_message(topics: Topics, note: str, size: int) -> OutMessage:
    """The retained latest checkpoint (the signed note text, as a witness consumes it)."""
    return OutMessage(
        topics.checkpoint, note.encode(), qos=1, retain=True, dedupe=f"checkpoint:{size}"
    )


def notice_message(topics: Topics, notice: Notice) -> OutMessage:
    """A notice for one person; its key makes a second send of it a no-op."""
    payload = {
        "key": notice.key,
        "role": notice.role,
        "person": notice.person,
        "subject": notice.subject,
        "text": notice.text,
        "refs": dict(notice.refs),
    }
    return OutMessage(
        topics.notify(notice.role, notice.person),
        _json(payload),
        qos=1,
        dedupe=f"notice:{notice.key}",
    )


class MqttNotifier:
    """A :class:`custody.ports.Notifier` that goes through the durable outbox.

    ``send`` returns once the notice is committed to ``outbox.db``; delivery follows when
    the broker is reachable. A notice key already enqueued is not enqueued again.
    """

    def __init__(self, store: OutboxStore, topics: Topics, wake: Any = None) -> None:
        self.store = store
        self.topics = topics
        self._wake = wake
        self.sent: list[Notice] = []  # what this process handed over, for the demo's report

    def send(self, notice: Notice) -> None:
        if self.store.enqueue(notice_message(self.topics, notice)):
            self.sent.append(notice)
        if self._wake is not None:
            self._wake()


def decode_custody(payloads: Iterable[bytes]) -> list[int]:
    """The seqs of custody payloads, in arrival order (for consumers and tests)."""
    return [int(json.loads(p)["seq"]) for p in payloads]
