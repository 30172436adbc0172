"""Plain settings of the custody core and the kiosk: the config's ``[rules]``, ``[[people]]``
and ``[terminal]`` sections, each defined once, here.

Each class is a frozen dataclass whose fields *are* the section's keys, with their defaults;
its ``__post_init__`` checks every value and raises :class:`~custody.errors.SettingError`
(a :class:`ValueError` naming the key). The daemon's config loader (:mod:`lockerd.config`)
validates a TOML file straight into these classes with pydantic, which converts types,
refuses unknown keys, and places a refusal at its file and line; code that builds one
directly (tests, the demo) gets the same checks. The core itself never imports pydantic.

The small checks the sections share (time zone, ``HH:MM``, ids, ranges) live here too, so
the config's other sections call them instead of repeating them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from custody.domain.languages import DEFAULT_LANGUAGE, Language
from custody.domain.people import Directory, Person
from custody.domain.pins import PIN_HASH_SCHEMES
from custody.domain.roles import STAFF_ROLES, Role, parse_role
from custody.errors import ConfigError, SettingError

DEFAULT_TIMEZONE = "Asia/Shanghai"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

#: What the clerk signs at every handover (each must be confirmed true).
DEFAULT_CHECKLIST: tuple[str, ...] = (
    "seizure_authorised",  # a seizure decision or warrant exists
    "seizure_list_signed",  # the owner/holder signed the seizure list, or refusal noted
    "two_officers_present",  # the seizure was carried out by at least two officers
    "items_sealed_and_labelled",  # every item sealed and carrying its label
)


# --------------------------------------------------------------------------- shared checks


def parse_hhmm(text: str, key: str = "time") -> tuple[int, int]:
    """``"18:00"`` -> ``(18, 0)``; anything else is a :class:`SettingError` on ``key``."""
    m = _HHMM.match(text) if isinstance(text, str) else None
    if m is None:
        raise SettingError(key, f"expected a time HH:MM, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def check_zone(text: str, key: str = "timezone") -> str:
    """``text`` if it names an IANA time zone; else a :class:`SettingError` on ``key``."""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise SettingError(key, f"unknown time zone {text!r}") from None
    return text


def check_id(text: str, key: str = "id") -> str:
    """``text`` if it is a usable id (letters, digits, ``_ . -``; up to 64); else refused."""
    if not isinstance(text, str) or not _ID.match(text):
        raise SettingError(
            key, f"{text!r} is not an id (1-64 letters, digits, '_', '.', '-'; a letter or "
            "digit first)"
        )
    return text


def check_range(value: float, key: str, low: float | None = None,
                high: float | None = None) -> None:
    """Refuse ``value`` outside ``low..high`` (either bound may be absent)."""
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None and low == 0:
            raise SettingError(key, f"must not be negative, got {value:g}")
        if high is None:
            raise SettingError(key, f"must be at least {low:g}, got {value:g}")
        if low is None:
            raise SettingError(key, f"must be at most {high:g}, got {value:g}")
        raise SettingError(key, f"must be {low:g} to {high:g}, got {value:g}")


#: An E.164 phone number: +, a country code, at most 15 digits in all.
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _fix(obj: object, name: str, value: object) -> None:
    # frozen dataclasses: __post_init__ may still normalise a field once, before anyone sees it
    object.__setattr__(obj, name, value)


# --------------------------------------------------------------------------- [rules]


@dataclass(frozen=True)
class RulesSettings:
    """Deadlines and the escalation ladder: the ``[rules]`` section (its ``timezone`` is the
    config's ``[station] timezone``).

    * handover: due ``handover_hours`` after seizure; the officer is reminded
      ``handover_remind_before_hours`` before, the supervisor told at the deadline, the legal
      section ``handover_legal_after_hours`` after it.
    * daily return: a checked-out item is due back at the return time of its working day
      (``return_times[weekday]``, else ``return_time``), local time. A working day starts at
      ``day_start``: a return time earlier than ``day_start`` belongs to the night after
      (e.g. ``fri = "02:00"`` with ``day_start = "06:00"`` is Saturday 02:00), so night shifts
      past midnight work. Officer reminded ``return_remind_before_minutes`` before, supervisor
      ``return_supervisor_after_minutes`` after, legal ``return_legal_after_hours`` after.
    * ``lawfulness_checklist``: what a clerk confirms at every handover (empty: the default).
    """

    timezone: str = DEFAULT_TIMEZONE
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
    leaving: Path | None = None  # the kinds of leaving (custody.rules.leaving); None: shipped
    lawfulness_checklist: tuple[str, ...] = DEFAULT_CHECKLIST

    def __post_init__(self) -> None:
        check_zone(self.timezone)
        check_range(self.handover_hours, "handover_hours", 1, 24 * 14)
        for name in (
            "handover_remind_before_hours",
            "handover_legal_after_hours",
            "return_remind_before_minutes",
            "return_supervisor_after_minutes",
            "return_legal_after_hours",
        ):
            check_range(getattr(self, name), name, 0)
        parse_hhmm(self.return_time, "return_time")
        parse_hhmm(self.day_start, "day_start")
        for day, hhmm in self.return_times.items():
            if day not in WEEKDAYS:
                raise SettingError(
                    f"return_times.{day}", f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})"
                )
            parse_hhmm(hhmm, f"return_times.{day}")
        if not self.lawfulness_checklist:
            _fix(self, "lawfulness_checklist", DEFAULT_CHECKLIST)
        else:
            _fix(self, "lawfulness_checklist", tuple(self.lawfulness_checklist))

    def check(self) -> RulesSettings:
        """The settings (checked when they were made); kept so callers can chain it."""
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The station's time zone."""
        return ZoneInfo(self.timezone)

    def return_time_for(self, weekday: int) -> tuple[int, int]:
        """The return time of a working day (``weekday`` 0 = Monday)."""
        return parse_hhmm(self.return_times.get(WEEKDAYS[weekday], self.return_time))


# --------------------------------------------------------------------------- [[people]]


@dataclass(frozen=True)
class PersonSettings:
    """One ``[[people]]`` entry: a member of staff as the station knows them.

    ``badge`` and ``pin_hash`` (``locker config hash-pin``) are for signing in at the
    kiosk and the console; ``supervisor`` names an officer's supervisor; ``phone`` (E.164,
    ``+8613800138000``) is where SMS notices go; ``language`` the language of their SMS
    (``[sms] language`` when unset)."""

    id: str
    name: str
    role: Role
    badge: str = ""
    pin_hash: str = ""
    supervisor: str | None = None
    phone: str = ""
    language: Language | None = None

    def __post_init__(self) -> None:
        check_id(self.id)
        if self.phone and not E164.match(self.phone):
            raise SettingError("phone", f"expected an E.164 number like +8613800138000, got "
                                        f"{self.phone!r}")
        if self.language is not None:
            try:
                _fix(self, "language", Language(self.language))
            except ValueError as exc:
                raise SettingError("language", str(exc)) from None
        try:
            _fix(self, "role", parse_role(str(self.role), STAFF_ROLES))
        except ValueError as exc:
            raise SettingError("role", str(exc)) from None
        if self.pin_hash and not self.pin_hash.startswith(PIN_HASH_SCHEMES):
            raise SettingError(
                "pin_hash", "pin_hash must come from `locker config hash-pin` (scrypt$...)"
            )

    def to_person(self) -> Person:
        """The custody core's :class:`~custody.domain.people.Person`."""
        return Person(self.id, self.name, self.role, self.supervisor, self.phone)


def build_directory(people: Iterable[PersonSettings]) -> Directory:
    """The checked :class:`~custody.domain.people.Directory` for a people list."""
    return Directory(p.to_person() for p in people)


def check_people(people: Iterable[PersonSettings]) -> Directory:
    """Check a whole people list: unique badges, every ``supervisor`` a supervisor, and what
    the :class:`~custody.domain.people.Directory` checks (unique ids, every officer
    supervised). Returns the directory; a :class:`ConfigError` names the first problem."""
    listed = list(people)
    badges = [p.badge for p in listed if p.badge]
    dup = sorted({b for b in badges if badges.count(b) > 1})
    if dup:
        raise ConfigError(f"people: duplicate badge(s) {dup}")
    roles = {p.id: p.role for p in listed}
    for p in listed:
        if p.supervisor is not None and roles.get(p.supervisor) is not Role.SUPERVISOR:
            raise ConfigError(f"people: {p.id}'s supervisor {p.supervisor!r} is not a supervisor")
    return build_directory(listed)


# --------------------------------------------------------------------------- [terminal]


@dataclass(frozen=True)
class TerminalSettings:
    """The steps at the cabinets, the kiosk's and the console's: the ``[terminal]`` section.

    Door timeouts bound each physical step; ``pin_max_attempts`` wrong PINs lock a badge for
    ``pin_lockout_s``; the kiosk locks itself after ``idle_lock_s`` without a touch, speaks
    ``language`` until a person picks another, polls the station's status every
    ``status_poll_ms`` and refreshes the camera view every ``camera_refresh_ms``; ``kiosk``
    serves its screens with the API."""

    door_open_timeout_s: int = 60
    door_close_timeout_s: int = 120
    pin_max_attempts: int = 5
    pin_lockout_s: int = 300
    idle_lock_s: int = 90
    language: Language = DEFAULT_LANGUAGE
    kiosk: bool = True
    status_poll_ms: int = 1000
    camera_refresh_ms: int = 800

    def __post_init__(self) -> None:
        for name in ("door_open_timeout_s", "door_close_timeout_s", "pin_max_attempts",
                     "pin_lockout_s"):
            check_range(getattr(self, name), name, 1)
        check_range(self.idle_lock_s, "idle_lock_s", 5)
        check_range(self.status_poll_ms, "status_poll_ms", 100, 60_000)
        check_range(self.camera_refresh_ms, "camera_refresh_ms", 100, 60_000)
        try:
            _fix(self, "language", Language(self.language))
        except ValueError:
            raise SettingError(
                "language", f"unknown language {self.language!r} (use {', '.join(Language)})"
            ) from None
