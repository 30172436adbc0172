"""Plain settings for the custody rules and the people list.

The daemon composes these from its pydantic config (``[rules]``, ``[station] timezone``,
``[[people]]``); the field names are the config keys. :meth:`RulesSettings.check` refuses
inconsistent values with a :class:`~custody.errors.ConfigError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from custody.domain.people import Directory, Person, Role
from custody.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

#: What the clerk signs at every handover (each must be confirmed true).
DEFAULT_CHECKLIST: tuple[str, ...] = (
    "seizure_authorised",  # a seizure decision or warrant exists
    "seizure_list_signed",  # the owner/holder signed the seizure list, or refusal noted
    "two_officers_present",  # the seizure was carried out by at least two officers
    "items_sealed_and_labelled",  # every item sealed and carrying its label
)


def parse_hhmm(text: str) -> tuple[int, int]:
    """``"18:00"`` -> ``(18, 0)``; anything else is a :class:`ConfigError`."""
    m = _HHMM.match(text)
    if m is None:
        raise ConfigError(f"expected a time HH:MM, got {text!r}")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class RulesSettings:
    """Deadlines and the escalation ladder (the ``[rules]`` section, plus the time zone).

    * handover: due ``handover_hours`` after seizure; the officer is reminded
      ``handover_remind_before_hours`` before, the supervisor told at the deadline, the legal
      section ``handover_legal_after_hours`` after it.
    * daily return: a checked-out item is due back at the return time of its working day
      (``return_times[weekday]``, else ``return_time``), local time. A working day starts at
      ``day_start``: a return time earlier than ``day_start`` belongs to the night after
      (e.g. ``fri = "02:00"`` with ``day_start = "06:00"`` is Saturday 02:00), so night shifts
      past midnight work. Officer reminded ``return_remind_before_minutes`` before, supervisor
      ``return_supervisor_after_minutes`` after, legal ``return_legal_after_hours`` after.
    """

    timezone: str = "Asia/Shanghai"
    handover_hours: int = 24
    handover_remind_before_hours: int = 4
    handover_legal_after_hours: int = 24
    return_time: str = "18:00"
    return_times: Mapping[str, str] = field(default_factory=dict)
    day_start: str = "06:00"
    return_remind_before_minutes: int = 30
    return_supervisor_after_minutes: int = 60
    return_legal_after_hours: int = 24
    catalogue: Path | None = None
    lawfulness_checklist: tuple[str, ...] = DEFAULT_CHECKLIST

    def check(self) -> RulesSettings:
        """Validate every field; returns self so it can be chained."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"unknown time zone {self.timezone!r}") from None
        if self.handover_hours < 1:
            raise ConfigError("handover_hours must be at least 1")
        for name in (
            "handover_remind_before_hours",
            "handover_legal_after_hours",
            "return_remind_before_minutes",
            "return_supervisor_after_minutes",
            "return_legal_after_hours",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative")
        parse_hhmm(self.return_time)
        parse_hhmm(self.day_start)
        for day, hhmm in self.return_times.items():
            if day not in WEEKDAYS:
                raise ConfigError(f"return_times: unknown weekday {day!r}")
            parse_hhmm(hhmm)
        if not self.lawfulness_checklist:
            raise ConfigError("lawfulness_checklist must list at least one item")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The station's time zone."""
        return ZoneInfo(self.timezone)

    def return_time_for(self, weekday: int) -> tuple[int, int]:
        """The return time of a working day (``weekday`` 0 = Monday)."""
        return parse_hhmm(self.return_times.get(WEEKDAYS[weekday], self.return_time))


@dataclass(frozen=True)
class PersonSettings:
    """One ``[[people]]`` entry, as the custody core needs it."""

    id: str
    name: str
    role: str
    supervisor: str | None = None
    phone: str = ""

    def to_person(self) -> Person:
        try:
            role = Role(self.role)
        except ValueError:
            raise ConfigError(f"person {self.id!r}: unknown role {self.role!r}") from None
        return Person(self.id, self.name, role, self.supervisor, self.phone)


def build_directory(people: Iterable[PersonSettings]) -> Directory:
    """The checked :class:`~custody.domain.people.Directory` for a people list."""
    return Directory(p.to_person() for p in people)
