"""Cabinet events no flow explains become alarm entries in the ledger (and MQTT alarms).

A flow *claims* the compartments it is working on before it releases a lock and lets go of
them once the poller has seen the final state. The poller's events are delivered to
:meth:`AlarmDesk.on_event`, which never suspends, so an event is judged against the claims
as they were when the poller read the status that caused it. Judgement:

- ``tamper`` (a door opened without a commanded release): ``alarm.door_forced``;
- ``item_removed`` / ``item_placed`` on a compartment no flow claims:
  ``alarm.item_removed`` (an item taken without a check-out) / ``alarm.item_placed``;
- ``door_left_open``: ``alarm.door_left_open``; ``offline``: ``alarm.cabinet_offline``;
  ``online``: ``cabinet.online`` (recorded, not an alarm).

Every event also refreshes the compartment's retained MQTT state. Alarm entries are written
by a task (:meth:`AlarmDesk.run`) through the runtime's single custody thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from custody.ports import CabinetEvent, CabinetEventKind

log = logging.getLogger(__name__)
K = CabinetEventKind

ALARM_DOOR_FORCED = "alarm.door_forced"
ALARM_ITEM_REMOVED = "alarm.item_removed"
ALARM_ITEM_PLACED = "alarm.item_placed"
ALARM_DOOR_LEFT_OPEN = "alarm.door_left_open"
ALARM_CABINET_OFFLINE = "alarm.cabinet_offline"
ALARM_WRONG_COMPARTMENT = "alarm.wrong_compartment"
ALARM_PIN_LOCKOUT = "alarm.pin_lockout"
CABINET_ONLINE = "cabinet.online"
FLOW_FAILED = "flow.failed"

#: the ledger actor of entries the daemon writes on its own
DAEMON_ACTOR = "lockerd"


@dataclass(frozen=True)
class AlarmRecord:
    """An entry to write: its kind and body."""

    kind: str
    body: dict[str, Any]


Writer = Callable[[AlarmRecord], Awaitable[int]]
StateHook = Callable[[CabinetEvent], None]


class AlarmDesk:
    """Keeps the flows' claims and turns unexplained events into alarm records."""

    def __init__(self, *, item_at: Callable[[str], str | None] | None = None) -> None:
        self._claims: dict[tuple[str, int], str] = {}
        self._queue: asyncio.Queue[AlarmRecord] = asyncio.Queue()
        self._item_at = item_at or (lambda compartment: None)
        self.state_hooks: list[StateHook] = []
        self.raised: list[tuple[int, AlarmRecord]] = []  # (seq, record), for reports

    # ------------------------------------------------------------------ claims

    def claim(self, cabinet: str, compartment: int, why: str) -> None:
        """A flow is about to work on this compartment: its events are explained."""
        self._claims[(cabinet, compartment)] = why

    def unclaim(self, cabinet: str, compartment: int) -> None:
        """The flow is done with the compartment."""
        self._claims.pop((cabinet, compartment), None)

    def claimed(self, cabinet: str, compartment: int) -> bool:
        """Whether a flow holds this compartment."""
        return (cabinet, compartment) in self._claims

    # ------------------------------------------------------------------ events

    async def on_event(self, ev: CabinetEvent) -> None:
        """The poller's sink. Never suspends (see the module docstring)."""
        for hook in self.state_hooks:
            try:
                hook(ev)
            except Exception:  # a broken hook must not stop alarms
                log.exception("compartment state hook failed on %s", ev)
        record = self.judge(ev)
        if record is not None:
            self._queue.put_nowait(record)

    def judge(self, ev: CabinetEvent) -> AlarmRecord | None:
        """The alarm an event means, if any."""
        where = f"{ev.cabinet_id}/{ev.compartment}" if ev.compartment is not None else None
        base: dict[str, Any] = {
            "cabinet": ev.cabinet_id,
            "compartment": where,
            "event": ev.kind.value,
            "detail": ev.detail,
        }
        claimed = ev.compartment is not None and self.claimed(ev.cabinet_id, ev.compartment)
        if ev.kind is K.TAMPER:
            return AlarmRecord(ALARM_DOOR_FORCED, {**base, "item": self._at(where)})
        if ev.kind is K.ITEM_REMOVED and not claimed:
            return AlarmRecord(ALARM_ITEM_REMOVED, {**base, "item": self._at(where)})
        if ev.kind is K.ITEM_PLACED and not claimed:
            return AlarmRecord(ALARM_ITEM_PLACED, base)
        if ev.kind is K.DOOR_LEFT_OPEN:
            return AlarmRecord(ALARM_DOOR_LEFT_OPEN, {**base, "item": self._at(where)})
        if ev.kind is K.OFFLINE:
            return AlarmRecord(ALARM_CABINET_OFFLINE, base)
        if ev.kind is K.ONLINE:
            return AlarmRecord(CABINET_ONLINE, base)
        return None

    def _at(self, where: str | None) -> str | None:
        return self._item_at(where) if where is not None else None

    def raise_alarm(self, record: AlarmRecord) -> None:
        """Queue an alarm found by a flow (e.g. a file in the wrong compartment)."""
        self._queue.put_nowait(record)

    # ------------------------------------------------------------------ writing

    async def run(self, write: Writer) -> None:
        """Write queued records to the ledger, in order, until cancelled."""
        while True:
            record = await self._queue.get()
            try:
                seq = await write(record)
                self.raised.append((seq, record))
                log.warning("%s at %s: seq %d", record.kind, record.body.get("compartment")
                            or record.body.get("cabinet"), seq)
            except Exception:
                log.exception("could not record %s", record)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued record has been written."""
        await self._queue.join()
