"""Mounting the kiosk on another app (the daemon's read API).

``lockerd`` builds the :class:`~terminal.station.TerminalStation` (the step service, the
custody service for reading, the photo store, the clock, ``[terminal]`` settings, the alarm
board) and mounts it::

    from terminal.mount import mount_terminal
    mount_terminal(api_app, station)        # serves the kiosk under /terminal

The terminal is handed every part, typed; it never imports ``lockerd``.
"""

from __future__ import annotations

from fastapi import FastAPI

from terminal.app import create_terminal_app
from terminal.station import TerminalStation

MOUNT_PATH = "/terminal"


def mount_terminal(app: FastAPI, station: TerminalStation, path: str = MOUNT_PATH) -> FastAPI:
    """Mount the terminal for ``station`` on ``app`` under ``path``; returns it."""
    terminal = create_terminal_app(station)
    app.mount(path, terminal)
    return terminal
