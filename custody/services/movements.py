"""Custody movements after handover: store, check out, return, dispose."""

from __future__ import annotations

from collections.abc import Sequence

from custody.domain.errors import CompartmentInUseError, InvalidInputError, NotOnCaseError
from custody.domain.people import Role
from custody.domain.states import Action, DisposalKind
from custody.domain.values import check_compartment, check_photos, check_text, utc_text
from custody.leaving import refuse_under_hold
from custody.ports import PhotoRef
from custody.projection import (
    ITEM_CHECKED_OUT,
    ITEM_DISPOSED,
    ITEM_RETURNED,
    ITEM_STORED,
    ItemView,
)
from custody.services.checks import refuse_transition
from custody.services.core import ServiceCore


class Movements(ServiceCore):
    """The commands that move a handed-over item: into a compartment, out, back, and away."""

    def store(
        self, label: str, *, compartment: str, photos: Sequence[PhotoRef], clerk: str
    ) -> ItemView:
        """Lock a handed-over or returned item in a compartment (``cabinet/n``)."""
        with self.lock:
            self._sync()
            item = self._item(label)
            self.directory.require(clerk, Role.CLERK)
            where = check_compartment(compartment)
            photo_json = check_photos(photos, "storing an item")
            refuse_transition(item, Action.STORE)
            held = self.projection.compartments.get(where, set())
            others = {self.projection.items[o].case_id for o in held} - {item.case_id}
            if others:
                raise CompartmentInUseError(
                    f"compartment {where} holds items of case(s) {', '.join(sorted(others))};"
                    " cases are never mixed in one compartment"
                )
            body = {"item": item.label, "case": item.case_id, "compartment": where,
                    "photos": photo_json}
            self._append(ITEM_STORED, body, clerk)
            return self.projection.items[item.label]

    def check_out(
        self, label: str, *, officer: str, photos: Sequence[PhotoRef], actor: str | None = None
    ) -> ItemView:
        """Check a stored item out to an officer on its case, due back at the return time."""
        with self.lock:
            self._sync()
            item = self._item(label)
            self.directory.require(officer, Role.OFFICER)
            who = actor or officer
            self.directory.require(who, Role.OFFICER, Role.CLERK)
            case = self._case(item.case_id)
            if officer not in case.officers:
                raise NotOnCaseError(
                    f"officer {officer!r} is not on case {case.case_id!r}, so cannot check out"
                    f" {item.label}"
                )
            photo_json = check_photos(photos, "a check-out")
            refuse_transition(item, Action.CHECK_OUT)
            due = self._calendar.due_back(self._now())
            body = {"item": item.label, "case": item.case_id, "officer": officer,
                    "due": utc_text(due), "photos": photo_json}
            self._append(ITEM_CHECKED_OUT, body, who)
            return self.projection.items[item.label]

    def return_item(
        self, label: str, *, photos: Sequence[PhotoRef], actor: str,
        compartment: str | None = None,
    ) -> ItemView:
        """Take back a checked-out item (it then awaits storage); records whether it was late
        and, when given, the ``compartment`` it was put back in (where the clerk's store step
        then goes, also after a restart)."""
        with self.lock:
            self._sync()
            item = self._item(label)
            self.directory.require(actor, Role.OFFICER, Role.CLERK)
            photo_json = check_photos(photos, "a return")
            refuse_transition(item, Action.RETURN)
            assert item.due_back is not None and item.holder is not None
            body: dict[str, object] = {
                "item": item.label, "case": item.case_id, "officer": item.holder,
                "due": utc_text(item.due_back), "late": self._now() > item.due_back,
                "photos": photo_json}
            if compartment is not None:
                body["compartment"] = check_compartment(compartment)
            self._append(ITEM_RETURNED, body, actor)
            return self.projection.items[item.label]

    def dispose(
        self,
        label: str,
        *,
        disposal: DisposalKind | str,
        approved_by: str,
        actor: str,
        reference: str = "",
        photos: Sequence[PhotoRef] = (),
    ) -> ItemView:
        """End an item's custody in one step (to its owner, the prosecutor, the court, or
        destroyed): the supervisor's approval is given with the call; the complainant is told.

        The station's own path is the three-step leave (:mod:`custody.services.leaving`:
        request, decision, carrying out at the cabinet); both are refused under a hold
        (:func:`custody.leaving.refuse_under_hold`, the one rule).
        """
        with self.lock:
            self._sync()
            item = self._item(label)
            try:
                how = DisposalKind(disposal)
            except ValueError:
                raise InvalidInputError(
                    f"disposal {disposal!r} is not one of "
                    + ", ".join(k.value for k in DisposalKind)
                ) from None
            self.directory.require(approved_by, Role.SUPERVISOR)
            self.directory.require(actor, Role.CLERK, Role.SUPERVISOR)
            photo_json = check_photos(photos, "a disposal", required=False)
            refuse_transition(item, Action.DISPOSE)
            refuse_under_hold(self.projection.holds, item.case_id, item.label, "a disposal")
            body = {"item": item.label, "case": item.case_id, "disposal": how.value,
                    "approved_by": approved_by,
                    "reference": check_text(reference, "reference", allow_empty=True),
                    "photos": photo_json}
            self._append(ITEM_DISPOSED, body, actor)
            case = self._case(item.case_id)
            self._tell_complainant(
                case, "disposed", f"progress:{case.case_id}:disposed:{item.label}",
                f"item {item.label} ({item.description}): {how.value.replace('_', ' ')}.",
            )
            return self.projection.items[item.label]
