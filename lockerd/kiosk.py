"""The kiosk's parts, built by the daemon: the terminal is handed them, typed.

:func:`terminal_station` gives the kiosk (package ``terminal``) the daemon's one step
service, the custody service (read only there), the photo store, the clock, the
``[terminal]`` sign-in settings, the SMS channel's status (its status line), and an alarm
board over the custody state whose
acknowledgements are written through the runtime's one writer (and wake the MQTT feeder)
like every other entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from api.auth import TokenStore
from custody.alarms import AlarmView
from lockerd.runtime import Runtime
from lockerd.steps import StepService
from terminal.alarm_board import CustodyAlarmBoard
from terminal.station import TerminalStation

T = TypeVar("T")


class RuntimeAlarmBoard:
    """The kiosk's alarm board (:class:`terminal.alarm_board.CustodyAlarmBoard`, the custody
    state's open alarms and acknowledgements) run on the runtime's one writer: the kiosk
    calls it from worker threads; the fold of new entries and the acknowledgement happen on
    the custody thread, and an acknowledgement wakes the MQTT feeder."""

    def __init__(self, rt: Runtime, loop: asyncio.AbstractEventLoop) -> None:
        self._rt = rt
        self._loop = loop
        self._board = CustodyAlarmBoard(rt.custody, wrote=self._wake)

    def _wake(self) -> None:
        self._loop.call_soon_threadsafe(self._rt.ledger_changed)

    def _on_writer(self, fn: Callable[[], T]) -> T:
        return asyncio.run_coroutine_threadsafe(self._rt.call(fn), self._loop).result()

    def open_alarms(self) -> Sequence[AlarmView]:
        """Alarms nobody has acknowledged, oldest first (the custody projection's)."""
        return self._on_writer(self._board.open_alarms)

    def acknowledge(self, alarm_id: str, *, clerk: str) -> None:
        """Record the clerk's acknowledgement (``alarm.acknowledged``)."""
        self._on_writer(lambda: self._board.acknowledge(alarm_id, clerk=clerk))


def terminal_station(
    rt: Runtime, steps: StepService,
    sms_status: Callable[[], Mapping[str, Any]] | None = None,
) -> TerminalStation:
    """The kiosk's :class:`TerminalStation` (call it on the daemon's loop); ``sms_status``:
    the SMS service's ``last_status`` when the station sends SMS (its status line)."""
    return TerminalStation(
        custody=rt.custody,
        steps=steps,
        photos=rt.photos,
        clock=rt.clock,
        settings=rt.cfg.terminal,  # [terminal] is a TerminalSettings
        alarms=RuntimeAlarmBoard(rt, asyncio.get_running_loop()),
        station_name=rt.cfg.station.name or rt.cfg.station.station_id,
        stages=steps.stages,
        # the case-management system's token (role case_system) is checked against the
        # station's one token store, where its refusals are kept too
        case_system=TokenStore(rt.data_dir, clock=rt.clock),
        sms_status=sms_status,
        label_printer=steps.labels.enabled,
    )
