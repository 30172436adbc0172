"""Mounting the terminal in the daemon (and ``locker demo``): one call.

::

    from terminal.mount import mount_terminal
    mount_terminal(api_app, runtime)        # serves the kiosk under /terminal

:func:`station_from_runtime` takes every part from the daemon's
:class:`lockerd.runtime.Runtime` (duck-typed here, so the terminal does not import the
daemon): the custody service, the badge list of ``[[people]]``, the cabinets, the camera,
the label reader, the photo store, the clock, the poller's ``expect_open`` and the alarm
desk's claims, ``[terminal]`` settings, and the ledger's writer for station entries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from terminal.alarm_board import CustodyAlarmBoard
from terminal.app import create_terminal_app
from terminal.sessions import BadgeHolder, TerminalSettings
from terminal.station import TerminalStation

MOUNT_PATH = "/terminal"


def badge_holders(people: Any) -> list[BadgeHolder]:
    """The ``[[people]]`` entries that carry a badge and a PIN hash."""
    return [
        BadgeHolder(p.id, p.name, p.role, p.badge, p.pin_hash)
        for p in people if p.badge and p.pin_hash
    ]


def station_from_runtime(rt: Any, settings: TerminalSettings | None = None) -> TerminalStation:
    """A :class:`TerminalStation` over the daemon's runtime (call it on the daemon's loop)."""
    ledger = rt.ledger
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None

    def wake() -> None:
        # called from worker threads: the daemon's loop is told thread-safely
        changed = getattr(rt, "ledger_changed", None)
        if changed is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(changed)  # feed the new entry to MQTT

    def record(kind: str, body: Mapping[str, Any], actor: str) -> int:
        seq = int(ledger.append(kind, dict(body), actor=actor).seq)
        wake()
        return seq

    return TerminalStation(
        custody=rt.custody,
        people=badge_holders(rt.cfg.people),
        cabinets=rt.cabinets,
        camera=rt.camera,
        reader=rt.reader,
        photos=rt.photos,
        clock=rt.clock,
        settings=settings or rt.cfg.terminal,  # [terminal] is a TerminalSettings
        alarms=CustodyAlarmBoard(rt.custody, wake),
        station_name=str(getattr(rt.cfg.station, "name", "") or rt.cfg.station.id),
        expect_open=rt.poller.expect_open,
        claims=rt.alarms,
        record=record,
        last_status=rt.poller.last_status,
    )


def mount_terminal(
    app: FastAPI, rt: Any, path: str = MOUNT_PATH, settings: TerminalSettings | None = None
) -> FastAPI:
    """Mount the terminal for the runtime ``rt`` on ``app`` under ``path``; returns it.

    ``settings`` default to the config's ``[terminal]`` section.
    """
    terminal = create_terminal_app(station_from_runtime(rt, settings))
    app.mount(path, terminal)
    return terminal
