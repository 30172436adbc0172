"""What the screens ask of the custody state, answered from the projection alone.

Every screen (the kiosk, the console, the demo, the API) asks these functions instead of
walking the ledger or the projection with rules of its own, so each answer has one
definition. They are pure: they read a :class:`~custody.projection.Projection` and return
new lists of its (read-only) views. Over a live :class:`~custody.services.CustodyService`
call them holding ``svc.lock`` (after ``svc.catch_up()`` when other writers append too).

- :func:`pending_handovers`: cases with items awaiting handover, oldest deadline first;
- :func:`to_store`: items handed over or returned, not stored yet, by case;
- :func:`return_place`: **where a returned file goes back, and why** (the rule below);
- :func:`officer_day`: an officer's files today (overdue with their escalation step, out,
  to take);
- :func:`handover_scan`: what a label scanned at a case's handover is (on the manifest,
  already handed over, another case's, unknown);
- :func:`open_alarms`, :func:`alarms_after`: alarms nobody has acknowledged;
- :func:`ladder_step`: how far one deadline's escalation ladder has gone;
- :func:`case_compartments`: the compartments holding a case's items;
- :func:`compartments_by_cabinet`, :func:`alarms_by_place`: what the ledger puts in each
  compartment and which open alarms are about it, grouped for a cabinet screen.

The return rule (docs/custody.md "Where a returned file goes"), in order:

1. **where it was**: the compartment it was last stored in, unless that compartment now
   holds another case's items;
2. **with its case**: else a compartment holding other items of its case (the one holding
   the most; ties in compartment order);
3. **a free compartment**: else the first of the caller's free candidates the ledger puts
   nothing in (the caller knows the sensors and the claims).

Compartments in ``exclude`` (reserved, claimed by another step, a sensor that disagrees
with the ledger) are skipped at every stage, so a caller that finds the chosen one
physically unusable asks again with it excluded and gets the next answer of the same rule.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from custody.alarms import AlarmView
from custody.domain.errors import NotCheckedOutError, UnknownCaseError, UnknownItemError
from custody.domain.states import ItemState
from custody.projection import (
    CaseView,
    HandoverRecord,
    ItemView,
    LadderStep,
    Projection,
    matter_key,
)

#: the rules engine's built-in daily-return point (its matters are ``return:<label>:<seq>``)
RETURN_POINT = "return"
#: the rules engine's built-in 24-hour handover point
HANDOVER_POINT = "handover"


def compartment_order(name: str) -> tuple[str, int, str]:
    """Sort key for ``cabinet/n`` names: by cabinet, then by number (A/2 before A/10)."""
    cabinet, _, number = name.rpartition("/")
    return (cabinet, int(number), "") if number.isdigit() else (cabinet, -1, number)


@dataclass(frozen=True)
class CaseItems:
    """A case and the items of it a query is about."""

    case: CaseView
    items: tuple[ItemView, ...]


def _item(p: Projection, label: str) -> ItemView:
    item = p.items.get(label)
    if item is None:
        raise UnknownItemError(f"no item with label {label} has been registered")
    return item


# ---------------------------------------------------------------------- the clerk's desk


def pending_handovers(p: Projection) -> list[CaseItems]:
    """Cases with items awaiting handover (all their items, to show the whole manifest),
    the case with the earliest handover deadline of a waiting item first."""
    out: list[tuple[datetime, str, CaseItems]] = []
    for case in p.cases.values():
        items = tuple(p.items[lb] for lb in case.items)
        waiting = [i.handover_due for i in items if i.state is ItemState.REGISTERED]
        if waiting:
            out.append((min(waiting), case.case_id, CaseItems(case, items)))
    out.sort(key=lambda t: (t[0], t[1]))
    return [ci for _, _, ci in out]


def to_store(p: Projection) -> list[CaseItems]:
    """Cases with items handed over or returned and not stored yet (only those items),
    in case registration order, items by label."""
    out = []
    for case in p.cases.values():
        items = tuple(sorted(
            (p.items[lb] for lb in case.items
             if p.items[lb].state in (ItemState.HANDED_OVER, ItemState.RETURNED)),
            key=lambda i: i.label,
        ))
        if items:
            out.append(CaseItems(case, items))
    return out


def case_compartments(p: Projection, case_id: str) -> list[str]:
    """The compartments holding items of a case, in compartment order."""
    case = p.cases.get(case_id)
    if case is None:
        raise UnknownCaseError(f"no case {case_id!r} has been registered")
    found = {p.items[lb].compartment for lb in case.items} - {None}
    return sorted((c for c in found if c is not None), key=compartment_order)


class ScanStatus(enum.StrEnum):
    """What a label scanned at a case's handover is."""

    ON_MANIFEST = "on_manifest"  # an item of this case awaiting handover: tick it
    HANDED_OVER = "handed_over"  # an item of this case already handed over: not again
    OTHER_CASE = "other_case"  # another case's item: extra
    UNKNOWN = "unknown"  # no such item registered: extra


