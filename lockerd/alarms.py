"""Cabinet events no step explains become alarm entries in the ledger (and MQTT alarms).

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
by a task (:meth:`AlarmDesk.run`) through the runtime's single custody thread, with the one
alarm body (:func:`custody.alarms.alarm_body`); the open alarms are the custody
projection's (:func:`custody.queries.open_alarms`), not kept here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from custody.alarms import CABINET_ONLINE, AlarmKind, alarm_body
from custody.ports import CabinetEvent, CabinetEventKind

log = logging.getLogger(__name__)
K = CabinetEventKind

# entry kinds (the kinds are defined in custody.alarms; these names are kept for callers)
ALARM_DOOR_FORCED = AlarmKind.DOOR_FORCED.entry_kind
ALARM_ITEM_REMOVED = AlarmKind.ITEM_REMOVED.entry_kind
ALARM_ITEM_PLACED = AlarmKind.ITEM_PLACED.entry_kind
ALARM_DOOR_LEFT_OPEN = AlarmKind.DOOR_LEFT_OPEN.entry_kind
ALARM_CABINET_OFFLINE = AlarmKind.CABINET_OFFLINE.entry_kind
ALARM_WRONG_COMPARTMENT = AlarmKind.WRONG_COMPARTMENT.entry_kind
ALARM_PIN_LOCKOUT = AlarmKind.PIN_LOCKOUT.entry_kind
FLOW_FAILED = "flow.failed"
__all__ = [
    "ALARM_CABINET_OFFLINE", "ALARM_DOOR_FORCED", "ALARM_DOOR_LEFT_OPEN", "ALARM_ITEM_PLACED",
    "ALARM_ITEM_REMOVED", "ALARM_PIN_LOCKOUT", "ALARM_WRONG_COMPARTMENT", "CABINET_ONLINE",
    "DAEMON_ACTOR", "FLOW_FAILED", "AlarmDesk", "AlarmRecord",
]

#: the ledger actor of entries the daemon writes on its own
DAEMON_ACTOR = "lockerd"


@dataclass(frozen=True)
class AlarmRecord:
    """An entry to write: its kind and body (an alarm's from
    :func:`custody.alarms.alarm_body`; ``cabinet.online``'s has the same fields)."""

    kind: str
    body: dict[str, Any]


Writer = Callable[[AlarmRecord], Awaitable[int]]
StateHook = Callable[[CabinetEvent], None]


class AlarmDesk:
    """Keeps the flows' claims and turns unexplained events into alarm records."""

    def __init__(self, *, items_at: Callable[[str], Iterable[str]] | None = None) -> None:
        self._claims: dict[tuple[str, int], str] = {}
        self._queue: asyncio.Queue[AlarmRecord] = asyncio.Queue()
        # the labels the ledger puts in a compartment (the custody projection's)
        self._items_at = items_at or (lambda compartment: ())
        self.state_hooks: list[StateHook] = []

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
        claimed = ev.compartment is not None and self.claimed(ev.cabinet_id, ev.compartment)

        def body(*, with_items: bool) -> dict[str, Any]:
            items = self._items_at(where) if with_items and where is not None else ()
            return alarm_body(cabinet=ev.cabinet_id, compartment=where, items=items,
                              event=ev.kind.value, detail=ev.detail)

        if ev.kind is K.TAMPER:
            return AlarmRecord(ALARM_DOOR_FORCED, body(with_items=True))
        if ev.kind is K.ITEM_REMOVED and not claimed:
            return AlarmRecord(ALARM_ITEM_REMOVED, body(with_items=True))
        if ev.kind is K.ITEM_PLACED and not claimed:
            return AlarmRecord(ALARM_ITEM_PLACED, body(with_items=False))
        if ev.kind is K.DOOR_LEFT_OPEN:
            return AlarmRecord(ALARM_DOOR_LEFT_OPEN, body(with_items=True))
        if ev.kind is K.OFFLINE:
            return AlarmRecord(ALARM_CABINET_OFFLINE, body(with_items=False))
        if ev.kind is K.ONLINE:
            return AlarmRecord(CABINET_ONLINE, body(with_items=False))
        return None

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
                log.warning("%s at %s: seq %d", record.kind, record.body.get("compartment")
                            or record.body.get("cabinet"), seq)
            except Exception:
                log.exception("could not record %s", record)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued record has been written."""
        await self._queue.join()
