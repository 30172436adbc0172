"""Small real stand-ins for tests, demos and tools: a settable clock, a shifted real clock, a
notifier that keeps a list, a sample people list and photo references. They satisfy the
:mod:`custody.ports` Protocols; nothing here touches the ledger (use the real
``custody.ledger.Ledger``)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta, tzinfo

from custody.domain.people import Directory
from custody.domain.roles import Role
from custody.ports import Notice, PhotoRef
from custody.settings import PersonSettings, build_directory


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 Monday, Shanghai

    def now(self) -> datetime:
        return self.moment

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (a timedelta, or a number of seconds); returns the new
        time."""
        self.moment += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment


class ShiftedClock:
    """Real time, shifted: it runs at the machine's pace from ``start`` (default: now) and
    jumps forward on request, never back.

    For demos and simulated stations, where a scripted day must pass in seconds while the
    daemon's timers (door timeouts, polling) still see time run. ``now()`` is given in
    ``tz``."""

    def __init__(self, start: datetime | None = None, *, tz: tzinfo = UTC) -> None:
        # monotonic, so a wall-clock adjustment can never make this clock run back
        self._t0 = time.monotonic()
        self._start = start if start is not None else datetime.now(UTC)
        self._tz = tz
        self.offset = timedelta(0)

    def now(self) -> datetime:
        elapsed = timedelta(seconds=time.monotonic() - self._t0)
        return (self._start + elapsed + self.offset).astimezone(self._tz)

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward by ``delta``; returns the new time."""
        self.offset += delta
        return self.now()

    def jump_to(self, moment: datetime) -> None:
        """Jump forward to ``moment`` (refused if it lies in the clock's past)."""
        delta = moment - self.now()
        if delta < timedelta(0):
            raise ValueError(f"{moment} is in the past of this clock")
        self.offset += delta


class ListNotifier:
    """A notifier that records every notice it is handed, in order."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []

    def send(self, notice: Notice) -> None:
        self.sent.append(notice)

    def keys(self) -> list[str]:
        return [n.key for n in self.sent]

    def to(self, person: str) -> list[Notice]:
        return [n for n in self.sent if n.person == person]


SAMPLE_PEOPLE: tuple[PersonSettings, ...] = (
    PersonSettings("wang", "Wang Wei", Role.OFFICER, supervisor="zhao", phone="+8613800000001"),
    PersonSettings("li", "Li Na", Role.OFFICER, supervisor="zhao", phone="+8613800000002"),
    PersonSettings("chen", "Chen Jie", Role.OFFICER, supervisor="sun", phone="+8613800000003"),
    PersonSettings("zhao", "Zhao Lei", Role.SUPERVISOR, phone="+8613800000010"),
    PersonSettings("sun", "Sun Min", Role.SUPERVISOR, phone="+8613800000011"),
    PersonSettings("zhou", "Zhou Yan", Role.CLERK, phone="+8613800000020"),
    PersonSettings("wu", "Wu Hao", Role.CLERK, phone="+8613800000021"),
    PersonSettings("legal1", "District legal section", Role.LEGAL, phone="+8613800000030"),
    PersonSettings("audit1", "Auditor", Role.AUDITOR),
)


def sample_directory() -> Directory:
    """A small station: three officers, two supervisors, two clerks, legal, an auditor."""
    return build_directory(SAMPLE_PEOPLE)


def photo(tag: str) -> PhotoRef:
    """A photo reference for some bytes named by ``tag`` (a real SHA-256 of those bytes)."""
    data = f"photo:{tag}".encode()
    return PhotoRef(hashlib.sha256(data).hexdigest(), len(data))