@dataclass(frozen=True)
class HandoverScan:
    """The verdict on one scanned label, with what a screen shows about it."""

    label: str
    status: ScanStatus
    item: ItemView | None
    #: for HANDED_OVER: the handover that took it (when, which clerk)
    handover: HandoverRecord | None = None

    @property
    def is_extra(self) -> bool:
        """Whether the label counts as an extra item of the handover."""
        return self.status in (ScanStatus.OTHER_CASE, ScanStatus.UNKNOWN)


def handover_scan(p: Projection, case_id: str, label: str) -> HandoverScan:
    """What a label scanned at ``case_id``'s handover is (the custody service refuses a
    handover listing an item of the case already handed over, so a screen must not list
    it as an extra: it says so instead)."""
    item = p.items.get(label)
    if item is None:
        return HandoverScan(label, ScanStatus.UNKNOWN, None)
    if item.case_id != case_id:
        return HandoverScan(label, ScanStatus.OTHER_CASE, item)
    if item.state is ItemState.REGISTERED:
        return HandoverScan(label, ScanStatus.ON_MANIFEST, item)
    return HandoverScan(label, ScanStatus.HANDED_OVER, item, handover_of(p, label))


def handover_of(p: Projection, label: str) -> HandoverRecord | None:
    """The handover that took an item over (None while it is registered)."""
    item = _item(p, label)
    for record in reversed(p.cases[item.case_id].handovers):
        if label in record.items:
            return record
    return None


# ---------------------------------------------------------------------- returns


class ReturnReason(enum.StrEnum):
    """Why a returned file goes to the compartment :func:`return_place` names."""

    WHERE_IT_WAS = "where_it_was"
    WITH_ITS_CASE = "with_its_case"
    FREE_COMPARTMENT = "free_compartment"


@dataclass(frozen=True)
class ReturnPlace:
    """Where a returned file goes back, and why (for the screen to tell the person).

    ``compartment`` is None only for FREE_COMPARTMENT when no free candidate fits (the
    station has no free compartment). ``previous`` is where the file was last stored;
    ``previous_case`` the case whose items are in it now when that made rule 1 fail.
    """

    label: str
    case_id: str
    compartment: str | None
    reason: ReturnReason
    previous: str | None
    previous_case: str | None = None

    @property
    def params(self) -> dict[str, str]:
        """The values a translated reason text needs."""
        return {
            "label": self.label, "case": self.case_id, "compartment": self.compartment or "",
            "previous": self.previous or "", "previous_case": self.previous_case or "",
        }

    @property
    def text(self) -> str:
        """The reason in English (screens translate ``reason`` with :attr:`params`)."""
        if self.reason is ReturnReason.WHERE_IT_WAS:
            return f"{self.label} goes back where it was taken from, {self.compartment}."
        why = (
            f"{self.previous} now holds case {self.previous_case}'s items"
            if self.previous_case else "its old compartment cannot be used"
        )
        if self.reason is ReturnReason.WITH_ITS_CASE:
            return (f"{self.label} goes to {self.compartment} with the rest of case "
                    f"{self.case_id}: {why}.")
        if self.compartment is None:
            return f"{self.label} needs a free compartment ({why}), and none is free."
        return (f"{self.label} goes to the free compartment {self.compartment}: {why} and "
                f"no compartment holds case {self.case_id}.")


def _holds_other_case(p: Projection, compartment: str, case_id: str) -> str | None:
    """The case (another than ``case_id``) whose items are in ``compartment``, if any."""
    for lb in sorted(p.compartments.get(compartment, ())):
        if p.items[lb].case_id != case_id:
            return p.items[lb].case_id
    return None


