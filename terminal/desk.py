"""The kiosk's desk: what the screens show, and the steps, driven on ``lockerd``'s step
service (:class:`~terminal.ports.StepDesk`).

Nothing here writes to the ledger or touches a cabinet: the step service does both (the same
service ``locker terminal`` and the demo drive, so the same action writes the same entries),
and only at a *commit*, after the person has seen what will be recorded. This module reads
the custody state for the screens and keeps what is only the kiosk's own: the order of a
"take all" (each confirmed check-out opens the next).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from custody import queries
from custody.domain.states import ItemState
from custody.ports import PhotoRef
from custody.projection import CaseView, ItemView
from custody.queries import OfficerDay
from terminal.errors import NoStepError, NotYoursError
from terminal.ports import BayStep, HandedOver, HandoverDraft, LabelRun, ScanOutcome
from terminal.station import TerminalStation


class Desk:
    """The terminal's steps for every signed-in person."""

    def __init__(self, station: TerminalStation) -> None:
        self.station = station
        self.custody = station.custody
        self.service = station.steps
        self.queues: dict[str, list[str]] = {}  # person -> files still to take, in order

    # ------------------------------------------------------------------ reading

    def pending_cases(self) -> list[tuple[CaseView, list[ItemView]]]:
        """Cases with items awaiting handover, the oldest deadline first."""
        with self.custody.lock:
            found = queries.pending_handovers(self.custody.projection)
        return [(ci.case, list(ci.items)) for ci in found]

    def to_store(self) -> list[tuple[CaseView, list[ItemView]]]:
        """Cases with items handed over or returned and not stored yet."""
        with self.custody.lock:
            found = queries.to_store(self.custody.projection)
        return [(ci.case, list(ci.items)) for ci in found]

    def case(self, case_id: str) -> tuple[CaseView, list[ItemView]]:
        """A case and its items (UnknownCaseError if absent)."""
        return self.service.case(case_id)

    def item(self, label: str) -> ItemView:
        """The item of a label (raises for malformed or unknown labels)."""
        return self.service.item(label)

    def draft(self, person: str, case_id: str) -> HandoverDraft:
        """The handover draft of a person for a case (a fresh one the first time)."""
        return self.service.draft(person, case_id)

    def step(self, person: str) -> BayStep | None:
        """The person's compartment step under way, if any."""
        return self.service.step(person)

    def officer_day(self, officer: str, now: datetime) -> OfficerDay:
        """The officer's files: overdue on top (with their escalation step), out, to take."""
        with self.custody.lock:
            return queries.officer_day(self.custody.projection, officer, now)

    # ------------------------------------------------------------------ the steps

    async def scan_for_handover(
        self, person: str, case_id: str, typed: str | None
    ) -> list[ScanOutcome]:
        """Scan one item for a case's handover: tick its line, or list it as extra."""
        return await self.service.scan_for_handover(person, case_id, typed)

    def drop_extra(self, person: str, case_id: str, label: str) -> None:
        """Set an extra item aside (it is not handed over and not recorded)."""
        self.service.drop_extra(person, case_id, label)

    async def commit_handover(
        self, person: str, case_id: str, checklist: Mapping[str, bool], reason: str
    ) -> HandedOver:
        """Record the handover (the custody service checks the checklist and the reason);
        the labels its items lack are printed after it."""
        return await self.service.commit_handover(person, case_id, checklist, reason)

    async def reprint(self, person: str, label: str) -> LabelRun:
        """Print an item's label again."""
        return await self.service.reprint(person, label)

    async def open_store(self, person: str, case_id: str) -> BayStep:
        """Start storing a case's waiting items."""
        return await self.service.open_store(person, case_id)

    async def open_check_out(self, person: str, label: str) -> BayStep:
        """Start taking a stored file out."""
        return await self.service.open_check_out(person, label)

    async def open_check_out_all(self, person: str, now: datetime) -> BayStep:
        """Take every file of today, one compartment after the other: the first opens now,
        each confirmed check-out opens the next (:meth:`next_in_queue`)."""
        labels = [i.label for i in self.officer_day(person, now).to_take]
        if not labels:
            raise NotYoursError(f"{person} has no file to take", label="")
        self.queues[person] = labels[1:]
        return await self.open_check_out(person, labels[0])

    async def next_in_queue(self, person: str) -> BayStep | None:
        """Open the next file of a "take all" (None when the queue is done)."""
        queue = self.queues.get(person, [])
        while queue:
            label = queue.pop(0)
            if self.item(label).state is ItemState.STORED:
                return await self.open_check_out(person, label)
        self.queues.pop(person, None)
        return None

    async def open_return(self, person: str, typed: str | None) -> BayStep:
        """Identify a file being returned (scanner or camera) and open where it goes."""
        return await self.service.open_return(person, typed)

    async def reopen(self, person: str) -> BayStep:
        """Release the step's lock again (the person was too slow to pull the door)."""
        return await self.service.reopen(person)

    async def photograph_step(self, person: str) -> PhotoRef:
        """Take the step's photo (shown before the step is committed)."""
        return await self.service.photograph(person)

    async def commit_step(self, person: str) -> BayStep:
        """Judge door and sensor, then record the step (or the failure that ended it)."""
        if self.service.step(person) is None:
            raise NoStepError("no compartment step under way")
        return await self.service.commit(person)

    async def cancel_step(self, person: str) -> BayStep | None:
        """End the person's step without recording it (see the step service)."""
        self.queues.pop(person, None)
        return await self.service.cancel(person)
