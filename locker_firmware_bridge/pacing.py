"""Waiting until a deadline more exactly than an asyncio timer does.

On Linux an asyncio timer fires 0.3-1.3 ms late: the event loop hands ``epoll_wait`` a
timeout rounded up to the next millisecond, plus the wake-up. That is nothing at 19200
baud, but at 115200 baud a whole Modbus RTU transaction is 7 ms on the wire and the
inter-frame silence 1.75 ms, so a late timer per transaction costs a tenth of the line.

:func:`sleep_until` therefore arms a Linux ``timerfd`` (nanosecond resolution, absolute
``CLOCK_MONOTONIC`` deadline) and waits for it to become readable on the event loop: an
fd event is not subject to ``epoll``'s timeout rounding, so the wait ends ~0.1 ms after
the deadline and costs no CPU while it lasts. Where ``timerfd`` is missing it falls back
to ``asyncio.sleep``. Either way it never returns before the deadline. The bridge keeps
the RTU gap with it (:class:`~locker_firmware_bridge.line.ModbusLine`) and the simulator
its modelled line time (:mod:`hw_sim.modbus_server`).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import time
from collections.abc import Callable

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = 0o4000
_TFD_CLOEXEC = 0o2000000
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _load_timerfd() -> tuple[Callable[..., int], Callable[..., int]] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.timerfd_create, libc.timerfd_settime
    except (OSError, AttributeError):  # not Linux (or no libc symbols): plain timers
        return None


_TIMERFD = _load_timerfd()


def _arm(deadline_monotonic: float) -> int | None:
    """A non-blocking timerfd that becomes readable at the deadline, or None."""
    if _TIMERFD is None:
        return None
    create, settime = _TIMERFD
    fd = int(create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC))
    if fd < 0:
        return None
    sec = int(deadline_monotonic)
    spec = _Itimerspec(_Timespec(0, 0), _Timespec(sec, int((deadline_monotonic - sec) * 1e9)))
    if int(settime(fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None)) != 0:
        os.close(fd)
        return None
    return fd


async def sleep_until(deadline: float, *, clock: Callable[[], float] = time.monotonic) -> None:
    """Return once ``clock()`` has reached ``deadline`` (never before, ~0.1 ms after)."""
    remaining = deadline - clock()
    if remaining <= 0:
        return
    fd = _arm(time.monotonic() + remaining)
    if fd is None:
        await asyncio.sleep(remaining)
    else:
        loop = asyncio.get_running_loop()
        fired = loop.create_future()

        def ready() -> None:
            if not fired.done():
                fired.set_result(None)

        loop.add_reader(fd, ready)
        try:
            await fired
        finally:
            loop.remove_reader(fd)
            os.close(fd)
    # ``clock`` may not be CLOCK_MONOTONIC itself: make sure it has got there too
    while clock() < deadline:
        await asyncio.sleep(0)
