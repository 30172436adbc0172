"""Leaving custody through the one step service: request, decide, carry out, come back.

The kiosk, the console and the demo call these (as ``StepService.leave``), each step
attributed to the person signed in with their own badge and PIN; every write goes through
the runtime's one writer and the custody service's rules (:mod:`custody.services.leaving`).

Carrying out is a compartment step of the step service (purpose ``leave``): the custody
service is asked first whether this clerk (and the second clerk, for cash and valuables)
may carry the request out, so the wrong person is refused before any door opens and
nothing is written; then the compartment is lit and released, the door watched, the step
photographed, and the commit judges the sensor (the item must be gone: else
``flow.failed``, as a check-out). Before the commit the clerk records the recipient (name,
ID number, unit) and photographs the signed receipt; the commit writes
``leave.carried_out``. The approval is in the ledger, so a daemon restart between approval
and carrying out loses nothing: the clerk opens the step again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from custody.domain.states import ItemState
from custody.leaving import OPEN_STATUSES, LeaveRecord, Recipient
from custody.ports import PhotoRef
from terminal.errors import NoStepError, NotYoursError, PhotoMissingError
from terminal.ports import BayStep

if TYPE_CHECKING:
    from lockerd.steps import StepService

#: the step service's purpose of a carrying-out step
LEAVE = "leave"


@dataclass
class Carrying:
    """What a clerk's carrying-out step has recorded so far (before the commit)."""

    request: int
    second_clerk: str | None = None
    recipient: Recipient | None = None
    receipt: PhotoRef | None = None


class LeaveSteps:
    """The leave steps of one station (``StepService.leave``)."""

    def __init__(self, steps: StepService) -> None:
        self.s = steps
        self.rt = steps.rt
        self.carrying: dict[str, Carrying] = {}  # by the clerk's id
        steps.recorders[LEAVE] = self._record

    # ------------------------------------------------------------------ reading

    def requests(self) -> list[LeaveRecord]:
        """Requests still in progress (asked, approved, out), oldest first."""
        with self.rt.custody.lock:
            return [r for r in self.rt.custody.projection.leaves.values()
                    if r.status in OPEN_STATUSES]

    def request(self, request: int) -> LeaveRecord:
        """One request (UnknownLeaveError if none)."""
        with self.rt.custody.lock:
            return self.rt.custody.leave_request(request)

    # ------------------------------------------------------------------ request, decide

    async def ask(self, person: str, label: str, *, kind: str, reason: str,
                  documents: dict[str, str], due: datetime | None = None) -> LeaveRecord:
        """The officer in charge asks for an item to leave (``leave.requested``)."""
        record = await self.rt.call(self.rt.custody.request_leave, label, kind=kind,
                                    officer=person, reason=reason, documents=documents, due=due)
        self.rt.ledger_changed()
        return record

    async def decide(self, person: str, request: int, *, approve: bool,
                     reason: str) -> LeaveRecord:
        """A supervisor (signed in with their own badge and PIN) approves or refuses."""
        record = await self.rt.call(self.rt.custody.decide_leave, request, supervisor=person,
                                    approve=approve, reason=reason)
        self.rt.ledger_changed()
        return record

    # ------------------------------------------------------------------ carry out

    async def open(self, person: str, request: int,
                   second_clerk: str | None = None) -> BayStep:
        """Start carrying a request out: refused (nothing written, no door opened) for the
        wrong person, a missing second clerk, a hold, a request not approved; else the
        item's compartment is lit and released."""
        record = await self.rt.call(self.rt.custody.check_carrier, request, clerk=person,
                                    second_clerk=second_clerk)
        item = self.s.item(record.item)
        if item.state is not ItemState.STORED or item.compartment is None:
            raise NotYoursError(f"{item.label} is not in a compartment (it is"
                                f" {item.state.value}): store it first", label=item.label)
        self.carrying[person] = Carrying(request, second_clerk)
        step = BayStep(LEAVE, (item.label,), item.compartment, item.case_id, "stored_here",
                       person)
        return await self.s._open(step)

    def _carrying(self, person: str) -> Carrying:
        found = self.carrying.get(person)
        step = self.s.step(person)
        if found is None or step is None or step.purpose != LEAVE:
            raise NoStepError("no carrying-out step under way")
        return found

    def recipient(self, person: str, recipient: Recipient) -> None:
        """Who receives the item (checked by the custody service at the commit)."""
        self._carrying(person).recipient = recipient

    async def receipt(self, person: str) -> PhotoRef:
        """Photograph the signed receipt held up to the camera."""
        carrying = self._carrying(person)
        shot = await self.s.shoot()
        carrying.receipt = await self.s.keep(shot, step="leave_receipt", actor=person)
        return carrying.receipt

    async def commit(self, person: str) -> LeaveRecord:
        """Judge door and sensor and record ``leave.carried_out`` (the step service's
        commit); the recipient and the receipt's photo are needed first."""
        carrying = self._carrying(person)
        if carrying.recipient is None:
            raise PhotoMissingError("record the recipient first")
        if carrying.receipt is None:
            raise PhotoMissingError("photograph the signed receipt first")
        await self.s.commit(person)
        return self.request(carrying.request)

    async def finish(self, person: str) -> LeaveRecord:
        """The rest of a carrying out with nothing to decide (console, demo): wait for the
        door, photograph the step, commit."""
        await self.s.wait_door(person)
        await self.s.photograph(person)
        return await self.commit(person)

    async def _record(self, step: BayStep, photos: list[PhotoRef]) -> None:
        carrying = self.carrying[step.person]
        record = self.request(carrying.request)
        if record.status not in ("approved",):  # an earlier try already wrote it
            return
        assert carrying.recipient is not None and carrying.receipt is not None
        await self.rt.call(self.rt.custody.carry_out_leave, carrying.request,
                           clerk=step.person, recipient=carrying.recipient, photos=photos,
                           receipt=carrying.receipt, second_clerk=carrying.second_clerk)
        self.carrying.pop(step.person, None)

    # ------------------------------------------------------------------ come back

    async def come_back(self, person: str, request: int) -> LeaveRecord:
        """A temporary leave comes back (photographed): the item then waits to be stored
        (the clerk's store step)."""
        shot = await self.s.shoot()
        ref = await self.s.keep(shot, step="leave_return", actor=person)
        record = await self.rt.call(self.rt.custody.return_from_leave, request, actor=person,
                                    photos=[ref])
        self.rt.ledger_changed()
        return record

    # ------------------------------------------------------------------ holds

    async def hold(self, person: str, case_id: str, reason: str,
                   item: str | None = None) -> None:
        """Hold a case or an item (release and destruction refused until lifted)."""
        await self.rt.call(self.rt.custody.place_hold, case_id, actor=person, reason=reason,
                           item=item)
        self.rt.ledger_changed()

    async def lift(self, person: str, approver: str, case_id: str, reason: str,
                   item: str | None = None) -> None:
        """Lift a hold: asked by ``person``, approved by ``approver`` (a supervisor who
        signed in with their own badge and PIN)."""
        await self.rt.call(self.rt.custody.lift_hold, case_id, requested_by=person,
                           approved_by=approver, reason=reason, item=item)
        self.rt.ledger_changed()
