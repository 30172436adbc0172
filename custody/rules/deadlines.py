"""Deadlines in the station's time zone: the 24-hour handover and the daily return.

All arithmetic is done on aware datetimes via :mod:`zoneinfo`; results are UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from custody.domain.errors import InvalidInputError
from custody.settings import RulesSettings, parse_hhmm


def handover_due(seized_at: datetime, settings: RulesSettings) -> datetime:
    """The handover deadline: ``handover_hours`` after the seizure (absolute time)."""
    return (seized_at + timedelta(hours=settings.handover_hours)).astimezone(UTC)


class ReturnCalendar:
    """When a checked-out item is due back, from the station's return times.

    A *working day* ``d`` runs from ``day_start`` on ``d`` to ``day_start`` on ``d+1`` (local
    time). Its return deadline is its return time on ``d``, or on ``d+1`` when that time is
    earlier than ``day_start`` (a night shift ending after midnight). An item checked out at
    ``t`` is due at the earliest working-day deadline strictly after ``t``: checked out after
    the day's return time, it is due at the next working day's.
    """

    def __init__(self, settings: RulesSettings) -> None:
        self._zone = settings.zone
        self._day_start = parse_hhmm(settings.day_start)
        self._times = [settings.return_time_for(wd) for wd in range(7)]

    def deadline_of_working_day(self, day: date) -> datetime:
        """The return deadline (UTC) of working day ``day``."""
        hh, mm = self._times[day.weekday()]
        on = day + timedelta(days=1) if (hh, mm) < self._day_start else day
        local = datetime.combine(on, time(hh, mm), tzinfo=self._zone)
        return local.astimezone(UTC)

    def working_day(self, moment: datetime) -> date:
        """The working day a moment belongs to (before ``day_start`` = the previous day)."""
        local = moment.astimezone(self._zone)
        if (local.hour, local.minute) < self._day_start:
            return local.date() - timedelta(days=1)
        return local.date()

    def due_back(self, checked_out_at: datetime) -> datetime:
        """The return deadline (UTC) of an item checked out at ``checked_out_at``."""
        if checked_out_at.tzinfo is None:
            raise InvalidInputError("check-out time has no time zone")
        start = self.working_day(checked_out_at) - timedelta(days=1)
        best: datetime | None = None
        for offset in range(9):
            candidate = self.deadline_of_working_day(start + timedelta(days=offset))
            if candidate > checked_out_at and (best is None or candidate < best):
                best = candidate
        assert best is not None  # every working day has a deadline, so one follows t
        return best
