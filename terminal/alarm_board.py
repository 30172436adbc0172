"""Open alarms, read from the ledger, and the clerk's acknowledgement written to it.

The daemon's alarm desk (:mod:`lockerd.alarms`) writes an ``alarm.*`` entry for every
cabinet event no step explains (a forced door, a door left open, an item removed without a
check-out, a cabinet offline, ...). :class:`LedgerAlarmBoard` follows the ledger from where
it last looked, keeps the alarms nobody has acknowledged, and records a clerk's
acknowledgement as an ``alarm.acknowledged`` entry ``{"alarm": <seq>, "alarm_kind", "where"}``
with the clerk as ``actor``. An alarm is identified by the seq of its entry, so a rebuild
from the ledger alone gives the same open alarms.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from custody.errors import LockerError
from terminal.station import Alarm

ALARM_PREFIX = "alarm."
ACKNOWLEDGED = "alarm.acknowledged"

Entries = Callable[[int], Iterable[Any]]  # start -> entries with .seq and .body
Writer = Callable[[str, Mapping[str, Any], str], int]  # (kind, body, actor) -> seq


class UnknownAlarmError(LockerError):
    """No open alarm with that id (never raised, or already acknowledged)."""


class LedgerAlarmBoard:
    """The alarms of one ledger (``entries``) and the writer of acknowledgements."""

    def __init__(self, entries: Entries, write: Writer) -> None:
        self._entries = entries
        self._write = write
        self._next = 0
        self._open: dict[int, Alarm] = {}
        self._lock = threading.Lock()

    def _catch_up(self) -> None:
        for entry in self._entries(self._next):
            body: Mapping[str, Any] = entry.body
            kind = str(body.get("kind", ""))
            seq = int(entry.seq)
            self._next = seq + 1
            if kind == ACKNOWLEDGED:
                self._open.pop(int(body["alarm"]), None)
            elif kind.startswith(ALARM_PREFIX):
                where = body.get("compartment") or body.get("cabinet") or body.get("badge") or ""
                self._open[seq] = Alarm(
                    id=str(seq),
                    kind=kind[len(ALARM_PREFIX):],
                    compartment=str(where),
                    raised_at=str(body.get("ts", "")),
                    detail=str(body.get("detail", "") or body.get("message", "")),
                )

    def open_alarms(self) -> Sequence[Alarm]:
        """Alarms nobody has acknowledged, oldest first."""
        with self._lock:
            self._catch_up()
            return [self._open[s] for s in sorted(self._open)]

    def acknowledge(self, alarm_id: str, *, clerk: str) -> None:
        """Record the clerk's acknowledgement of an open alarm."""
        with self._lock:
            self._catch_up()
            try:
                seq = int(alarm_id)
                alarm = self._open[seq]
            except (ValueError, KeyError):
                raise UnknownAlarmError(f"no open alarm {alarm_id!r}") from None
            self._write(ACKNOWLEDGED, {"alarm": seq, "alarm_kind": alarm.kind,
                                       "where": alarm.compartment}, clerk)
            self._catch_up()
