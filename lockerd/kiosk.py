"""The kiosk's parts, built by the daemon: the terminal is handed them, typed.

:func:`terminal_station` gives the kiosk (package ``terminal``) the daemon's one step
service, the custody service (read only there), the photo store, the clock, the
``[terminal]`` sign-in settings, and an alarm board whose acknowledgements are written
through the runtime's one writer (and wake the MQTT feeder) like every other entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from custody.ledger.entry import Entry
from lockerd.runtime import Runtime
from lockerd.steps import StepService, terminal_settings
from terminal.alarm_board import LedgerAlarmBoard
from terminal.station import TerminalStation


def terminal_station(rt: Runtime, steps: StepService) -> TerminalStation:
    """The kiosk's :class:`TerminalStation` (call it on the daemon's loop)."""
    loop = asyncio.get_running_loop()

    def write(kind: str, body: Mapping[str, Any], actor: str) -> int:
        # called from a worker thread (the board's acknowledge): the entry goes through the
        # runtime's one writer on the daemon's loop, which also feeds it to MQTT
        return asyncio.run_coroutine_threadsafe(rt.record(kind, dict(body), actor),
                                                loop).result()

    def entries(start: int) -> Iterable[Entry]:
        return rt.ledger.entries(start)

    return TerminalStation(
        custody=rt.custody,
        steps=steps,
        photos=rt.photos,
        clock=rt.clock,
        settings=terminal_settings(rt.cfg),
        alarms=LedgerAlarmBoard(entries, write),
        station_name=rt.cfg.station.name or rt.cfg.station.station_id,
    )
