"""Saving the custody projection as plain JSON values, and restoring it.

A projection can be saved and restored, so that a reader (the API) can start from a saved
state instead of folding the whole ledger again. The state is derived data: whoever saves it
must tie it to the ledger prefix it was folded from and throw it away when that prefix no
longer matches. Rows are positional arrays (a million-entry ledger has over a hundred
thousand items); the field names are written into the state and must match on restore, so
a change of fields is a change of format (:data:`STATE_VERSION`).

Version 2 added each item's ``last_compartment``, the ladder steps and the open alarms;
version 3 the notices' deliveries (SMS); version 4 the leave requests, the holds and each
item's ``leave`` (:mod:`custody.leaving`); version 5 each case's recorded stages
(:mod:`custody.stages`); version 6 an alarm's ``role`` (a failed notice's: who was not told);
version 7 the items that have had a label printed (:mod:`custody.label_prints`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from custody.alarms import AlarmView
from custody.delivery import DELIVERY_FIELDS, delivery_from, delivery_row
from custody.domain.people import Complainant
from custody.domain.states import ItemState
from custody.leaving import HoldRecord, LeaveRecord, Recipient
from custody.ports import PhotoRef
from custody.projection import (
    CaseView,
    HandoverRecord,
    ItemView,
    LadderStep,
    NoticeRecord,
    Projection,
    ProjectionStateError,
    ReconciliationRecord,
)
from custody.stages import StageRecord

__all__ = ["STATE_VERSION", "ProjectionStateError", "from_state", "to_state"]

STATE_VERSION = 7  # 4: leaves, holds; 5: case stages; 6: an alarm's role; 7: labels printed

ITEM_FIELDS = (
    "label", "case_id", "kind", "category", "description", "quantity", "seized_from",
    "seized_at", "seizing_officer", "handover_due", "registered_seq", "state", "state_seq",
    "state_since", "compartment", "holder", "due_back", "clerk", "disposal", "approved_by",
    "history", "last_compartment", "leave",
)
CASE_FIELDS = (
    "case_id", "title", "officer", "officers", "complainant", "registered_at",
    "registered_seq", "items", "handovers", "stages",
)
STAGE_FIELDS = ("seq", "stage", "effective_at", "actor", "document", "number", "event_id")
HANDOVER_FIELDS = ("seq", "at", "clerk", "items", "missing", "extra", "reason", "photos")
NOTICE_FIELDS = (
    "key", "role", "person", "subject", "text", "refs", "seq", "at", "acknowledged_at",
    "acknowledged_seq",
)
RECONCILIATION_FIELDS = (
    "seq", "at", "day", "checked_out_not_back", "registered_not_handed_over",
    "stored_but_empty", "occupancy_known",
)
LADDER_FIELDS = ("matter", "step", "role", "key", "at")
ALARM_FIELDS = (
    "seq", "kind", "at", "actor", "cabinet", "compartment", "items", "event", "detail",
    "badge", "person", "role",
)
LEAVE_FIELDS = (
    "request", "item", "case_id", "kind", "final", "requested_by", "requested_at", "reason",
    "documents", "due", "status", "decided_by", "decided_at", "decision_reason",
    "carried_out_by", "carried_out_at", "recipient", "photos", "receipt", "returned_at",
    "late", "seqs",
)
HOLD_FIELDS = ("key", "case_id", "item", "reason", "placed_by", "placed_at", "seq")
_FIELDS = {
    "items": ITEM_FIELDS,
    "cases": CASE_FIELDS,
    "handovers": HANDOVER_FIELDS,
    "stages": STAGE_FIELDS,
    "notices": NOTICE_FIELDS,
    "reconciliations": RECONCILIATION_FIELDS,
    "ladder": LADDER_FIELDS,
    "alarms": ALARM_FIELDS,
    "deliveries": DELIVERY_FIELDS,
    "leaves": LEAVE_FIELDS,
    "holds": HOLD_FIELDS,
}


def _t(moment: datetime) -> str:
    # isoformat keeps every digit (microseconds too), so a restore gives equal datetimes
    return moment.isoformat()


def _t_opt(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _dt(text: Any) -> datetime:
    moment = datetime.fromisoformat(text)  # TypeError for a non-string
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return moment


def _dt_opt(text: Any) -> datetime | None:
    return None if text is None else _dt(text)


_STATES = {s.value: s for s in ItemState}  # KeyError for an unknown state


def _list(value: Any) -> list[Any]:
    # Elements are not type-checked one by one (a million-entry state has millions): the
    # saver hashes what it wrote, and the cross-checks below catch a state that does not
    # hang together.
    if type(value) is not list:
        raise TypeError(f"expected a list, got {value!r}")
    return value


def _item_row(i: ItemView) -> list[Any]:
    return [
        i.label, i.case_id, i.kind, i.category, i.description, i.quantity, i.seized_from,
        _t(i.seized_at), i.seizing_officer, _t(i.handover_due), i.registered_seq,
        i.state.value, i.state_seq, _t(i.state_since), i.compartment, i.holder,
        _t_opt(i.due_back), i.clerk, i.disposal, i.approved_by, list(i.history),
        i.last_compartment, i.leave,
    ]


def _item_from(row: Any) -> ItemView:
    (label, case_id, kind, category, description, quantity, seized_from, seized_at,
     seizing_officer, handover_due, registered_seq, state, state_seq, state_since,
     compartment, holder, due_back, clerk, disposal, approved_by, history,
     last_compartment, leave) = row
    # positional, in ITEM_FIELDS order (the dataclass's own order): keywords cost more here
    return ItemView(
        label, case_id, kind, category, description, quantity, seized_from, _dt(seized_at),
        seizing_officer, _dt(handover_due), registered_seq, _STATES[state], state_seq,
        _dt(state_since), compartment, holder, None if due_back is None else _dt(due_back),
        clerk, disposal, approved_by, _list(history), last_compartment, leave,
    )


def _handover_row(h: HandoverRecord) -> list[Any]:
    return [
        h.seq, _t(h.at), h.clerk, list(h.items), list(h.missing), list(h.extra), h.reason,
        [[p.sha256, p.bytes] for p in h.photos],
    ]


def _handover_from(row: Any) -> HandoverRecord:
    seq, at, clerk, items, missing, extra, reason, photos = row
    return HandoverRecord(
        seq, _dt(at), clerk, tuple(_list(items)), tuple(_list(missing)), tuple(_list(extra)),
        reason, tuple([PhotoRef(sha, size) for sha, size in photos]),
    )


def _case_row(c: CaseView) -> list[Any]:
    complainant = None if c.complainant is None else [c.complainant.name, c.complainant.contact]
    return [
        c.case_id, c.title, c.officer, list(c.officers), complainant, _t(c.registered_at),
        c.registered_seq, list(c.items), [_handover_row(h) for h in c.handovers],
        [[r.seq, r.stage, _t(r.effective_at), r.actor, r.document, r.number, r.event_id]
         for r in c.stages],
    ]


def _case_from(row: Any) -> CaseView:
    (case_id, title, officer, officers, complainant, registered_at, seq, items, handovers,
     stages) = row
    return CaseView(
        case_id, title, officer, tuple(_list(officers)),
        None if complainant is None else Complainant(*complainant), _dt(registered_at), seq,
        _list(items), [_handover_from(h) for h in _list(handovers)],
        [StageRecord(r[0], r[1], _dt(r[2]), r[3], r[4], r[5], r[6]) for r in _list(stages)],
    )


def _notice_row(n: NoticeRecord) -> list[Any]:
    return [
        n.key, n.role, n.person, n.subject, n.text, dict(n.refs), n.seq, _t(n.at),
        _t_opt(n.acknowledged_at), n.acknowledged_seq,
    ]


def _notice_from(row: Any) -> NoticeRecord:
    key, role, person, subject, text, refs, seq, at, ack_at, ack_seq = row
    if type(refs) is not dict:
        raise TypeError(f"notice refs must be an object, got {refs!r}")
    return NoticeRecord(
        key=key, role=role, person=person, subject=subject, text=text, refs=dict(refs),
        seq=seq, at=_dt(at), acknowledged_at=_dt_opt(ack_at), acknowledged_seq=ack_seq,
    )


def _reconciliation_row(r: ReconciliationRecord) -> list[Any]:
    return [
        r.seq, _t(r.at), r.day, list(r.checked_out_not_back),
        list(r.registered_not_handed_over), [[lab, comp] for lab, comp in r.stored_but_empty],
        r.occupancy_known,
    ]


def _reconciliation_from(row: Any) -> ReconciliationRecord:
    seq, at, day, not_back, not_handed, empty, occupancy_known = row
    return ReconciliationRecord(
        seq=seq, at=_dt(at), day=day, checked_out_not_back=tuple(_list(not_back)),
        registered_not_handed_over=tuple(_list(not_handed)),
        stored_but_empty=tuple((lab, comp) for lab, comp in empty),
        occupancy_known=occupancy_known,
    )


def _ladder_row(s: LadderStep) -> list[Any]:
    return [s.matter, s.step, s.role, s.key, _t(s.at)]


def _ladder_from(row: Any) -> LadderStep:
    matter, step, role, key, at = row
    if type(step) is not int:
        raise TypeError(f"ladder step must be an integer, got {step!r}")
    return LadderStep(matter, step, role, key, _dt(at))


def _alarm_row(a: AlarmView) -> list[Any]:
    return [
        a.seq, a.kind, _t(a.at), a.actor, a.cabinet, a.compartment, list(a.items), a.event,
        a.detail, a.badge, a.person, a.role,
    ]


def _alarm_from(row: Any) -> AlarmView:
    seq, kind, at, actor, cabinet, compartment, items, event, detail, badge, person, role = row
    if type(seq) is not int:
        raise TypeError(f"alarm seq must be an integer, got {seq!r}")
    return AlarmView(seq, kind, _dt(at), actor, cabinet, compartment, tuple(_list(items)),
                     event, detail, badge, person, role)


def _photo_row(p: PhotoRef | None) -> list[Any] | None:
    return None if p is None else [p.sha256, p.bytes]


def _photo_from(row: Any) -> PhotoRef | None:
    return None if row is None else PhotoRef(*row)


def _leave_row(r: LeaveRecord) -> list[Any]:
    recipient = None if r.recipient is None else [r.recipient.name, r.recipient.id_number,
                                                  r.recipient.unit]
    return [
        r.request, r.item, r.case_id, r.kind, r.final, r.requested_by, _t(r.requested_at),
        r.reason, dict(r.documents), _t_opt(r.due), r.status, r.decided_by,
        _t_opt(r.decided_at), r.decision_reason, list(r.carried_out_by),
        _t_opt(r.carried_out_at), recipient, [_photo_row(p) for p in r.photos],
        _photo_row(r.receipt), _t_opt(r.returned_at), r.late, list(r.seqs),
    ]


def _leave_from(row: Any) -> LeaveRecord:
    (request, item, case_id, kind, final, requested_by, requested_at, reason, documents, due,
     status, decided_by, decided_at, decision_reason, carried_out_by, carried_out_at,
     recipient, photos, receipt, returned_at, late, seqs) = row
    if type(documents) is not dict:
        raise TypeError(f"leave documents must be an object, got {documents!r}")
    return LeaveRecord(
        request, item, case_id, kind, final, requested_by, _dt(requested_at), reason,
        dict(documents), _dt_opt(due), status, decided_by, _dt_opt(decided_at),
        decision_reason, tuple(_list(carried_out_by)), _dt_opt(carried_out_at),
        None if recipient is None else Recipient(*recipient),
        tuple(PhotoRef(*p) for p in _list(photos)), _photo_from(receipt),
        _dt_opt(returned_at), late, _list(seqs),
    )


def _hold_row(h: HoldRecord) -> list[Any]:
    return [h.key, h.case_id, h.item, h.reason, h.placed_by, _t(h.placed_at), h.seq]


def _hold_from(row: Any) -> HoldRecord:
    key, case_id, item, reason, placed_by, placed_at, seq = row
    return HoldRecord(key, case_id, item, reason, placed_by, _dt(placed_at), seq)


def to_state(p: Projection) -> dict[str, Any]:
    """See :meth:`Projection.to_state`."""
    return {
        "version": STATE_VERSION,
        "fields": {k: list(v) for k, v in _FIELDS.items()},
        "size": p.size,
        # dicts as lists in their order: what iterates them (notices oldest first) sees the
        # same order after a restore as after a replay
        "items": [_item_row(i) for i in p.items.values()],
        "cases": [_case_row(c) for c in p.cases.values()],
        "notices": [_notice_row(n) for n in p.notices.values()],
        "compartments": [[name, list(labels)] for name, labels in p.compartments.items()],
        "reconciliations": [_reconciliation_row(r) for r in p.reconciliations],
        "ladder": [_ladder_row(s) for s in p.ladder.values()],
        "alarms": [_alarm_row(a) for a in p.alarms.values()],
        "deliveries": [delivery_row(d) for d in p.deliveries.values()],
        "leaves": [_leave_row(r) for r in p.leaves.values()],
        "holds": [_hold_row(h) for h in p.holds.values()],
        "labels_printed": sorted(p.labels_printed),
    }


def _check_consistent(p: Projection) -> None:
    """Cheap cross-checks between the restored tables (a damaged state fails here)."""
    for case in p.cases.values():
        for label in case.items:
            if p.items[label].case_id != case.case_id:
                raise ValueError(f"item {label} is listed in case {case.case_id} but not of it")
    placed = 0
    for name, labels in p.compartments.items():
        for label in labels:
            if p.items[label].compartment != name:
                raise ValueError(f"compartment {name} lists {label}, which is not there")
        placed += len(labels)
    if placed != sum(1 for i in p.items.values() if i.compartment is not None):
        raise ValueError("items placed in compartments do not match the compartment lists")
    for item in p.items.values():
        if item.case_id not in p.cases:
            raise ValueError(f"item {item.label} belongs to unknown case {item.case_id}")
        if item.history and item.history[-1] >= p.size:
            raise ValueError(f"item {item.label} has history beyond size {p.size}")
        if item.state is ItemState.CHECKED_OUT and item.due_back is None:
            raise ValueError(f"item {item.label} is checked out with no due time")
    for item in p.items.values():
        if (item.leave is not None) != (item.state is ItemState.OUT_ON_LEAVE):
            raise ValueError(f"item {item.label} is out on a leave only while out_on_leave")
        if item.leave is not None and p.leaves[item.leave].item != item.label:
            raise ValueError(f"item {item.label} is out on another item's leave")
    for seq in p.alarms:
        if seq >= p.size:
            raise ValueError(f"alarm {seq} is beyond size {p.size}")


def from_state(state: Mapping[str, Any]) -> Projection:
    """See :meth:`Projection.from_state`."""
    if not isinstance(state, Mapping):
        raise ProjectionStateError("a projection state is a JSON object")
    if state.get("version") != STATE_VERSION:
        raise ProjectionStateError(
            f"projection state version {state.get('version')!r} is not {STATE_VERSION}"
        )
    if state.get("fields") != {k: list(v) for k, v in _FIELDS.items()}:
        raise ProjectionStateError("projection state fields differ from this version's")
    try:
        size = state["size"]
        if type(size) is not int or size < 0:
            raise ValueError(f"size {size!r} is not a count")
        p = Projection(size=size)
        for row in state["items"]:
            item = _item_from(row)
            p.items[item.label] = item
        for row in state["cases"]:
            case = _case_from(row)
            p.cases[case.case_id] = case
            for stage in case.stages:
                if stage.event_id:
                    p.stage_events[stage.event_id] = (case.case_id, stage.seq)
        for row in state["notices"]:
            notice = _notice_from(row)
            p.notices[notice.key] = notice
        for name, labels in state["compartments"]:
            p.compartments[name] = set(_list(labels))
        p.reconciliations = [_reconciliation_from(r) for r in state["reconciliations"]]
        for row in state["ladder"]:
            step = _ladder_from(row)
            p.ladder[step.matter] = step
        for row in state["alarms"]:
            alarm = _alarm_from(row)
            p.alarms[alarm.seq] = alarm
        for row in state["deliveries"]:
            record = delivery_from(row)
            p.deliveries[record.key] = record
        for row in state["leaves"]:
            leave = _leave_from(row)
            p.leaves[leave.request] = leave
        for row in state["holds"]:
            hold = _hold_from(row)
            p.holds[hold.key] = hold
        p.labels_printed = {str(label) for label in _list(state["labels_printed"])}
        _check_consistent(p)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProjectionStateError(f"projection state is damaged: {exc!r}") from exc
    return p
