"""The custody state, rebuilt from the ledger's entries.

:meth:`Projection.rebuild` folds every entry through :meth:`Projection.apply`; the live
services call the same :meth:`Projection.apply` on each entry they append, so the live state
and a rebuild from the ledger alone are equal by construction (the stateful test checks it).
Entries of kinds this module does not know (the ledger's own, other packages') are skipped.

The views are plain dataclasses; treat them as read-only (copy before changing anything).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody.domain.people import Complainant
from custody.domain.states import ItemState
from custody.domain.values import parse_utc
from custody.errors import LockerError
from custody.ports import PhotoRef

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
)


class ProjectionError(LockerError):
    """Entries were folded out of order (a projection must see every entry, in order)."""


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
    """Cases, items, notices and reconciliations, as the ledger says they are."""

    cases: dict[str, CaseView] = field(default_factory=dict)
    items: dict[str, ItemView] = field(default_factory=dict)
    notices: dict[str, NoticeRecord] = field(default_factory=dict)
    compartments: dict[str, set[str]] = field(default_factory=dict)
    reconciliations: list[ReconciliationRecord] = field(default_factory=list)
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
        null), format :data:`STATE_VERSION`; :meth:`from_state` restores it."""
        return _to_state(self)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Projection:
        """A projection equal to the one :meth:`to_state` saved, folding on from
        ``state["size"]``. Raises :class:`ProjectionStateError` for another format version
        or a damaged state (never returns a half-restored projection)."""
        return _from_state(state)

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
            return set()
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

    def _notice(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        self.notices[body["key"]] = NoticeRecord(
            key=body["key"],
            role=body["role"],
            person=body["person"],
            subject=body["subject"],
            text=body["text"],
            refs=dict(body["refs"]),
            seq=seq,
            at=at,
        )
        return set()

    def _acknowledged(self, body: Mapping[str, Any], seq: int, at: datetime) -> set[str]:
        notice = self.notices[body["key"]]
        notice.acknowledged_at, notice.acknowledged_seq = at, seq
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
}


# ---------------------------------------------------------------------- serialisation
#
# A projection can be saved as plain JSON values and restored, so that a reader (the API)
# can start from a saved state instead of folding the whole ledger again. The state is
# derived data: whoever saves it must tie it to the ledger prefix it was folded from and
# throw it away when that prefix no longer matches. Rows are positional arrays (a million-
# entry ledger has over a hundred thousand items); the field names are written into the
# state and must match on restore, so a change of fields is a change of format.

STATE_VERSION = 2

ITEM_FIELDS = (
    "label", "case_id", "kind", "category", "description", "quantity", "seized_from",
    "seized_at", "seizing_officer", "handover_due", "registered_seq", "state", "state_seq",
    "state_since", "compartment", "holder", "due_back", "clerk", "disposal", "approved_by",
    "history", "last_compartment",
)
CASE_FIELDS = (
    "case_id", "title", "officer", "officers", "complainant", "registered_at",
    "registered_seq", "items", "handovers",
)
HANDOVER_FIELDS = ("seq", "at", "clerk", "items", "missing", "extra", "reason", "photos")
NOTICE_FIELDS = (
    "key", "role", "person", "subject", "text", "refs", "seq", "at", "acknowledged_at",
    "acknowledged_seq",
)
RECONCILIATION_FIELDS = (
    "seq", "at", "day", "checked_out_not_back", "registered_not_handed_over",
    "stored_but_empty", "occupancy_known",
)
_FIELDS = {
    "items": ITEM_FIELDS,
    "cases": CASE_FIELDS,
    "handovers": HANDOVER_FIELDS,
    "notices": NOTICE_FIELDS,
    "reconciliations": RECONCILIATION_FIELDS,
}


class ProjectionStateError(ProjectionError):
    """A saved projection state cannot be restored (another format, or damaged)."""


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
        i.last_compartment,
    ]


def _item_from(row: Any) -> ItemView:
    (label, case_id, kind, category, description, quantity, seized_from, seized_at,
     seizing_officer, handover_due, registered_seq, state, state_seq, state_since,
     compartment, holder, due_back, clerk, disposal, approved_by, history,
     last_compartment) = row
    # positional, in ITEM_FIELDS order (the dataclass's own order): keywords cost more here
    return ItemView(
        label, case_id, kind, category, description, quantity, seized_from, _dt(seized_at),
        seizing_officer, _dt(handover_due), registered_seq, _STATES[state], state_seq,
        _dt(state_since), compartment, holder, None if due_back is None else _dt(due_back),
        clerk, disposal, approved_by, _list(history), last_compartment,
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
    ]


def _case_from(row: Any) -> CaseView:
    case_id, title, officer, officers, complainant, registered_at, seq, items, handovers = row
    return CaseView(
        case_id, title, officer, tuple(_list(officers)),
        None if complainant is None else Complainant(*complainant), _dt(registered_at), seq,
        _list(items), [_handover_from(h) for h in _list(handovers)],
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


def _to_state(p: Projection) -> dict[str, Any]:
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


def _from_state(state: Mapping[str, Any]) -> Projection:
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
        for row in state["notices"]:
            notice = _notice_from(row)
            p.notices[notice.key] = notice
        for name, labels in state["compartments"]:
            p.compartments[name] = set(_list(labels))
        p.reconciliations = [_reconciliation_from(r) for r in state["reconciliations"]]
        _check_consistent(p)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProjectionStateError(f"projection state is damaged: {exc!r}") from exc
    return p
