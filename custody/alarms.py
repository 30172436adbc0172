"""Alarms: the ONE definition of an ``alarm.*`` entry's body, and an alarm as the state sees it.

An alarm is a ledger entry of kind ``alarm.<kind>`` written when something happened at the
cabinets that no custody step explains (a forced door, an item taken without a check-out,
a file put in the wrong compartment, a badge locked after wrong PINs, ...). It stays *open*
until a clerk acknowledges it with an ``alarm.acknowledged`` entry naming its seq.

Every writer builds the body with :func:`alarm_body` (the daemon's alarm desk, the step
service, the kiosk); the projection reads it back with :func:`alarm_from_entry`. Body
fields (contract, docs/custody.md "Alarms"):

``cabinet``, ``compartment`` (``cabinet/n``, or null for a cabinet-wide alarm), ``items``
(the labels the alarm is about: a list, possibly empty), ``event`` (what raised it: the
poller's event kind, or the step that found it), ``detail`` (free text for people), plus
the kind's own fields (``badge``, ``person``, ``attempts`` for a PIN lockout; ``flow``,
``step``, ``opened`` for a wrong compartment).

One kind has a body of its own: ``alarm.notice_failed``, written by the SMS notifier
(``notify/``) when it gives a notice up, carries ``key`` (the notice), ``role`` and
``person`` (who was not told) and ``reason``; :func:`alarm_from_entry` reads ``reason`` as
its detail and ``role``/``person`` as who was not told.

Entries written before the body had one definition carry ``item`` (one label, or several
joined with commas) instead of ``items``; :func:`alarm_from_entry` reads both.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ALARM_PREFIX = "alarm."
#: a clerk's acknowledgement: ``{"alarm": <seq>, "alarm_kind": <kind>, "where": <text>}``
ALARM_ACKNOWLEDGED = "alarm.acknowledged"
#: a cabinet answering polls again after an ``alarm.cabinet_offline`` (recorded, no alarm)
CABINET_ONLINE = "cabinet.online"

#: the fields every alarm body has (the kind's own fields come on top)
BODY_FIELDS = ("cabinet", "compartment", "items", "event", "detail")


class AlarmKind(enum.StrEnum):
    """What an alarm is about; the entry kind is ``alarm.<value>``."""

    DOOR_FORCED = "door_forced"  # a door opened without a release the system commanded
    ITEM_REMOVED = "item_removed"  # a sensor went empty with no step working there
    ITEM_PLACED = "item_placed"  # a sensor went occupied with no step working there
    DOOR_LEFT_OPEN = "door_left_open"  # a door open longer than allowed
    CABINET_OFFLINE = "cabinet_offline"  # a cabinet stopped answering polls
    WRONG_COMPARTMENT = "wrong_compartment"  # a returned file is not where it was sent
    PIN_LOCKOUT = "pin_lockout"  # a badge locked after too many wrong PINs
    # an SMS notice given up for good (notify/): its person was not told; the body is
    # the notifier's own (``key``, ``role``, ``person``, ``reason``), not alarm_body's
    NOTICE_FAILED = "notice_failed"
    CLOCK_JUMP = "clock_jump"  # the station's clock jumped (custody.clockwatch)

    @property
    def entry_kind(self) -> str:
        """The ledger entry kind, ``alarm.<kind>``."""
        return ALARM_PREFIX + self.value


#: What the clerk should do about each kind (English; screens translate by kind).
WHAT_TO_DO: Mapping[str, str] = {
    AlarmKind.DOOR_FORCED: "Go to the compartment, check its contents against the ledger "
    "and close the door; report the forced door to the duty supervisor.",
    AlarmKind.ITEM_REMOVED: "Find out who took the item: nothing was checked out. Check the "
    "compartment and the camera photos, then acknowledge.",
    AlarmKind.ITEM_PLACED: "Something was put in a compartment without a step: open it with "
    "a supervisor, identify the item and store it properly.",
    AlarmKind.DOOR_LEFT_OPEN: "Close the compartment door and check its contents.",
    AlarmKind.CABINET_OFFLINE: "Check the cabinet's power and cable; nothing opens there "
    "until it answers again.",
    AlarmKind.WRONG_COMPARTMENT: "The file is in another compartment: open the compartments "
    "opened for the return, find the file and store it where the ledger says.",
    AlarmKind.PIN_LOCKOUT: "Check the person's identity before the badge is used again.",
    AlarmKind.NOTICE_FAILED: "The person was not told by SMS: tell them another way (phone, "
    "in person), check their number in the station config, then acknowledge.",
    AlarmKind.CLOCK_JUMP: "Check the station's clock and its time source (NTP, the RTC "
    "battery); entry times around the jump are the wrong clock's, their order (seq) stands.",
}
OTHER_TO_DO = "Check the cabinet and acknowledge the alarm."


def alarm_entry_kind(kind: AlarmKind | str) -> str:
    """``door_forced`` -> ``alarm.door_forced`` (an ``alarm.*`` kind is returned as is)."""
    text = str(kind)
    return text if text.startswith(ALARM_PREFIX) else ALARM_PREFIX + text


def is_alarm(entry_kind: str) -> bool:
    """Whether a ledger entry kind raises an alarm (``alarm.*`` but not an acknowledgement)."""
    return entry_kind.startswith(ALARM_PREFIX) and entry_kind != ALARM_ACKNOWLEDGED


def alarm_body(
    *,
    compartment: str | None = None,
    cabinet: str | None = None,
    items: Iterable[str] = (),
    event: str = "",
    detail: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """The body of an ``alarm.*`` entry (the one definition; see the module docstring).

    ``cabinet`` defaults to the compartment's cabinet; ``items`` are labels (a list in the
    entry, sorted, no duplicates). ``extra`` are the kind's own fields and may not reuse a
    common field's name (they are this function's own keywords).
    """
    if cabinet is None and compartment is not None:
        cabinet = compartment.rpartition("/")[0] or None
    return {
        "cabinet": cabinet,
        "compartment": compartment,
        "items": sorted({str(x) for x in items if x}),
        "event": event,
        "detail": detail,
        **extra,
    }


def acknowledgement_body(alarm: AlarmView) -> dict[str, Any]:
    """The body of the ``alarm.acknowledged`` entry for an open alarm (actor: the clerk)."""
    return {"alarm": alarm.seq, "alarm_kind": alarm.kind, "where": alarm.where}


@dataclass(frozen=True)
class AlarmView:
    """One alarm as the custody state holds it (open until acknowledged).

    ``kind`` is without the ``alarm.`` prefix; ``where`` is what a screen names the place
    by: the compartment, else the cabinet, else the badge (a PIN lockout); empty for a
    failed notice, which is about ``person`` (the kiosk names them, ``terminal.pages``).
    """

    seq: int
    kind: str
    at: datetime
    actor: str
    cabinet: str | None
    compartment: str | None
    items: tuple[str, ...]
    event: str
    detail: str
    badge: str | None = None
    person: str | None = None
    role: str | None = None  # the person's role (a failed notice: who was not told)

    @property
    def where(self) -> str:
        return self.compartment or self.cabinet or self.badge or ""

    @property
    def what_to_do(self) -> str:
        """What the clerk should do about it (English)."""
        return WHAT_TO_DO.get(self.kind, OTHER_TO_DO)


def _items_of(body: Mapping[str, Any]) -> tuple[str, ...]:
    raw = body.get("items")
    if isinstance(raw, list):
        return tuple(str(x) for x in raw if x)
    legacy = body.get("item")  # before the one definition: one label, or "A,B" joined
    if isinstance(legacy, str) and legacy:
        return tuple(x.strip() for x in legacy.split(",") if x.strip())
    return ()


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def alarm_from_entry(seq: int, at: datetime, body: Mapping[str, Any]) -> AlarmView:
    """The alarm an ``alarm.*`` entry raised (bodies of every version)."""
    compartment = _text(body.get("compartment"))
    cabinet = _text(body.get("cabinet"))
    if cabinet is None and compartment is not None:
        cabinet = compartment.rpartition("/")[0] or None
    return AlarmView(
        seq=seq,
        kind=str(body["kind"])[len(ALARM_PREFIX):],
        at=at,
        actor=str(body.get("actor", "")),
        cabinet=cabinet,
        compartment=compartment,
        items=_items_of(body),
        event=str(body.get("event") or body.get("step") or ""),
        detail=str(body.get("detail") or body.get("message") or body.get("reason") or ""),
        badge=_text(body.get("badge")),
        person=_text(body.get("person")),
        role=_text(body.get("role")),
    )
