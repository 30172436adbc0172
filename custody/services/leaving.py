"""Items leaving custody: request, decide, carry out, come back; holds placed and lifted.

The entries and the hold rule are :mod:`custody.leaving`; the kinds are the station's
:class:`~custody.rules.leaving.LeaveCatalogue`. Every command checks everything first and
writes one entry (a release the complainant is told of: then its ``notice.sent``), so a
refusal writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from custody.domain.errors import InvalidInputError, NotOnCaseError
from custody.domain.people import Role
from custody.domain.states import Action
from custody.domain.values import check_photos, check_text, utc_text
from custody.leaving import (
    APPROVED,
    DOCUMENTS_AT_REQUEST,
    HOLD_LIFTED,
    HOLD_PLACED,
    LEAVE_CARRIED_OUT,
    LEAVE_DECIDED,
    LEAVE_REQUESTED,
    LEAVE_RETURNED,
    OPEN_STATUSES,
    OUT,
    REQUESTED,
    HoldRecord,
    LeaveRecord,
    LeaveStatusError,
    Recipient,
    SelfApprovalError,
    UnknownHoldError,
    UnknownLeaveError,
    WrongPersonError,
    hold_key,
    refuse_under_hold,
)
from custody.ports import PhotoRef
from custody.rules.leaving import LeaveKind
from custody.services.checks import refuse_transition
from custody.services.core import ServiceCore


class Leaving(ServiceCore):
    """Leave requests (three steps, three people) and holds."""

    # ------------------------------------------------------------------ lookups

    def leave_kind(self, kind_id: str) -> LeaveKind:
        """The station's kind of leaving with this id (InvalidInputError if none)."""
        kind = self.leaving.kind(kind_id)
        if kind is None:
            raise InvalidInputError(
                f"leave kind {kind_id!r} is not one of "
                + ", ".join(k.id for k in self.leaving.kinds)
            )
        return kind

    def leave_request(self, request: int) -> LeaveRecord:
        """A leave request by its id (UnknownLeaveError if none)."""
        record = self.projection.leaves.get(request)
        if record is None:
            raise UnknownLeaveError(f"no leave request {request}")
        return record

    def _refuse_hold(self, kind: LeaveKind, case_id: str, label: str) -> None:
        if kind.refused_under_hold:
            refuse_under_hold(self.projection.holds, case_id, label, kind.name_en.lower())

    # ------------------------------------------------------------------ request

    def request_leave(
        self, label: str, *, kind: str, officer: str, reason: str,
        documents: Mapping[str, str] | None = None, due: datetime | None = None,
    ) -> LeaveRecord:
        """The officer in charge asks for an item to leave custody (``leave.requested``).

        An officer must be on the item's case (a supervisor may ask for any case: then
        another supervisor decides); the item in custody (stored, or returned and
        waiting); no other request of the item open; the kind's request documents given; a
        hold refuses the kinds it covers. A temporary kind's due date is ``due`` (after now)
        or now plus the kind's ``due``."""
        with self.lock:
            self._sync()
            item = self._item(label)
            how = self.leave_kind(kind)
            person = self.directory.require(officer, Role.OFFICER, Role.SUPERVISOR)
            case = self._case(item.case_id)
            if person.role is Role.OFFICER and officer not in case.officers:
                raise NotOnCaseError(
                    f"officer {officer!r} is not on case {case.case_id!r}, so cannot ask for"
                    f" {item.label} to leave"
                )
            refuse_transition(item, Action.DISPOSE if how.final else Action.LEAVE)
            for other in self.projection.leaves.values():
                if other.item == item.label and other.status in OPEN_STATUSES:
                    raise LeaveStatusError(
                        f"item {item.label} already has leave request {other.request}"
                        f" ({other.status})"
                    )
            self._refuse_hold(how, item.case_id, item.label)
            docs = self._documents(how, documents or {})
            now = self._now()
            body: dict[str, object] = {
                "item": item.label, "case": item.case_id, "leave": how.id, "final": how.final,
                "reason": check_text(reason, "reason"), "documents": docs,
            }
            if not how.final:
                assert how.due_ms is not None
                when = due if due is not None else now + timedelta(milliseconds=how.due_ms)
                if when.tzinfo is None or when <= now:
                    raise InvalidInputError("a temporary leave's due date must be a time"
                                            " with a zone, after now")
                body["due"] = utc_text(when)
            elif due is not None:
                raise InvalidInputError(f"{how.id} is final: it has no due date")
            entry = self._append(LEAVE_REQUESTED, body, officer)
            return self.projection.leaves[int(entry["seq"])]

    @staticmethod
    def _documents(how: LeaveKind, given: Mapping[str, str]) -> dict[str, str]:
        unknown = set(given) - set(DOCUMENTS_AT_REQUEST)
        if unknown:
            raise InvalidInputError(f"unknown document(s) {sorted(unknown)}: a request records "
                                    + ", ".join(DOCUMENTS_AT_REQUEST))
        docs: dict[str, str] = {}
        for name in DOCUMENTS_AT_REQUEST:
            value = check_text(given.get(name, ""), name, allow_empty=True, limit=200)
            if name in how.documents and not value:
                raise InvalidInputError(f"{how.id} needs the {name.replace('_', ' ')}")
            docs[name] = value
        return docs

    # ------------------------------------------------------------------ decide

    def decide_leave(self, request: int, *, supervisor: str, approve: bool,
                     reason: str) -> LeaveRecord:
        """A supervisor, never the requester, approves or refuses (``leave.decided``); a
        refusal needs its reason. An approval is refused while a hold covers the kind."""
        with self.lock:
            self._sync()
            record = self.leave_request(request)
            self.directory.require(supervisor, Role.SUPERVISOR)
            if supervisor == record.requested_by:
                raise SelfApprovalError(
                    f"{supervisor!r} asked for leave request {request}: someone else decides it"
                )
            if record.status != REQUESTED:
                raise LeaveStatusError(f"leave request {request} is {record.status}, not"
                                       " waiting for a decision")
            if approve:
                self._refuse_hold(self.leave_kind(record.kind), record.case_id, record.item)
            why = check_text(reason, "the reason", allow_empty=approve)
            self._append(LEAVE_DECIDED, {"request": request, "item": record.item,
                                         "case": record.case_id, "approved": approve,
                                         "reason": why}, supervisor)
            return self.projection.leaves[request]

    # ------------------------------------------------------------------ carry out

    def check_carrier(self, request: int, *, clerk: str,
                      second_clerk: str | None = None) -> LeaveRecord:
        """Whether ``clerk`` (and the second clerk) may carry out an approved request now:
        a clerk who neither asked for it nor decided it; a second, different clerk for the
        two-clerk categories; the item still in custody and under no hold the kind covers.
        Raises the refusal; writes nothing (the cabinet step asks before it opens a door)."""
        with self.lock:
            self._sync()
            record = self.leave_request(request)
            if record.status != APPROVED:
                raise LeaveStatusError(f"leave request {request} is {record.status}, not"
                                       " approved")
            self.directory.require(clerk, Role.CLERK)
            if clerk in (record.requested_by, record.decided_by):
                raise WrongPersonError(f"{clerk!r} took part in leave request {request}: another"
                                       " clerk carries it out")
            item = self._item(record.item)
            if item.category in self.leaving.two_clerks and not second_clerk:
                raise WrongPersonError(f"{item.label} is {item.category}: a second clerk"
                                       " must be present")
            if second_clerk:
                self.directory.require(second_clerk, Role.CLERK)
                if second_clerk == clerk or second_clerk in (record.requested_by,
                                                             record.decided_by):
                    raise WrongPersonError(f"the second clerk must be another clerk, not"
                                           f" {second_clerk!r}")
            how = self.leave_kind(record.kind)
            refuse_transition(item, Action.DISPOSE if how.final else Action.LEAVE)
            self._refuse_hold(how, record.case_id, record.item)
            return record

    def carry_out_leave(
        self, request: int, *, clerk: str, recipient: Recipient, photos: Sequence[PhotoRef],
        receipt: PhotoRef, second_clerk: str | None = None,
    ) -> LeaveRecord:
        """A clerk takes the item out (``leave.carried_out``): the recipient (name always;
        ID number and unit when the kind needs them), the removal photos, the photo of the
        signed receipt. A final kind ends custody (the complainant told when the kind says
        so); a temporary one opens its due date's ladder."""
        with self.lock:
            record = self.check_carrier(request, clerk=clerk, second_clerk=second_clerk)
            how = self.leave_kind(record.kind)
            unit = recipient.unit or record.documents.get("receiving_unit", "")
            who = {
                "name": check_text(recipient.name, "the recipient's name", limit=200),
                "id_number": check_text(recipient.id_number, "the recipient's ID number",
                                        allow_empty="recipient_id" not in how.documents,
                                        limit=64),
                "unit": check_text(unit, "the receiving unit",
                                   allow_empty="receiving_unit" not in how.documents,
                                   limit=200),
            }
            photo_json = check_photos(photos, "carrying out a leave")
            receipt_json = check_photos([receipt], "the signed receipt")[0]
            body: dict[str, object] = {
                "request": request, "item": record.item, "case": record.case_id,
                "leave": how.id, "final": how.final, "recipient": who, "photos": photo_json,
                "receipt": receipt_json, "second_clerk": second_clerk or None,
                # the request and its approval, so the entry alone tells the whole leave
                # (the chain-of-custody report reads it: custody.transfers)
                "requested_by": record.requested_by, "approved_by": record.decided_by,
                "decision_no": record.documents.get("decision_no", ""),
            }
            if record.due is not None:
                body["due"] = utc_text(record.due)
            self._append(LEAVE_CARRIED_OUT, body, clerk)
            if how.final and how.tell_complainant:
                case = self._case(record.case_id)
                item = self.projection.items[record.item]
                self._tell_complainant(
                    case, "released", f"progress:{case.case_id}:released:{item.label}",
                    f"item {item.label} ({item.description}): {how.name_en.lower()}"
                    f" ({how.name_zh}) to {who['name']}.",
                )
            return self.projection.leaves[request]

    # ------------------------------------------------------------------ come back

    def return_from_leave(self, request: int, *, actor: str,
                          photos: Sequence[PhotoRef]) -> LeaveRecord:
        """A temporary leave comes back (``leave.returned``): the item waits to be stored,
        its due date's ladder stops; ``late`` records whether it was overdue."""
        with self.lock:
            self._sync()
            record = self.leave_request(request)
            self.directory.require(actor, Role.CLERK, Role.OFFICER)
            if record.status != OUT:
                raise LeaveStatusError(f"leave request {request} is {record.status}, not out")
            item = self._item(record.item)
            refuse_transition(item, Action.COME_BACK)
            photo_json = check_photos(photos, "a return from a leave")
            assert record.due is not None
            self._append(LEAVE_RETURNED, {"request": request, "item": record.item,
                                          "case": record.case_id, "due": utc_text(record.due),
                                          "late": self._now() > record.due,
                                          "photos": photo_json}, actor)
            return self.projection.leaves[request]

    # ------------------------------------------------------------------ holds

    def place_hold(self, case_id: str, *, actor: str, reason: str,
                   item: str | None = None) -> HoldRecord:
        """Hold a case (still under investigation) or one item (evidence for trial):
        release and destruction are refused until it is lifted. An officer on the case or a
        supervisor places it."""
        with self.lock:
            self._sync()
            case = self._case(case_id)
            person = self.directory.require(actor, Role.OFFICER, Role.SUPERVISOR)
            if person.role is Role.OFFICER and actor not in case.officers:
                raise NotOnCaseError(f"officer {actor!r} is not on case {case_id!r}")
            label = None
            if item is not None:
                label = self._item(item).label
                if label not in case.items:
                    raise InvalidInputError(f"item {label} is not of case {case_id}")
            key = hold_key(case_id, label)
            if key in self.projection.holds:
                raise LeaveStatusError(f"{key.replace(':', ' ')} is already under a hold")
            self._append(HOLD_PLACED, {"case": case_id, "item": label,
                                       "reason": check_text(reason, "reason")}, actor)
            return self.projection.holds[key]

    def lift_hold(self, case_id: str, *, requested_by: str, approved_by: str, reason: str,
                  item: str | None = None) -> None:
        """Lift a hold (``hold.lifted``): asked for by an officer on the case or a
        supervisor, approved by a supervisor who is not the one asking."""
        with self.lock:
            self._sync()
            case = self._case(case_id)
            label = None if item is None else self._item(item).label
            key = hold_key(case_id, label)
            if key not in self.projection.holds:
                raise UnknownHoldError(f"{key.replace(':', ' ')} is not under a hold")
            person = self.directory.require(requested_by, Role.OFFICER, Role.SUPERVISOR)
            if person.role is Role.OFFICER and requested_by not in case.officers:
                raise NotOnCaseError(f"officer {requested_by!r} is not on case {case_id!r}")
            self.directory.require(approved_by, Role.SUPERVISOR)
            if approved_by == requested_by:
                raise SelfApprovalError(f"{approved_by!r} asked for the lifting: another"
                                        " supervisor approves it")
            self._append(HOLD_LIFTED, {"case": case_id, "item": label,
                                       "requested_by": requested_by,
                                       "reason": check_text(reason, "reason")}, approved_by)
