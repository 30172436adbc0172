"""Alarms through the custody service: raise one, acknowledge one, read the open ones.

Every ``alarm.*`` entry and every ``alarm.acknowledged`` entry is written here, so it is
folded into the service's projection at once, like any custody step (the body has one
definition: :func:`custody.alarms.alarm_body`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from custody.alarms import (
    ALARM_ACKNOWLEDGED,
    AlarmKind,
    AlarmView,
    acknowledgement_body,
    alarm_body,
    alarm_entry_kind,
)
from custody.clockwatch import CLOCK_JUMP, ClockJump
from custody.domain.errors import InvalidInputError, UnknownAlarmError
from custody.domain.people import Role
from custody.queries import open_alarms
from custody.services.core import ServiceCore

#: the ledger actor of alarms the station raises on its own (the daemon's alarm desk)
STATION_ACTOR = "lockerd"


class Alarms(ServiceCore):
    """Raising and acknowledging alarms."""

    def raise_alarm(
        self,
        kind: AlarmKind | str,
        *,
        actor: str = STATION_ACTOR,
        compartment: str | None = None,
        cabinet: str | None = None,
        items: Iterable[str] = (),
        event: str = "",
        detail: str = "",
        **extra: Any,
    ) -> AlarmView:
        """Write an ``alarm.<kind>`` entry (body: :func:`custody.alarms.alarm_body`) and
        return the open alarm."""
        entry_kind = alarm_entry_kind(kind)
        if entry_kind == ALARM_ACKNOWLEDGED or len(entry_kind) <= len("alarm."):
            raise InvalidInputError(f"{kind!r} is not an alarm kind")
        body = alarm_body(compartment=compartment, cabinet=cabinet, items=items, event=event,
                          detail=detail, **extra)
        with self.lock:
            self._sync()
            written = self._append(entry_kind, body, actor)
            return self.projection.alarms[int(written["seq"])]

    def record_clock_jump(self, jump: ClockJump) -> AlarmView:
        """Put a jump of the station's clock on record: a ``clock.jump`` entry (what the
        clock should have read, what it read, by how much) and an ``alarm.clock_jump``."""
        with self.lock:
            self._sync()
            self._append(CLOCK_JUMP, jump.body(), STATION_ACTOR)
            return self.raise_alarm(AlarmKind.CLOCK_JUMP, event=CLOCK_JUMP,
                                    detail=jump.describe(), jump_ms=jump.body()["jump_ms"])

    def acknowledge_alarm(self, seq: int, *, clerk: str) -> AlarmView:
        """Record the clerk's acknowledgement of an open alarm (``alarm.acknowledged``).

        Raises :class:`UnknownAlarmError` for an alarm that is not open (never raised, or
        already acknowledged), :class:`RoleError` / :class:`UnknownPersonError` when
        ``clerk`` is not a clerk; nothing is written then.
        """
        with self.lock:
            self.directory.require(clerk, Role.CLERK)
            self._sync()
            alarm = self.projection.alarms.get(seq)
            if alarm is None:
                raise UnknownAlarmError(f"no open alarm {seq} (never raised, or acknowledged)")
            self._append(ALARM_ACKNOWLEDGED, acknowledgement_body(alarm), clerk)
            return alarm

    def open_alarms(self) -> list[AlarmView]:
        """Alarms nobody has acknowledged, oldest first (after folding in what others
        appended)."""
        with self.lock:
            self._sync()
            return open_alarms(self.projection)
