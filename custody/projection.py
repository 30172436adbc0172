"""The custody state, rebuilt from the ledger's entries: the ONE fold of the ledger.

:meth:`Projection.rebuild` folds every entry through :meth:`Projection.apply`; the live
services call the same :meth:`Projection.apply` on each entry they append, so the live state
and a rebuild from the ledger alone are equal by construction (the stateful test checks it).
Entries of kinds this module does not know (the ledger's own, other packages') are skipped.

The state: cases and items (with each item's last compartment), leave requests and holds
(:mod:`custody.leaving`), notices, each deadline
ladder's highest step notified (:attr:`Projection.ladder`), open alarms
(:attr:`Projection.alarms`, raised by ``alarm.*`` entries and closed by
``alarm.acknowledged``), compartments and reconciliations. What the screens ask of it is
answered by :mod:`custody.queries`; saving and restoring it is :mod:`custody.projection_state`.

The views are plain dataclasses; treat them as read-only (copy before changing anything).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody.alarms import ALARM_ACKNOWLEDGED, AlarmView, alarm_from_entry, is_alarm
from custody.delivery import (
    DELIVERY_KINDS,
    DeliveryRecord,
    fold_delivery,
)
from custody.domain.people import Complainant
from custody.domain.states import ItemState
from custody.domain.values import parse_utc
from custody.errors import LockerError
from custody.label_prints import LABEL_PRINTED
from custody.leaving import (
    HOLD_KINDS,
    LEAVE_CARRIED_OUT,
    LEAVE_KINDS,
    LEAVE_REQUESTED,
    LEAVE_RETURNED,
    HoldRecord,
    LeaveRecord,
    fold_hold,
    fold_leave,
)
from custody.ports import PhotoRef
from custody.stages import CASE_STAGE, StageRecord, stage_from_body

# Entry kinds (contract: documented in docs/custody.md).
CASE_REGISTERED = "case.registered"
CASE_ITEMS_ADDED = "case.items_added"
CASE_HANDED_OVER = "case.handed_over"
ITEM_STORED = "item.stored"
ITEM_CHECKED_OUT = "item.checked_out"
ITEM_RETURNED = "item.returned"
ITEM_DISPOSED = "item.disposed"
NOTICE_SENT = "notice.sent"
NOTICE_ACKNOWLEDGED = "notice.acknowledged"
RECONCILIATION = "reconciliation"

KINDS = (
    CASE_REGISTERED,
    CASE_ITEMS_ADDED,
    CASE_HANDED_OVER,
    ITEM_STORED,
    ITEM_CHECKED_OUT,
    ITEM_RETURNED,
    ITEM_DISPOSED,
    NOTICE_SENT,
    NOTICE_ACKNOWLEDGED,
    RECONCILIATION,
    CASE_STAGE,
    *DELIVERY_KINDS,
    LABEL_PRINTED,
    *LEAVE_KINDS,
    *HOLD_KINDS,
)


class ProjectionError(LockerError):
    """Entries were folded out of order (a projection must see every entry, in order)."""


class ProjectionStateError(ProjectionError):
    """A saved projection state cannot be restored (another format, or damaged)."""


@dataclass(slots=True)
class ItemView:
    """One case file or exhibit and where it is in its custody."""

    label: str
    case_id: str
    kind: str
    category: str
    description: str
    quantity: int
    seized_from: str
    seized_at: datetime
    seizing_officer: str
    handover_due: datetime
    registered_seq: int
    state: ItemState
    state_seq: int  # the entry that put the item into its current state
    state_since: datetime
    compartment: str | None = None  # where it is, while stored
    holder: str | None = None  # the officer, while checked out
    due_back: datetime | None = None  # while checked out
    clerk: str | None = None  # the clerk of the last handover or storage
    disposal: str | None = None
    approved_by: str | None = None
    history: list[int] = field(default_factory=list)  # seqs of every entry about the item
    #: the compartment it was last stored in (kept while it is out: where it came from)
    last_compartment: str | None = None
    #: the leave request (its seq) the item is out on, while ``out_on_leave``
    leave: int | None = None


@dataclass(frozen=True)
class HandoverRecord:
    """One handover of (some of) a case's items, with the clerk's check."""

    seq: int
    at: datetime
    clerk: str
    items: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    reason: str
    photos: tuple[PhotoRef, ...]

    @property
    def has_discrepancies(self) -> bool:
        return bool(self.missing or self.extra)


@dataclass(slots=True)
class CaseView:
    """A case: its officers, complainant, items and handovers."""

    case_id: str
    title: str
    officer: str
    officers: tuple[str, ...]
    complainant: Complainant | None
    registered_at: datetime
    registered_seq: int
    items: list[str] = field(default_factory=list)
    handovers: list[HandoverRecord] = field(default_factory=list)
    #: the recorded stages (``case.stage`` entries), in ledger order; the last is current
    stages: list[StageRecord] = field(default_factory=list)

    @property
    def stage(self) -> StageRecord | None:
        """The latest recorded stage, if any."""
        return self.stages[-1] if self.stages else None


@dataclass(slots=True)
class NoticeRecord:
    """A notice that went out (who was told what, when) and its acknowledgement."""

    key: str
    role: str
    person: str
    subject: str
    text: str
    refs: dict[str, str]
    seq: int
    at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_seq: int | None = None


@dataclass(frozen=True)
class LadderStep:
    """How far one deadline's escalation ladder has gone: its highest step notified.

    ``matter`` is the rules engine's matter key ``<point>:<label>:<seq>``; ``step`` counts
    from 1; ``key``, ``role`` and ``at`` are those of the latest notice of that step.
    """

    matter: str
    step: int
    role: str
    key: str
    at: datetime


def matter_key(point: str, label: str, state_seq: int) -> str:
    """A deadline's id (the rules engine's matter): ``<point>:<label>:<seq of the entry that
    put the item in the watched state>``, so a second check-out starts a fresh ladder."""
    return f"{point}:{label}:{state_seq}"


def ladder_step_of(key: str, refs: Mapping[str, Any]) -> tuple[str, int] | None:
    """(matter, step) of a ladder notice, None for any other notice.

    A ladder notice's key is ``<matter>:<step>:<person>`` with the matter
    ``<point>:<label>:<seq>`` (no part but the person can hold a colon), and its refs carry
    the same ``step``.
    """
    step = refs.get("step")
    if not isinstance(step, str) or not step.isdigit():
        return None
    parts = key.split(":", 4)
    if len(parts) != 5 or parts[3] != step:
        return None
    return ":".join(parts[:3]), int(step)


@dataclass(frozen=True)
class ReconciliationRecord:
    """A daily reconciliation's findings."""

    seq: int
    at: datetime
    day: str
    checked_out_not_back: tuple[str, ...]
    registered_not_handed_over: tuple[str, ...]
    stored_but_empty: tuple[tuple[str, str], ...]  # (label, compartment)
    occupancy_known: bool

    @property
    def clean(self) -> bool:
        return not (
            self.checked_out_not_back or self.registered_not_handed_over or self.stored_but_empty
        )


