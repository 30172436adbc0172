"""A serial port as an asyncio byte stream (the real modem's line, or a pty in tests).

pyserial opens and configures the port (baud rate, raw mode); the bytes then move on the
event loop through the port's file descriptor (``add_reader``), so the AT dialogue never
blocks the loop and needs no thread. Anything with ``read``/``write``/``close`` like
:class:`ByteStream` will do for :class:`notify.modem.AtModem`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Protocol

import serial

from notify.errors import ModemError


class ByteStream(Protocol):
    """A serial-like asyncio stream."""

    async def read(self) -> bytes:
        """Some bytes (at least one); ``b""`` when the line is closed."""
        ...

    async def write(self, data: bytes) -> None:
        """Write every byte."""
        ...

    async def close(self) -> None:
        """Release the line."""
        ...


class FdStream:
    """A byte stream over a non-blocking file descriptor (a tty or a pty)."""

    def __init__(self, fd: int, owner: serial.Serial | None = None) -> None:
        self._fd = fd
        self._owner = owner
        os.set_blocking(fd, False)
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._loop.add_reader(fd, self._readable)
        self._closed = False

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # EOF / hang-up: stop watching, tell the reader once
            self._loop.remove_reader(self._fd)
        self._queue.put_nowait(data)

    async def read(self) -> bytes:
        return await self._queue.get()

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._fd, view)
            except BlockingIOError:
                await asyncio.sleep(0.005)
                continue
            except OSError as exc:
                raise ModemError(f"serial write failed: {exc}", transient=True) from exc
            view = view[n:]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        if self._owner is not None:
            with contextlib.suppress(Exception):
                self._owner.close()
        else:
            with contextlib.suppress(OSError):
                os.close(self._fd)


async def open_serial(port: str, baud: int = 115200) -> FdStream:
    """Open a serial device (or a pty) with pyserial, 8N1, no flow control."""
    try:
        ser = serial.Serial(port, baudrate=baud, timeout=0, exclusive=False)
    except (serial.SerialException, OSError) as exc:
        raise ModemError(f"cannot open modem port {port}: {exc}", transient=True) from exc
    return FdStream(ser.fileno(), owner=ser)
