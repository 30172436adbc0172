"""The terminal's alarm board: the custody state's open alarms, and a clerk's acknowledgement.

Open alarms are not folded here: they are the custody projection's
(:meth:`custody.services.CustodyService.open_alarms`, which first folds in what the daemon's
alarm desk and other writers appended). A clerk's acknowledgement is written by the custody
service as an ``alarm.acknowledged`` entry ``{"alarm": <seq>, "alarm_kind", "where"}`` with
the clerk as ``actor`` (refused, writing nothing, for an alarm that is not open or a person
who is not a clerk). An alarm is identified by the seq of its entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from custody.alarms import AlarmView
from custody.domain.errors import UnknownAlarmError
from custody.services import CustodyService

__all__ = ["CustodyAlarmBoard", "UnknownAlarmError"]


class CustodyAlarmBoard:
    """The alarms of one custody service; ``wrote`` is told after each acknowledgement
    (the daemon passes its feeder's wake-up, so the entry reaches MQTT at once)."""

    def __init__(self, custody: CustodyService, wrote: Callable[[], None] | None = None) -> None:
        self._custody = custody
        self._wrote = wrote

    def open_alarms(self) -> Sequence[AlarmView]:
        """Alarms nobody has acknowledged, oldest first."""
        return self._custody.open_alarms()

    def acknowledge(self, alarm_id: str, *, clerk: str) -> None:
        """Record the clerk's acknowledgement of an open alarm (its seq, as text)."""
        try:
            seq = int(alarm_id)
        except ValueError:
            raise UnknownAlarmError(f"no open alarm {alarm_id!r}") from None
        self._custody.acknowledge_alarm(seq, clerk=clerk)
        if self._wrote is not None:
            self._wrote()