def _photos(body: Mapping[str, Any]) -> tuple[PhotoRef, ...]:
    return tuple(PhotoRef(p["sha256"], p["bytes"]) for p in body.get("photos", ()))


@dataclass
class Projection:
    """Cases, items, notices, ladders, alarms and reconciliations, as the ledger says."""

    cases: dict[str, CaseView] = field(default_factory=dict)
    items: dict[str, ItemView] = field(default_factory=dict)
    notices: dict[str, NoticeRecord] = field(default_factory=dict)
    compartments: dict[str, set[str]] = field(default_factory=dict)
    reconciliations: list[ReconciliationRecord] = field(default_factory=list)
    #: matter key -> its ladder's highest step notified (matters that got no notice: absent)
    ladder: dict[str, LadderStep] = field(default_factory=dict)
    #: open alarms (raised, not acknowledged) by the seq of their entry, oldest first
    alarms: dict[int, AlarmView] = field(default_factory=dict)
    deliveries: dict[str, DeliveryRecord] = field(default_factory=dict)  # by notice key
    #: leave requests by their seq (custody.leaving), oldest first
    leaves: dict[int, LeaveRecord] = field(default_factory=dict)
    #: holds in force by key (``case:<id>`` / ``item:<label>``)
    holds: dict[str, HoldRecord] = field(default_factory=dict)
    #: case-management event id -> (case, seq of its ``case.stage`` entry): idempotency
    stage_events: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: items that have had a label printed (``label.printed``, custody.label_prints)
    labels_printed: set[str] = field(default_factory=set)
    size: int = 0  # entries seen (custody or not): the next seq

    @classmethod
    def rebuild(cls, entries: Iterable[Any]) -> Projection:
        """Fold entries (objects with ``.body``, or decoded dicts) into a fresh projection."""
        projection = cls()
        for entry in entries:
            body = entry if isinstance(entry, Mapping) else entry.body
            projection.apply(body)
        return projection

    def to_state(self) -> dict[str, Any]:
        """The projection as plain JSON values (objects, arrays, strings, integers, booleans,
        null), format :data:`custody.projection_state.STATE_VERSION`; :meth:`from_state`
        restores it."""
        from custody.projection_state import to_state  # it imports this module

        return to_state(self)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Projection:
        """A projection equal to the one :meth:`to_state` saved, folding on from
        ``state["size"]``. Raises :class:`ProjectionStateError` for another format version
        or a damaged state (never returns a half-restored projection)."""
        from custody.projection_state import from_state

        return from_state(state)

    # ------------------------------------------------------------------ queries

    def open_items(self) -> Iterable[ItemView]:
        """Items still in the centre's custody (not disposed)."""
        return (i for i in self.items.values() if i.state is not ItemState.DISPOSED)

    def items_in(self, state: ItemState) -> list[ItemView]:
        """Items in one state, in label order."""
        return sorted((i for i in self.items.values() if i.state is state), key=lambda i: i.label)

    def unacknowledged(self) -> list[NoticeRecord]:
        """Notices nobody has acknowledged yet, oldest first."""
        return [n for n in self.notices.values() if n.acknowledged_seq is None]

    def responsible_officer(self, item: ItemView) -> str:
        """The officer answerable for an item now (the ``officer`` of its deadline ladders):
        the holder while checked out, the seizing officer while registered, else the case's
        lead officer."""
        if item.state is ItemState.CHECKED_OUT and item.holder:
            return item.holder
        if item.state is ItemState.REGISTERED:
            return item.seizing_officer
        case = self.cases.get(item.case_id)
        return case.officer if case else ""

    # ------------------------------------------------------------------ folding

    def apply(self, body: Mapping[str, Any]) -> set[str]:
        """Fold one decoded entry in; returns the labels of the items it changed."""
        seq = int(body["seq"])
        if seq != self.size:
            raise ProjectionError(f"entry seq {seq} out of order (expected {self.size})")
        self.size = seq + 1
        kind = str(body.get("kind"))
        handler = _HANDLERS.get(kind)
        if handler is None:
            if not is_alarm(kind):
                return set()
            handler = Projection._alarm
        try:
            return handler(self, body, seq, parse_utc(str(body["ts"])))
        except (KeyError, TypeError, ValueError) as exc:
            # only a ledger not written by these services gets here: say where, stop
            raise ProjectionError(
                f"entry {seq} ({kind}) does not fit the custody state: {exc!r}"
            ) from exc

    def _register(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        case_id = body["case"]
        if body["kind"] == CASE_REGISTERED:
            raw = body.get("complainant")
            self.cases[case_id] = CaseView(
                case_id=case_id,
                title=body["title"],
                officer=body["officer"],
                officers=tuple(body["officers"]),
                complainant=Complainant(raw["name"], raw["contact"]) if raw else None,
                registered_at=at,
                registered_seq=seq,
            )
        case = self.cases[case_id]
        changed: set[str] = set()
        for it in body["items"]:
            label = it["label"]
            self.items[label] = ItemView(
                label=label,
                case_id=case_id,
                kind=it["kind"],
                category=it["category"],
                description=it["description"],
                quantity=it["quantity"],
                seized_from=it["seized_from"],
                seized_at=parse_utc(it["seized_at"]),
                seizing_officer=it["seizing_officer"],
                handover_due=parse_utc(it["handover_due"]),
                registered_seq=seq,
                state=ItemState.REGISTERED,
                state_seq=seq,
                state_since=at,
                history=[seq],
            )
            case.items.append(label)
            changed.add(label)
        return changed

    def _move(self, label: str, state: ItemState, seq: int, at: datetime) -> ItemView:
        item = self.items[label]
        if item.compartment is not None:
            self.compartments[item.compartment].discard(label)
            if not self.compartments[item.compartment]:
                del self.compartments[item.compartment]
            item.compartment = None
        item.state, item.state_seq, item.state_since = state, seq, at
        item.history.append(seq)
        return item

    def _handed_over(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        record = HandoverRecord(
            seq=seq,
            at=at,
            clerk=body["clerk"],
            items=tuple(body["items"]),
            missing=tuple(body["missing"]),
            extra=tuple(body["extra"]),
            reason=body["reason"],
            photos=_photos(body),
        )
        self.cases[body["case"]].handovers.append(record)
        for label in record.items:
            self._move(label, ItemState.HANDED_OVER, seq, at).clerk = record.clerk
        return set(record.items)

    def _stored(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        item = self._move(body["item"], ItemState.STORED, seq, at)
        item.compartment = item.last_compartment = body["compartment"]
        item.clerk = body["actor"]
        item.holder = item.due_back = None
        self.compartments.setdefault(body["compartment"], set()).add(item.label)
        return {item.label}

    def _checked_out(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        item = self._move(body["item"], ItemState.CHECKED_OUT, seq, at)
        item.holder = body["officer"]
        item.due_back = parse_utc(body["due"])
        return {item.label}

    def _returned(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        item = self._move(body["item"], ItemState.RETURNED, seq, at)
        item.holder = item.due_back = None
        # the compartment the file was put back in, awaiting the clerk's store step (older
        # entries name none: the store step then picks one)
        where = body.get("compartment")
        if where is not None:
            item.compartment = str(where)
            self.compartments.setdefault(item.compartment, set()).add(item.label)
        return {item.label}

    def _disposed(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        item = self._move(body["item"], ItemState.DISPOSED, seq, at)
        item.disposal = body["disposal"]
        item.approved_by = body["approved_by"]
        return {item.label}

    def _leave(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        record = fold_leave(self.leaves, body, seq, at)
        kind = body["kind"]
        if kind == LEAVE_CARRIED_OUT:
            if record.final:
                item = self._move(record.item, ItemState.DISPOSED, seq, at)
                item.disposal, item.approved_by = record.kind, record.decided_by
            else:
                item = self._move(record.item, ItemState.OUT_ON_LEAVE, seq, at)
                item.due_back, item.leave = record.due, record.request
            item.holder = None
            return {item.label}
        if kind == LEAVE_RETURNED:
            item = self._move(record.item, ItemState.RETURNED, seq, at)
            item.due_back = item.leave = None
            return {item.label}
        # a request or a decision: the item's history, not its state (no ladder changes)
        self.items[record.item].history.append(seq)
        assert kind != LEAVE_REQUESTED or record.request == seq
        return set()

    def _hold(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        fold_hold(self.holds, body, seq, at)
        return set()

    def _notice(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        notice = NoticeRecord(
            key=body["key"],
            role=body["role"],
            person=body["person"],
            subject=body["subject"],
            text=body["text"],
            refs=dict(body["refs"]),
            seq=seq,
            at=at,
        )
        self.notices[notice.key] = notice
        found = ladder_step_of(notice.key, notice.refs)
        if found is not None:
            matter, step = found
            old = self.ladder.get(matter)
            if old is None or step >= old.step:  # the same step to another person: latest
                self.ladder[matter] = LadderStep(matter, step, notice.role, notice.key, at)
        return set()

    def _acknowledged(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        notice = self.notices[body["key"]]
        notice.acknowledged_at, notice.acknowledged_seq = at, seq
        return set()

    def _alarm(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        self.alarms[seq] = alarm_from_entry(seq, at, body)
        return set()

    def _alarm_acknowledged(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        # acknowledging a closed (or unknown) alarm changes nothing: the writer refuses it,
        # a ledger from elsewhere may still hold one
        self.alarms.pop(int(body["alarm"]), None)
        return set()

    def _label_printed(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        self.labels_printed.add(str(body["item"]))
        return set()

    def _delivery(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        fold_delivery(self.deliveries, body, seq, at)
        return set()

    def _stage(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        record = stage_from_body(seq, body)
        case_id = str(body["case"])
        self.cases[case_id].stages.append(record)
        if record.event_id:
            self.stage_events[record.event_id] = (case_id, seq)
        return set()

    def _reconciled(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        self.reconciliations.append(
            ReconciliationRecord(
                seq=seq,
                at=at,
                day=body["day"],
                checked_out_not_back=tuple(body["checked_out_not_back"]),
                registered_not_handed_over=tuple(body["registered_not_handed_over"]),
                stored_but_empty=tuple(
                    (e["item"], e["compartment"]) for e in body["stored_but_empty"]
                ),
                occupancy_known=body["occupancy_known"],
            )
        )
        return set()


_HANDLERS = {
    CASE_REGISTERED: Projection._register,
    CASE_ITEMS_ADDED: Projection._register,
    CASE_HANDED_OVER: Projection._handed_over,
    ITEM_STORED: Projection._stored,
    ITEM_CHECKED_OUT: Projection._checked_out,
    ITEM_RETURNED: Projection._returned,
    ITEM_DISPOSED: Projection._disposed,
    NOTICE_SENT: Projection._notice,
    NOTICE_ACKNOWLEDGED: Projection._acknowledged,
    RECONCILIATION: Projection._reconciled,
    CASE_STAGE: Projection._stage,
    ALARM_ACKNOWLEDGED: Projection._alarm_acknowledged,
    **dict.fromkeys(DELIVERY_KINDS, Projection._delivery),
    LABEL_PRINTED: Projection._label_printed,
    **dict.fromkeys(LEAVE_KINDS, Projection._leave),
    **dict.fromkeys(HOLD_KINDS, Projection._hold),
}
