"""Items leaving custody: the entries, the records the projection keeps, and the hold rule.

A leave is three steps by three people, each one ledger entry:

- ``leave.requested``: the officer in charge asks (kind, reason, documents, due date of a
  temporary leave); the request's id is this entry's seq;
- ``leave.decided``: a supervisor, never the requester, approves or refuses, with a reason;
- ``leave.carried_out``: a clerk (never the requester nor the approver; with a second clerk
  for the two-clerk categories) takes the item out at the cabinet and records the recipient
  (name, ID number, unit), the removal photos and the photo of the signed receipt. A final
  kind ends custody (the item is ``disposed``); a temporary one puts it ``out_on_leave``
  until its due date (a deadline with its own ladder);
- ``leave.returned``: a temporary leave comes back (the item then awaits storage).

A **hold** (``hold.placed``: a case still under investigation, or an item marked as evidence
for trial) refuses the kinds marked ``refused_under_hold`` (release, destruction) at every
step until ``hold.lifted``, which names who asked and the supervisor who approved.

:func:`refuse_under_hold` is the one hold rule (the direct ``dispose`` calls it too).
The folding lives here as functions over the projection's tables; the projection calls them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custody.domain.errors import CustodyError
from custody.domain.values import parse_utc
from custody.ports import PhotoRef

LEAVE_REQUESTED = "leave.requested"
LEAVE_DECIDED = "leave.decided"
LEAVE_CARRIED_OUT = "leave.carried_out"
LEAVE_RETURNED = "leave.returned"
HOLD_PLACED = "hold.placed"
HOLD_LIFTED = "hold.lifted"

LEAVE_KINDS = (LEAVE_REQUESTED, LEAVE_DECIDED, LEAVE_CARRIED_OUT, LEAVE_RETURNED)
HOLD_KINDS = (HOLD_PLACED, HOLD_LIFTED)

# a request's status (LeaveRecord.status)
REQUESTED = "requested"  # waiting for a supervisor
APPROVED = "approved"  # waiting for a clerk at the cabinet
REFUSED = "refused"  # closed
OUT = "out"  # temporary, carried out, not back yet
DONE = "done"  # final, carried out
BACK = "back"  # temporary, returned

#: the documents a request records (the carrying out records the recipient's ID number)
DOCUMENTS_AT_REQUEST = ("decision_no", "receiving_unit")

#: statuses of a request still in progress (an item has at most one)
OPEN_STATUSES = frozenset({REQUESTED, APPROVED, OUT})


class LeaveError(CustodyError):
    """A leave step was refused (the subclasses say why)."""


class UnknownLeaveError(LeaveError):
    """No leave request with that id."""


class LeaveStatusError(LeaveError):
    """The request is not at the step asked for (not pending, not approved, not out)."""


class SelfApprovalError(LeaveError):
    """A person tried to approve (or refuse) their own request, or their own hold lifting."""


class UnderHoldError(LeaveError):
    """The item or its case is under a hold that refuses this kind of leaving."""


class WrongPersonError(LeaveError):
    """The person at the cabinet may not carry this leave out (role, or a person who already
    took part in it), or the second clerk is missing or the same person."""


class UnknownHoldError(LeaveError):
    """No hold on that case or item."""


@dataclass(frozen=True)
class Recipient:
    """Who received an item: name, ID number, unit (as on the signed receipt)."""

    name: str
    id_number: str = ""
    unit: str = ""

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "id_number": self.id_number, "unit": self.unit}


@dataclass(slots=True)
class LeaveRecord:
    """One leave request and how far it has gone (see the module docstring)."""

    request: int  # the seq of its leave.requested entry
    item: str
    case_id: str
    kind: str
    final: bool
    requested_by: str
    requested_at: datetime
    reason: str
    documents: dict[str, str]
    due: datetime | None  # temporary leaves
    status: str = REQUESTED
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""
    carried_out_by: tuple[str, ...] = ()  # the clerk, then the second clerk if any
    carried_out_at: datetime | None = None
    recipient: Recipient | None = None
    photos: tuple[PhotoRef, ...] = ()
    receipt: PhotoRef | None = None
    returned_at: datetime | None = None
    late: bool = False
    seqs: list[int] = field(default_factory=list)  # every entry of the request


@dataclass(frozen=True)
class HoldRecord:
    """A hold on a case (under investigation) or an item (evidence for trial)."""

    key: str  # "case:<id>" or "item:<label>"
    case_id: str
    item: str | None
    reason: str
    placed_by: str
    placed_at: datetime
    seq: int


def hold_key(case_id: str, item: str | None) -> str:
    """The key of a hold on a case, or on one item."""
    return f"item:{item}" if item else f"case:{case_id}"


def holds_on(holds: Mapping[str, HoldRecord], case_id: str, item: str) -> list[HoldRecord]:
    """The holds that cover an item (its own and its case's)."""
    return [h for h in (holds.get(hold_key(case_id, None)), holds.get(hold_key(case_id, item)))
            if h is not None]


def refuse_under_hold(holds: Mapping[str, HoldRecord], case_id: str, item: str,
                      what: str) -> None:
    """The hold rule: raise :class:`UnderHoldError` when an item or its case is held."""
    found = holds_on(holds, case_id, item)
    if found:
        h = found[0]
        on = f"item {item}" if h.item else f"case {case_id}"
        raise UnderHoldError(
            f"{on} is under a hold ({h.reason}, entry {h.seq}): {what} is refused until the"
            " hold is lifted"
        )


def _photo(raw: Mapping[str, Any]) -> PhotoRef:
    return PhotoRef(raw["sha256"], raw["bytes"])


def fold_leave(leaves: dict[int, LeaveRecord], body: Mapping[str, Any], seq: int,
               at: datetime) -> LeaveRecord:
    """Fold one ``leave.*`` entry into the records; returns the record it changed."""
    kind = body["kind"]
    if kind == LEAVE_REQUESTED:
        due = body.get("due")
        record = LeaveRecord(
            request=seq, item=body["item"], case_id=body["case"], kind=body["leave"],
            final=bool(body["final"]), requested_by=body["actor"], requested_at=at,
            reason=body["reason"], documents=dict(body["documents"]),
            due=None if due is None else parse_utc(due), seqs=[seq],
        )
        leaves[seq] = record
        return record
    record = leaves[int(body["request"])]
    record.seqs.append(seq)
    if kind == LEAVE_DECIDED:
        record.status = APPROVED if body["approved"] else REFUSED
        record.decided_by, record.decided_at = body["actor"], at
        record.decision_reason = body["reason"]
    elif kind == LEAVE_CARRIED_OUT:
        record.status = DONE if record.final else OUT
        record.carried_out_by = (body["actor"], *([body["second_clerk"]]
                                                  if body.get("second_clerk") else []))
        record.carried_out_at = at
        raw = body["recipient"]
        record.recipient = Recipient(raw["name"], raw["id_number"], raw["unit"])
        record.photos = tuple(_photo(p) for p in body["photos"])
        record.receipt = _photo(body["receipt"])
    else:  # LEAVE_RETURNED
        record.status, record.returned_at, record.late = BACK, at, bool(body["late"])
    return record


def fold_hold(holds: dict[str, HoldRecord], body: Mapping[str, Any], seq: int,
              at: datetime) -> None:
    """Fold one ``hold.*`` entry."""
    item = body.get("item")
    key = hold_key(body["case"], item)
    if body["kind"] == HOLD_PLACED:
        holds[key] = HoldRecord(key, body["case"], item, body["reason"], body["actor"], at, seq)
    else:
        holds.pop(key, None)
