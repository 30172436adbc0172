"""Clock faults: the station's wall clock jumping back (an NTP correction, a dead RTC
battery at boot) or forward by hours.

The ledger orders entries by ``seq``, never by time, so a wrong clock cannot reorder or
hide anything; what it can do is make deadlines fire early or late and make the times in
entries lie. So a jump is put on record: :class:`ClockWatch` compares how far the wall
clock moved between two looks with how far a monotonic clock moved (which no clock
setting changes), and calls a difference beyond a threshold a jump; at its first look it
also compares the wall clock with the time of the ledger's last entry, so a station that
restarts on a clock behind its own ledger is caught. The caller records a jump through the
custody service (:meth:`custody.services.alarms.Alarms.record_clock_jump`: a
``clock.jump`` entry and an ``alarm.clock_jump``).

Pure: time comes from an injected :class:`custody.ports.Clock` and an injected monotonic
function (seconds), so tests jump it at will.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from custody.domain.values import utc_text
from custody.ports import Clock

#: the entry kind recording a jump (its alarm is ``alarm.clock_jump``)
CLOCK_JUMP = "clock.jump"
#: why a jump was seen
JUMPED = "jumped"  # the wall clock moved unlike the monotonic clock between two looks
BEHIND_LEDGER = "behind_ledger"  # at start, the clock reads before the last entry's ts


@dataclass(frozen=True)
class ClockJump:
    """A jump of the wall clock: what it should have read, what it read, and why."""

    expected: datetime
    observed: datetime
    cause: str

    @property
    def seconds(self) -> float:
        """How far the clock jumped: positive forward, negative back."""
        return (self.observed - self.expected).total_seconds()

    def body(self) -> dict[str, Any]:
        """The ``clock.jump`` entry's body (times UTC, the jump in whole milliseconds)."""
        return {
            "expected": utc_text(self.expected),
            "observed": utc_text(self.observed),
            "jump_ms": round(self.seconds * 1000),
            "cause": self.cause,
        }

    def describe(self) -> str:
        """One line for the alarm and the log."""
        way = "forward" if self.seconds > 0 else "back"
        what = ("the clock reads before the ledger's last entry" if self.cause == BEHIND_LEDGER
                else f"the clock jumped {way}")
        return (f"{what} by {abs(self.seconds):.0f} s (expected {utc_text(self.expected)}, "
                f"read {utc_text(self.observed)}); entries stay ordered by seq")


class ClockWatch:
    """Looks at the wall clock now and then (:meth:`check`) and reports jumps larger than
    ``threshold_s`` seconds either way.

    ``last_entry_at`` is the ``ts`` of the ledger's last entry when the watch starts: a
    first look that reads more than ``threshold_s`` before it is a jump back.
    """

    def __init__(
        self,
        clock: Clock,
        threshold_s: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        last_entry_at: datetime | None = None,
    ) -> None:
        if threshold_s <= 0:
            raise ValueError(f"clock jump threshold {threshold_s} s must be positive")
        self._clock = clock
        self._threshold = threshold_s
        self._monotonic = monotonic
        self._last_entry_at = last_entry_at
        self._last: tuple[datetime, float] | None = None

    def check(self) -> ClockJump | None:
        """Look at the clock; the jump since the last look (or at start), else None."""
        now, mono = self._clock.now(), self._monotonic()
        last, self._last = self._last, (now, mono)
        if last is None:
            ahead = self._last_entry_at
            if ahead is not None and (ahead - now).total_seconds() > self._threshold:
                return ClockJump(ahead, now, BEHIND_LEDGER)
            return None
        expected = last[0] + timedelta(seconds=mono - last[1])
        if abs((now - expected).total_seconds()) > self._threshold:
            return ClockJump(expected, now, JUMPED)
        return None
