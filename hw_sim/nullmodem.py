"""Two pseudo-terminals joined like a null-modem cable (what ``socat pty pty`` does).

A pymodbus serial server opens one end as its "serial port" and a driver opens the other,
so both speak RTU over real tty devices. The copying runs on the event loop (non-blocking
master fds registered with ``add_reader``); we keep each slave fd open ourselves so that a
side closing and reopening its port never leaves the master in an EIO loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import tty


class NullModem:
    """A virtual serial cable: bytes written to ``path_a`` come out of ``path_b`` and back."""

    def __init__(self) -> None:
        self._m1, self._s1 = pty.openpty()
        self._m2, self._s2 = pty.openpty()
        for fd in (self._s1, self._s2):
            tty.setraw(fd)
        for fd in (self._m1, self._m2):
            os.set_blocking(fd, False)
        self.path_a = os.ttyname(self._s1)
        self.path_b = os.ttyname(self._s2)
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start copying on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._m1, self._copy, self._m1, self._m2)
        self._loop.add_reader(self._m2, self._copy, self._m2, self._m1)

    def _copy(self, src: int, dst: int) -> None:
        try:
            data = os.read(src, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(dst, data)

    def close(self) -> None:
        """Stop copying and close every fd."""
        if self._loop is not None:
            for fd in (self._m1, self._m2):
                self._loop.remove_reader(fd)
            self._loop = None
        for fd in (self._m1, self._m2, self._s1, self._s2):
            with contextlib.suppress(OSError):
                os.close(fd)
