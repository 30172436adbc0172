"""The daemon's watch over its own clock: :class:`custody.clockwatch.ClockWatch` over the
runtime's clock, a jump recorded through the custody service (a ``clock.jump`` entry and
an ``alarm.clock_jump``) and logged. Called on the custody thread at every rules tick,
before the deadlines are looked at (docs/reliability.md, "Clock faults")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from custody.clockwatch import ClockWatch
from custody.domain.values import parse_utc

if TYPE_CHECKING:
    from lockerd.runtime import Runtime

log = logging.getLogger("lockerd.clock")


def clock_check(rt: Runtime, threshold_s: int) -> Callable[[], bool]:
    """A check to call now and then on the custody thread: True when it found (and
    recorded) a jump. Made at start, so its first look compares the clock with the ledger's
    last entry as it was before the daemon wrote anything."""
    size = rt.ledger.size
    last = parse_utc(str(rt.ledger.entry(size - 1).body["ts"])) if size else None
    watch = ClockWatch(rt.clock, threshold_s, last_entry_at=last)

    def check() -> bool:
        jump = watch.check()
        if jump is None:
            return False
        log.warning("clock: %s", jump.describe())
        rt.custody.record_clock_jump(jump)
        return True

    return check
