"""The steps at the terminal, on top of the custody service and the cabinets.

Nothing here writes to the ledger except through :class:`custody.services.CustodyService`,
and only at a *commit*, after the person has seen what will be recorded:

* handover: each scan (camera or scanner) photographs the item and ticks its manifest line,
  or lists it as extra; nothing is recorded until the clerk commits the handover with the
  lawfulness checklist (and a written reason when something is missing or extra).
* a compartment step (store, check-out, return): *open* names the compartment, lights it
  and releases its lock; the person works the door; *photo* takes the step's photo and
  shows it; *commit* checks the door is shut and the occupancy sensor agrees, then records.

In-progress drafts are kept per person (a clerk who is locked out by the idle timer finds
the handover where it was after signing in again). Blocking calls run off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from custody import queries
from custody.alarms import alarm_body
from custody.domain.errors import UnknownCaseError, UnknownItemError
from custody.domain.states import ItemState
from custody.labels import LabelError, parse_label
from custody.ports import PhotoRef
from custody.projection import CaseView, ItemView
from custody.queries import OfficerDay, ReturnPlace, ScanStatus
from custody.services import HandoverResult
from scanner.photostore import photo_meta
from scanner.pipeline import check_reads
from terminal.camera_view import CameraView, Shot
from terminal.errors import (
    DoorOpenError,
    NoLabelInViewError,
    NoStepError,
    NotOpenedError,
    NotYoursError,
    PhotoMissingError,
    StillEmptyError,
    StillOccupiedError,
    WrongCheckCharacterError,
)
from terminal.station import TerminalStation


@dataclass
class HandoverDraft:
    """A handover being checked: manifest lines ticked by scans, extras, their photos."""

    case_id: str
    ticked: dict[str, str] = field(default_factory=dict)  # label -> photo sha256
    extra: dict[str, str] = field(default_factory=dict)
    photos: dict[str, PhotoRef] = field(default_factory=dict)
    result: HandoverResult | None = None


@dataclass
class BayStep:
    """One compartment step under way: what, where, and how far it got."""

    purpose: str  # "store", "check_out" or "return"
    labels: tuple[str, ...]
    compartment: str
    case_id: str
    opened: bool = False
    photo: PhotoRef | None = None
    done: bool = False
    occupied_at_open: bool | None = None  # the sensor when the lock was released
    #: a return: why the file goes to this compartment (custody.queries.return_place)
    place: ReturnPlace | None = None


@dataclass(frozen=True)
class ScanOutcome:
    """What one scan did to a handover draft."""

    status: str  # "ticked", "extra", "already", "handed_over"
    label: str
    photo: str  # sha256 of the step photo


class Desk:
    """The terminal's steps for every signed-in person."""

    def __init__(self, station: TerminalStation, camera: CameraView) -> None:
        self.station = station
        self.custody = station.custody
        self.camera = camera
        self.drafts: dict[tuple[str, str], HandoverDraft] = {}
        self.steps: dict[str, BayStep] = {}
        self.returned_to: dict[str, str] = {}  # label -> compartment it was put back in
        self.queues: dict[str, list[str]] = {}  # person -> files still to take, in order
        self._lock = asyncio.Lock()

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
        with self.custody.lock:
            case = self.custody.projection.cases.get(case_id)
            if case is None:
                raise UnknownCaseError(f"no case {case_id!r} has been registered")
            return case, [self.custody.projection.items[lb] for lb in case.items]

    def item(self, label: str) -> ItemView:
        """The item of a label (raises for malformed or unknown labels)."""
        text = parse_label(label).text
        with self.custody.lock:
            item = self.custody.projection.items.get(text)
        if item is None:
            raise UnknownItemError(f"no item with label {text} has been registered")
        return item

    def draft(self, person: str, case_id: str) -> HandoverDraft:
        """The handover draft of a person for a case (a fresh one the first time)."""
        key = (person, case_id)
        if key not in self.drafts:
            self.drafts[key] = HandoverDraft(case_id)
        return self.drafts[key]

    def return_place(self, item: ItemView) -> ReturnPlace:
        """Where a checked-out file goes back, and why (custody.queries' one rule)."""
        with self.custody.lock:
            return queries.return_place(self.custody.projection, item.label,
                                        exclude=self.station.reserved)

    def officer_day(self, officer: str, now: datetime) -> OfficerDay:
        """The officer's files: overdue on top (with their escalation step), out, to take."""
        with self.custody.lock:
            return queries.officer_day(self.custody.projection, officer, now)

    # ------------------------------------------------------------------ scans and photos

    async def _photo(self, shot: Shot, compartment: str | None = None) -> PhotoRef:
        meta = photo_meta(shot.image, shot.reads, compartment=compartment)
        return await asyncio.to_thread(self.station.photos.put, shot.image.data, meta)

    async def identify(self, typed: str | None) -> tuple[list[str], Shot]:
        """The labels of a scan: the typed (scanner) text, else what the camera reads.

        Always photographs. A typed or read label with a wrong check character is refused
        with :class:`WrongCheckCharacterError`; nothing in view is :class:`NoLabelInViewError`.
        """
        shot = await self.camera.photograph()
        if typed is not None and typed.strip():
            try:
                return [parse_label(typed).text], shot
            except LabelError as exc:
                raise WrongCheckCharacterError(str(exc), label=typed.strip().upper()) from exc
        scan = check_reads(shot.reads)
        if scan.valid:
            return [label.text for label in scan.labels], shot
        if scan.rejected:
            bad = scan.rejected[0]
            raise WrongCheckCharacterError(bad.reason, label=bad.read.text)
        raise NoLabelInViewError("no barcode in view")

    async def scan_for_handover(
        self, person: str, case_id: str, typed: str | None
    ) -> list[ScanOutcome]:
        """Scan one item for a case's handover: tick its line, or list it as extra."""
        self.case(case_id)
        labels, shot = await self.identify(typed)
        ref = await self._photo(shot)
        draft = self.draft(person, case_id)
        outcomes = []
        with self.custody.lock:
            proj = self.custody.projection
            for text in labels:
                verdict = queries.handover_scan(proj, case_id, text)
                if text in draft.ticked or text in draft.extra:
                    outcomes.append(ScanOutcome("already", text, ref.sha256))
                    continue
                if verdict.status is ScanStatus.HANDED_OVER:
                    # taken over before: not ticked, not an extra (the service refuses it)
                    outcomes.append(ScanOutcome("handed_over", text, ref.sha256))
                    continue
                draft.photos[ref.sha256] = ref
                if verdict.status is ScanStatus.ON_MANIFEST:
                    draft.ticked[text] = ref.sha256
                    outcomes.append(ScanOutcome("ticked", text, ref.sha256))
                else:
                    draft.extra[text] = ref.sha256
                    outcomes.append(ScanOutcome("extra", text, ref.sha256))
        return outcomes

    def drop_extra(self, person: str, case_id: str, label: str) -> None:
        """Set an extra item aside (it is not handed over and not recorded)."""
        draft = self.draft(person, case_id)
        draft.extra.pop(label, None)

    async def commit_handover(
        self, person: str, case_id: str, checklist: Mapping[str, bool], reason: str
    ) -> HandoverResult:
        """Record the handover (the custody service checks the checklist and the reason)."""
        draft = self.draft(person, case_id)
        used = set(draft.ticked.values()) | set(draft.extra.values())
        photos = [draft.photos[sha] for sha in sorted(used)]
        result = await asyncio.to_thread(
            self.custody.handover,
            case_id,
            clerk=person,
            scanned=sorted(draft.ticked) + sorted(draft.extra),
            checklist=dict(checklist),
            photos=photos,
            reason=reason,
        )
        draft.result = result
        self.drafts.pop((person, case_id), None)
        return result

    # ------------------------------------------------------------------ compartment steps

    def step(self, person: str) -> BayStep:
        """The person's compartment step under way."""
        step = self.steps.get(person)
        if step is None:
            raise NoStepError("no compartment step under way")
        return step

    async def open_store(self, person: str, case_id: str) -> BayStep:
        """Start storing a case's handed-over (or returned) items: pick, light and open."""
        _, items = self.case(case_id)
        labels = tuple(sorted(
            i.label for i in items if i.state in (ItemState.HANDED_OVER, ItemState.RETURNED)
        ))
        if not labels:
            raise NoStepError(f"case {case_id} has nothing waiting to be stored")
        back = {self.returned_to.get(lb) for lb in labels} - {None}
        where = back.pop() if len(back) == 1 else await self.station.free_compartment(case_id)
        return await self._open(person, BayStep("store", labels, str(where), case_id))

    async def open_check_out(self, person: str, label: str) -> BayStep:
        """Start taking a stored file out: its compartment is lit and opened."""
        item = self.item(label)
        with self.custody.lock:
            case = self.custody.projection.cases[item.case_id]
        if person not in case.officers:
            raise NotYoursError(f"{person} is not on case {item.case_id}", label=item.label)
        if item.state is not ItemState.STORED or item.compartment is None:
            raise NotYoursError(f"{item.label} is not in a compartment", label=item.label)
        return await self._open(
            person, BayStep("check_out", (item.label,), item.compartment, item.case_id)
        )

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
            item = self.item(label)
            if item.state is ItemState.STORED:
                return await self.open_check_out(person, label)
        self.queues.pop(person, None)
        return None

    async def open_return(self, person: str, typed: str | None) -> BayStep:
        """Identify a file being returned (scanner or camera) and open where it goes."""
        labels, shot = await self.identify(typed)
        item = self.item(labels[0])
        if item.state is not ItemState.CHECKED_OUT or item.holder != person:
            raise NotYoursError(f"{item.label} is not checked out to {person}",
                                label=item.label)
        place = self.return_place(item)
        if place.compartment is None:  # stage 3 of the rule: a free one, as the station sees
            place = replace(place, compartment=await self.station.free_compartment(
                item.case_id))
        where = str(place.compartment)
        step = BayStep("return", (item.label,), where, item.case_id, place=place)
        step.photo = await self._photo(shot, where)
        return await self._open(person, step)

    async def _open(self, person: str, step: BayStep) -> BayStep:
        old = self.steps.get(person)
        if old is not None and not old.done and old.compartment != step.compartment:
            await self.station.light(old.compartment, False)
            self.station.release_claim(old.compartment)
        before = await self.station.compartment_state(step.compartment, fresh=True)
        step.occupied_at_open = before.occupied
        await self.station.open_compartment(step.compartment, f"terminal {step.purpose}")
        step.opened = True
        self.steps[person] = step
        return step

    async def reopen(self, person: str) -> BayStep:
        """Release the step's lock again (the person was too slow to pull the door)."""
        step = self.step(person)
        await self.station.open_compartment(step.compartment)
        return step

    async def photograph_step(self, person: str) -> PhotoRef:
        """Take the step's photo (shown to the person before the step is committed)."""
        step = self.step(person)
        if not step.opened:
            raise NotOpenedError("open the compartment first")
        shot = await self.camera.photograph()
        step.photo = await self._photo(shot, step.compartment)
        return step.photo

    async def commit_step(self, person: str) -> BayStep:
        """Check door and sensor, then record the step in the ledger."""
        step = self.step(person)
        if step.done:
            return step
        if not step.opened:
            raise NotOpenedError("open the compartment first")
        if step.photo is None:
            raise PhotoMissingError("take the step's photo first")
        state = await self.station.compartment_state(step.compartment, fresh=True)
        if not state.door_closed:
            raise DoorOpenError("close the door first", compartment=step.compartment)
        if step.purpose in ("store", "return") and not state.occupied:
            raise StillEmptyError("the compartment reads empty", compartment=step.compartment)
        if step.purpose == "check_out" and state.occupied and self._empties(step):
            raise StillOccupiedError("the file is still in the compartment",
                                     compartment=step.compartment)
        photos = [step.photo]
        if step.purpose == "store":
            for label in step.labels:
                item = self.item(label)
                if item.state is ItemState.STORED and item.compartment == step.compartment:
                    continue  # stored by an earlier try of this same commit
                await asyncio.to_thread(
                    self.custody.store, label, compartment=step.compartment,
                    photos=photos, clerk=person,
                )
                self.returned_to.pop(label, None)
        elif step.purpose == "check_out":
            await asyncio.to_thread(
                self.custody.check_out, step.labels[0], officer=person, photos=photos
            )
        else:
            await asyncio.to_thread(
                self.custody.return_item, step.labels[0], photos=photos, actor=person
            )
            self.returned_to[step.labels[0]] = step.compartment
        step.done = True
        await self.station.light(step.compartment, False)
        self.station.release_claim(step.compartment)
        return step

    def _empties(self, step: BayStep) -> bool:
        """Whether taking the step's items leaves their compartment empty (sensor can tell)."""
        with self.custody.lock:
            held = self.custody.projection.compartments.get(step.compartment, set())
            return held <= set(step.labels)

    async def cancel_step(self, person: str, *, why: str = "cancelled") -> BayStep | None:
        """End the person's step without recording it (cancel, or the session ended).

        The compartment's claim is given up, so its door and sensor are watched again. If
        the occupancy sensor no longer reads what it read when the lock was released (an
        item was taken out or put in, and the step was not confirmed), that is recorded as
        an alarm (``alarm.item_removed`` / ``alarm.item_placed``): a step left half done is
        never passed over. A cancel with the door still open is refused.
        """
        self.queues.pop(person, None)
        step = self.steps.get(person)
        if step is None or step.done:
            self.steps.pop(person, None)
            return step
        state = await self.station.compartment_state(step.compartment, fresh=True)
        if not state.door_closed and why == "cancelled":
            raise DoorOpenError("close the door first", compartment=step.compartment)
        self.steps.pop(person, None)
        if step.occupied_at_open is not None and state.occupied != step.occupied_at_open:
            kind = "alarm.item_removed" if step.occupied_at_open else "alarm.item_placed"
            cab = step.compartment.rpartition("/")[0]
            body = alarm_body(cabinet=cab, compartment=step.compartment, items=step.labels,
                              event=why, detail=f"{step.purpose} of {', '.join(step.labels)} "
                              f"by {person} was not confirmed after the occupancy changed")
            if self.station.record is not None:
                await asyncio.to_thread(self.station.record, kind, body, "terminal")
        await self.station.light(step.compartment, False)
        self.station.release_claim(step.compartment)
        return step
