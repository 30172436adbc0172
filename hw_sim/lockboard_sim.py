"""A simulated Kerong-style lock board on a pseudo-terminal.

:class:`LockBoardSim` opens a pty, answers the frames described in
:mod:`locker_firmware_bridge.lockboard` on its master side and acts on the
:class:`~hw_sim.cabinet_world.World`: board address ``a`` is cabinet ``a``. The driver (or
any serial tool) opens :attr:`LockBoardSim.path`. Faults from ``world.faults(a)`` apply:
no answer, a bad checksum, slow answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import tty

from hw_sim.cabinet_world import World, WorldError
from locker_firmware_bridge.lockboard import (
    CMD_LED_OFF,
    CMD_LED_ON,
    CMD_STATUS,
    CMD_UNLOCK,
    ETX,
    REQUEST_LEN,
    STX,
    build_status_reply,
    checksum,
)


class LockBoardSim:
    """Lock boards for every cabinet of a world, on one pty (one RS-485 line)."""

    def __init__(self, world: World, *, lock_bit_locked: int = 1) -> None:
        self.world = world
        self.lock_bit_locked = bool(lock_bit_locked)
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._buf = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.frames = 0

    def start(self) -> None:
        """Start answering on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._master, self._on_readable)

    def close(self) -> None:
        """Stop and close the pty."""
        if self._loop is not None:
            self._loop.remove_reader(self._master)
            self._loop = None
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _on_readable(self) -> None:
        try:
            self._buf += os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return
        while True:
            start = self._buf.find(STX)
            if start < 0:
                self._buf.clear()
                return
            del self._buf[:start]
            if len(self._buf) < REQUEST_LEN:
                return
            frame = bytes(self._buf[:REQUEST_LEN])
            if frame[4] != ETX or checksum(frame[:5]) != frame[5]:
                del self._buf[:1]  # resync on the next STX
                continue
            del self._buf[:REQUEST_LEN]
            self._handle(frame)

    def _handle(self, frame: bytes) -> None:
        self.frames += 1
        addr, lock, cmd = frame[1], frame[2], frame[3]
        cab = self.world.cabinets.get(addr)
        if cab is None or cab.faults.no_answer:
            return
        reply: bytes
        try:
            if cmd == CMD_STATUS:
                n = cab.count
                locks = [cab.lock_engaged(i) == self.lock_bit_locked for i in range(n)]
                ir = [cab.sensed_occupied(i) for i in range(n)]
                doors = [c.door_closed for c in cab.compartments]
                reply = build_status_reply(addr, locks, ir, doors)
            elif cmd in (CMD_UNLOCK, CMD_LED_ON, CMD_LED_OFF) and lock >= 1:
                if cmd == CMD_UNLOCK:
                    cab.release(lock - 1)
                else:
                    cab.comp(lock - 1).led = cmd == CMD_LED_ON
                reply = frame
            else:
                return  # unknown command: a real board stays silent
        except WorldError:
            return  # lock number out of range: silent too
        if cab.faults.bad_crc:
            reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
        if cab.faults.delay_s > 0 and self._loop is not None:
            self._loop.call_later(cab.faults.delay_s, self._write, reply)
        else:
            self._write(reply)

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self._master, data)
