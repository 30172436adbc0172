"""``sleep_until``: never returns before its deadline, on the timerfd path and without it,
and a cancelled wait leaves no timer fd behind."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from locker_firmware_bridge import pacing


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("timerfd", [True, False])
def test_never_returns_before_the_deadline(timerfd: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not timerfd:
        monkeypatch.setattr(pacing, "_TIMERFD", None)
    else:
        assert pacing._TIMERFD is not None  # Linux: the precise path is the one in use

    async def main() -> None:
        before = open_fds()
        for k in range(40):
            deadline = time.monotonic() + (k % 8) * 0.0004
            await pacing.sleep_until(deadline)
            assert time.monotonic() >= deadline
        # another clock than CLOCK_MONOTONIC is honoured too
        deadline = time.perf_counter() + 0.001
        await pacing.sleep_until(deadline, clock=time.perf_counter)
        assert time.perf_counter() >= deadline
        await pacing.sleep_until(time.monotonic() - 1)  # a past deadline: at once
        assert open_fds() == before

    asyncio.run(main())


def test_a_cancelled_wait_closes_its_timer() -> None:
    async def main() -> None:
        before = open_fds()
        task = asyncio.create_task(pacing.sleep_until(time.monotonic() + 3600))
        await asyncio.sleep(0)
        assert open_fds() == before + 1  # the armed timerfd
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert open_fds() == before

    asyncio.run(main())