def return_place(
    p: Projection,
    label: str,
    *,
    exclude: Collection[str] = (),
    free: Iterable[str] = (),
) -> ReturnPlace:
    """Where a checked-out (or returned, not yet stored) file goes back, and why.

    See the module docstring for the rule; ``exclude`` are compartments not to use,
    ``free`` the caller's free compartments in its order of preference (only asked when
    neither of the first two stages finds one). Raises :class:`UnknownItemError`, or
    :class:`NotCheckedOutError` for an item that is neither out nor returned.
    """
    item = _item(p, label)
    if item.state not in (ItemState.CHECKED_OUT, ItemState.RETURNED):
        raise NotCheckedOutError(f"item {label} is {item.state.value}: it has no return place")
    previous = item.last_compartment
    blocked = None
    if previous is not None and previous not in exclude:
        blocked = _holds_other_case(p, previous, item.case_id)
        if blocked is None:
            return ReturnPlace(label, item.case_id, previous, ReturnReason.WHERE_IT_WAS,
                               previous)
    counts: dict[str, int] = {}
    for lb in p.cases[item.case_id].items:
        where = p.items[lb].compartment
        if where is not None and where not in exclude:
            counts[where] = counts.get(where, 0) + 1
    if counts:
        best = min(counts, key=lambda c: (-counts[c], compartment_order(c)))
        return ReturnPlace(label, item.case_id, best, ReturnReason.WITH_ITS_CASE, previous,
                           blocked)
    for candidate in free:
        if candidate not in exclude and not p.compartments.get(candidate):
            return ReturnPlace(label, item.case_id, candidate, ReturnReason.FREE_COMPARTMENT,
                               previous, blocked)
    return ReturnPlace(label, item.case_id, None, ReturnReason.FREE_COMPARTMENT, previous,
                       blocked)


# ---------------------------------------------------------------------- deadlines


def ladder_step(p: Projection, point: str, item: ItemView) -> LadderStep | None:
    """How far the ladder of ``point`` (``"return"``, ``"handover"``, a catalogue point id)
    has gone for the item's current state (None: no notice yet, or no such deadline)."""
    return p.ladder.get(matter_key(point, item.label, item.state_seq))


@dataclass(frozen=True)
class OutFile:
    """A file an officer has out: where it goes back and, when overdue, how far its
    return ladder has gone."""

    item: ItemView
    goes_back: ReturnPlace
    overdue: bool
    escalation: LadderStep | None


@dataclass(frozen=True)
class OfficerDay:
    """An officer's files today: overdue first, then the rest out, then those to take."""

    overdue: tuple[OutFile, ...]
    out: tuple[OutFile, ...]
    to_take: tuple[ItemView, ...]  # stored case files of the officer's cases


def officer_day(p: Projection, officer: str, now: datetime) -> OfficerDay:
    """The officer's files: those out (overdue ones on top, with their return ladder's
    step), by due time then label; and the stored case files of the officer's cases to
    take (exhibits stay in the centre), by label."""
    out_items = sorted(
        (i for i in p.items.values()
         if i.state is ItemState.CHECKED_OUT and i.holder == officer),
        key=lambda i: (i.due_back or now, i.label),
    )
    overdue: list[OutFile] = []
    out: list[OutFile] = []
    for item in out_items:
        late = item.due_back is not None and item.due_back <= now
        row = OutFile(item, return_place(p, item.label), late,
                      ladder_step(p, RETURN_POINT, item))
        (overdue if late else out).append(row)
    to_take = sorted(
        (p.items[lb] for case in p.cases.values() if officer in case.officers
         for lb in case.items
         if p.items[lb].state is ItemState.STORED and p.items[lb].kind == "case_file"),
        key=lambda i: i.label,
    )
    return OfficerDay(tuple(overdue), tuple(out), tuple(to_take))


# ---------------------------------------------------------------------- alarms


def open_alarms(p: Projection) -> list[AlarmView]:
    """Alarms nobody has acknowledged, oldest first."""
    return sorted(p.alarms.values(), key=lambda a: a.seq)


def alarms_after(p: Projection, seq: int) -> list[AlarmView]:
    """Open alarms raised by entries after ``seq`` (what a screen has not shown yet)."""
    return [a for a in open_alarms(p) if a.seq > seq]


def alarms_by_place(p: Projection) -> dict[str, list[int]]:
    """Seqs of the open alarms about each compartment (``A/3``) and each whole cabinet
    (``A``: alarms with no compartment), oldest first. Alarms about no cabinet (a PIN
    lockout) are in neither."""
    out: dict[str, list[int]] = {}
    for alarm in open_alarms(p):
        place = alarm.compartment or alarm.cabinet
        if place:
            out.setdefault(place, []).append(alarm.seq)
    return out


def compartments_by_cabinet(p: Projection) -> dict[str, dict[str, set[str]]]:
    """Cabinet id -> compartment -> the labels the ledger puts there (the projection's own
    sets: copy them before they leave the reading thread)."""
    grouped: dict[str, dict[str, set[str]]] = {}
    for compartment, labels in p.compartments.items():
        grouped.setdefault(compartment.rpartition("/")[0], {})[compartment] = labels
    return grouped
