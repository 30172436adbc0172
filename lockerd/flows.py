"""The terminal flows at the cabinet: handover, check-in, check-out and return.

A plain async API over a :class:`~lockerd.runtime.Runtime`, used by the command line, the
demo and (later) the kiosk. Every physical step is watched through the cabinet's sensors
and photographed, and every outcome is written to the ledger:

- **check-in** (:meth:`Flows.check_in`): the clerk scans the item; a free compartment is
  picked, its LED lit, its lock released (the poller told to expect the door); the door
  must open and close, the occupancy sensor must then read occupied; a photo is taken and
  ``item.stored`` written with the scan photo and the compartment photo.
- **check-out** (:meth:`Flows.check_out`): the officer identifies with badge and PIN
  (:meth:`Flows.identify`) and sees the files he may take (:meth:`Flows.files_for`); their
  compartments open one after another, each removal confirmed by the sensor.
- **return** (:meth:`Flows.return_files`): the officer scans the files he brings back;
  their compartments open together; after the doors close each must read occupied, and a
  compartment still empty means a file went into the wrong compartment: an alarm.

A step that fails (a door never opened, a door left open, a compartment still empty, an
item not taken out) is **reported and recorded**: a ``flow.failed`` (or ``alarm.*``) entry
is written, then a :class:`FlowError` carrying its seq is raised or listed in the report.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from custody.domain.errors import IllegalTransitionError, NotCheckedOutError, NotOnCaseError
from custody.domain.people import Person, Role
from custody.domain.states import Action, ItemKind, ItemState, allowed
from custody.errors import LockerError
from custody.labels import parse_label
from custody.ports import CompartmentState, LabelRead, PhotoRef
from custody.projection import ITEM_STORED, ItemView
from custody.services import HandoverResult
from lockerd.alarms import ALARM_PIN_LOCKOUT, ALARM_WRONG_COMPARTMENT, FLOW_FAILED
from lockerd.config import check_pin
from lockerd.runtime import Runtime
from scanner.errors import LabelScanError
from scanner.photostore import photo_meta
from scanner.pipeline import check_reads

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- errors


class FlowError(LockerError):
    """A flow step failed; it has been recorded in the ledger as entry ``seq``."""

    def __init__(self, message: str, *, seq: int | None = None, step: str = "") -> None:
        super().__init__(message)
        self.seq = seq
        self.step = step


class NoFreeCompartmentError(FlowError):
    """No compartment is free (empty, closed, not in use, cabinet online)."""


class DoorTimeoutError(FlowError):
    """A released door was not opened, or an opened door not closed, in time."""


class CompartmentEmptyError(FlowError):
    """After a check-in the compartment's sensor still reads empty."""


class ItemNotRemovedError(FlowError):
    """After a check-out the compartment's sensor still reads occupied."""


class WrongCompartmentError(FlowError):
    """After a return a file's compartment reads empty: it went somewhere else."""


class AuthError(LockerError):
    """Badge or PIN not accepted."""


class LockedOutError(AuthError):
    """Too many wrong PINs for this badge."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Scan:
    """A label read in front of the camera, with the photo of that moment.

    The photo's reference is known at once (its hash); ``stored`` is the store's write,
    which may still be running: :meth:`saved` waits for it (a flow awaits it before any
    ledger entry names the photo, so no entry ever points at a photo not on disk)."""

    label: str
    photo: PhotoRef
    reads: tuple[LabelRead, ...]
    stored: asyncio.Future[PhotoRef] | None = field(default=None, compare=False, repr=False)

    async def saved(self) -> PhotoRef:
        """The photo reference, once the photo is safely in the store."""
        if self.stored is not None:
            await self.stored
        return self.photo


@dataclass(frozen=True)
class StepResult:
    """One item through one flow: where, the entries written, the photos taken."""

    label: str
    compartment: str
    seqs: tuple[int, ...]
    photos: tuple[PhotoRef, ...]


@dataclass
class FlowReport:
    """A multi-item flow: what went through and what failed (each failure recorded)."""

    done: list[StepResult] = field(default_factory=list)
    failed: list[FlowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def split_where(where: str) -> tuple[str, int]:
    """``"A/3"`` -> ``("A", 3)``."""
    cab, _, idx = where.rpartition("/")
    return cab, int(idx)


# --------------------------------------------------------------------------- flows


class Flows:
    """The flows of one station (one instance per runtime)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._pin_failures: dict[str, int] = {}

    # ------------------------------------------------------------------ people

    def _person(self, person_id: str, *roles: Role) -> Person:
        directory = self.rt.custody.directory
        return directory.require(person_id, *roles) if roles else directory.get(person_id)

    async def identify(self, badge: str, pin: str) -> Person:
        """The person with this badge, if the PIN matches; repeated failures lock out."""
        entry = next((p for p in self.rt.cfg.people if p.badge and p.badge == badge), None)
        if entry is None:
            raise AuthError("badge not recognised")
        limit = self.rt.cfg.terminal.pin_max_attempts
        if self._pin_failures.get(badge, 0) >= limit:
            raise LockedOutError(f"badge {badge} is locked after {limit} wrong PINs; ask a clerk")
        ok = bool(entry.pin_hash) and await asyncio.to_thread(check_pin, pin, entry.pin_hash)
        if not ok:
            n = self._pin_failures.get(badge, 0) + 1
            self._pin_failures[badge] = n
            if n >= limit:
                await self.rt.record(
                    ALARM_PIN_LOCKOUT, {"badge": badge, "person": entry.id, "attempts": n}
                )
                raise LockedOutError(f"badge {badge} is now locked after {n} wrong PINs")
            raise AuthError(f"wrong PIN ({limit - n} attempt(s) left)")
        self._pin_failures.pop(badge, None)
        return self._person(entry.id)

    def unlock_badge(self, badge: str) -> None:
        """A clerk clears a PIN lockout."""
        self._pin_failures.pop(badge, None)

    def files_for(self, officer: str, *, include_exhibits: bool = False) -> list[ItemView]:
        """Stored items of the officer's cases he may check out now (case files by
        default), in label order."""
        proj = self.rt.custody.projection
        out = []
        for item in proj.items_in(ItemState.STORED):
            case = proj.cases[item.case_id]
            if officer not in case.officers:
                continue
            if item.kind != ItemKind.CASE_FILE.value and not include_exhibits:
                continue
            out.append(item)
        return out

    def files_out(self, officer: str) -> list[ItemView]:
        """Items checked out to the officer, due-back order."""
        items = [
            i for i in self.rt.custody.projection.items_in(ItemState.CHECKED_OUT)
            if i.holder == officer
        ]
        return sorted(items, key=lambda i: (i.due_back is None, i.due_back, i.label))

    # ------------------------------------------------------------------ camera

    async def photograph(
        self, *, step: str, actor: str, compartment: str | None = None, read: bool = True
    ) -> tuple[PhotoRef, tuple[LabelRead, ...]]:
        """Take a photo, read its labels (unless ``read`` is off), store it; returns its
        reference and the reads."""
        rt = self.rt
        image = await asyncio.to_thread(rt.camera.capture)
        reads: tuple[LabelRead, ...] = ()
        if read:
            reads = tuple(await asyncio.to_thread(rt.reader.read, image.data))
        meta = photo_meta(image, reads, compartment=compartment,
                          extra={"step": step, "actor": actor})
        ref = await asyncio.to_thread(rt.photos.put, image.data, meta)
        return ref, reads

    async def scan(
        self, *, actor: str, step: str, expect: str | None = None, background: bool = False
    ) -> Scan:
        """Read the one item label in front of the camera (or ``expect`` among several).

        Takes up to ``[scanner] attempts`` frames (a label half out of view, glare); only the
        frame that was read is stored. No valid label raises ``LabelScanError`` and names no
        item."""
        rt = self.rt
        attempts = rt.cfg.scanner.attempts
        for attempt in range(1, attempts + 1):
            image = await asyncio.to_thread(rt.camera.capture)
            reads = tuple(await asyncio.to_thread(rt.reader.read, image.data))
            checked = check_reads(reads)
            try:
                label = checked.require(expect) if expect else checked.only()
            except LabelScanError:
                if attempt == attempts:
                    raise
                continue
            meta = photo_meta(image, reads, extra={"step": step, "actor": actor})
            if background:  # the flow goes on; the write is awaited before the ledger entry
                ref = PhotoRef(hashlib.sha256(image.data).hexdigest(), len(image.data))
                task = asyncio.ensure_future(asyncio.to_thread(rt.photos.put, image.data, meta))
                return Scan(label.text, ref, reads, task)
            ref = await asyncio.to_thread(rt.photos.put, image.data, meta)
            return Scan(label.text, ref, reads)
        raise LabelScanError("no frame taken")  # attempts >= 1: not reached

    # ------------------------------------------------------------------ recording

    async def _fail(
        self,
        cls: type[FlowError],
        message: str,
        *,
        flow: str,
        step: str,
        actor: str,
        item: str | None,
        compartment: str | None,
        kind: str = FLOW_FAILED,
        extra: dict[str, Any] | None = None,
    ) -> FlowError:
        body: dict[str, Any] = {
            "flow": flow,
            "step": step,
            "item": item,
            "compartment": compartment,
            "message": message,
            **(extra or {}),
        }
        seq = await self.rt.record(kind, body, actor=actor)
        log.warning("%s %s failed at %s: %s (seq %d)", flow, item, step, message, seq)
        return cls(f"{message} (recorded as entry {seq})", seq=seq, step=step)

    # ------------------------------------------------------------------ compartments

    async def _status(self, cab: str) -> Any:
        """The poller's latest status of a cabinet (waits for the first poll)."""
        for _ in range(400):
            status = self.rt.poller.last_status(cab)
            if status is not None:
                return status
            await asyncio.sleep(self._tick)
        raise NoFreeCompartmentError(f"cabinet {cab} has not answered a poll yet")

    @property
    def _tick(self) -> float:
        return max(self.rt.cfg.station.poll_interval_ms / 2000.0, 0.002)

    def _free(self, where: str, state: CompartmentState) -> bool:
        cab, idx = split_where(where)
        return (
            where not in self.rt.custody.projection.compartments
            and not self.rt.alarms.claimed(cab, idx)
            and state.door_closed
            and not state.occupied
        )

    def _pick_free(self, prefer: str | None = None) -> str | None:
        """A free compartment (``prefer`` first), claimed at once so no other flow takes it."""
        candidates: list[str] = [prefer] if prefer else []
        for cab in self.rt.cabinets:
            status = self.rt.poller.last_status(cab)
            if status is None or not self.rt.poller.is_online(cab):
                continue
            candidates.extend(f"{cab}/{c.index}" for c in status.compartments)
        for where in candidates:
            cab, idx = split_where(where)
            status = self.rt.poller.last_status(cab)
            if status is None or idx >= len(status.compartments):
                continue
            if self._free(where, status.compartments[idx]):
                return where
        return None

    async def _wait_status(
        self, cab: str, done: Callable[[Any], bool], timeout_s: float
    ) -> Any | None:
        """Wait until the poller's status of ``cab`` satisfies ``done``; None on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            status = self.rt.poller.last_status(cab)
            if status is not None and done(status):
                return status
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(self._tick)

    async def _release(self, where: str, why: str) -> int:
        """Claim, light and release one compartment; returns the door counter before."""
        cab, idx = split_where(where)
        status = await self._status(cab)
        self.rt.alarms.claim(cab, idx, why)
        cabinet = self.rt.cabinets[cab]
        await cabinet.set_led(idx, True)
        self.rt.poller.expect_open(cab, idx, window_s=self.rt.cfg.terminal.door_open_timeout_s)
        await cabinet.release(idx)
        return int(status.door_event_counter)

    async def _door_cycle(
        self, where: str, counter0: int, *, only_door: bool = True
    ) -> tuple[str, Any]:
        """Wait for the released door to open and close again.

        Returns ``("ok", status)``, ``("not_opened", None)`` or ``("not_closed", None)``.
        When this is the only door released, a cycle quicker than a poll shows as the
        door-event counter moving by two."""
        cab, idx = split_where(where)
        term = self.rt.cfg.terminal

        def opened(st: Any) -> bool:
            moved = (st.door_event_counter - counter0) % 65536
            return (not st.compartments[idx].door_closed) or (only_door and moved >= 2)

        if await self._wait_status(cab, opened, term.door_open_timeout_s) is None:
            return "not_opened", None
        st = await self._wait_status(
            cab, lambda s: s.compartments[idx].door_closed, term.door_close_timeout_s
        )
        if st is None:
            return "not_closed", None
        return "ok", st

    async def _group_cycle(self, wheres: list[str], counters: dict[str, int]) -> dict[str, str]:
        """Wait until every released door has opened and closed again.

        A door counts as opened when a poll saw it open, or when its cabinet's door-event
        counter has moved by two edges for each door of the group in that cabinet (cycles
        quicker than a poll). Returns ``ok``, ``not_opened`` or ``not_closed`` per door."""
        term = self.rt.cfg.terminal
        by_cab: dict[str, list[str]] = {}
        for w in wheres:
            by_cab.setdefault(split_where(w)[0], []).append(w)
        start = {cab: min(counters[w] for w in ws) for cab, ws in by_cab.items()}
        seen_open: set[str] = set()
        loop = asyncio.get_running_loop()
        open_deadline = loop.time() + term.door_open_timeout_s
        close_deadline = open_deadline + term.door_close_timeout_s

        def state() -> dict[str, str]:
            out: dict[str, str] = {}
            for cab, ws in by_cab.items():
                st = self.rt.poller.last_status(cab)
                if st is None:
                    out.update({w: "not_opened" for w in ws})
                    continue
                moved = (st.door_event_counter - start[cab]) % 65536
                for w in ws:
                    closed = st.compartments[split_where(w)[1]].door_closed
                    if not closed:
                        seen_open.add(w)
                    opened = w in seen_open or moved >= 2 * len(ws)
                    out[w] = "ok" if opened and closed else (
                        "not_closed" if opened else "not_opened")
            return out

        while True:
            now = state()
            if all(v == "ok" for v in now.values()):
                return now
            t = loop.time()
            if t >= close_deadline or (
                t >= open_deadline and any(v == "not_opened" for v in now.values())
                and all(v != "not_closed" for v in now.values())
            ):
                return now
            await asyncio.sleep(self._tick)

    async def _finish(self, where: str, final: Any | None) -> None:
        """LED off; let the poller catch up with the final state, then drop the claim."""
        cab, idx = split_where(where)
        try:
            await self.rt.cabinets[cab].set_led(idx, False)
        except LockerError as exc:
            log.warning("LED of %s stays on: %s", where, exc)
        if final is not None:
            counter = final.door_event_counter
            want = final.compartments[idx]
            await self._wait_status(
                cab,
                lambda s: s.door_event_counter == counter
                and s.compartments[idx].door_closed == want.door_closed
                and s.compartments[idx].occupied == want.occupied,
                2.0,
            )
            # The poller delivers a status's events before anything else runs (the alarm
            # desk never suspends), so once it shows the final state they were all judged
            # under this claim.
        self.rt.alarms.unclaim(cab, idx)

    # ------------------------------------------------------------------ handover

    async def handover(
        self,
        case_id: str,
        *,
        clerk: str,
        scans: Sequence[Scan],
        checklist: dict[str, bool],
        reason: str = "",
    ) -> HandoverResult:
        """The clerk takes over a case: the scanned items against its manifest, the signed
        lawfulness checklist, the scan photos; discrepancies need ``reason``."""
        self._person(clerk, Role.CLERK)
        result = await self.rt.call(
            self.rt.custody.handover,
            case_id,
            clerk=clerk,
            scanned=[s.label for s in scans],
            checklist=checklist,
            photos=[await s.saved() for s in scans],
            reason=reason,
        )
        self.rt.ledger_changed()
        return result

    # ------------------------------------------------------------------ check-in

    async def check_in(self, clerk: str, scan: Scan | None = None) -> StepResult:
        """Store one handed-over (or returned) item: scan, compartment, door, sensor, photo,
        entry. Raises a :class:`FlowError` (already recorded) when a physical step fails."""
        self._person(clerk, Role.CLERK)
        if scan is None:
            scan = await self.scan(actor=clerk, step="check_in", background=True)
        item = self._item(scan.label)
        if not allowed(Action.STORE, item.state):
            raise IllegalTransitionError(
                f"item {item.label} is {item.state.value}: only a handed-over or returned item"
                " can be checked in"
            )
        where = self._pick_free()
        if where is None:
            raise await self._fail(
                NoFreeCompartmentError, "no free compartment", flow="check_in",
                step="pick_compartment", actor=clerk, item=item.label, compartment=None,
            )
        return await self._store_in(where, item.label, clerk, [scan], flow="check_in")

    def _item(self, label: str) -> ItemView:
        text = parse_label(label).text
        item = self.rt.custody.projection.items.get(text)
        if item is None:
            from custody.domain.errors import UnknownItemError

            raise UnknownItemError(f"no item with label {text} has been registered")
        return item

    async def _store_in(
        self, where: str, label: str, clerk: str, scans: list[Scan], *, flow: str
    ) -> StepResult:
        counter0 = await self._release(where, f"{flow} {label}")
        final: Any | None = None
        try:
            outcome, final = await self._door_cycle(where, counter0)
            if outcome != "ok":
                raise await self._fail(
                    DoorTimeoutError,
                    f"compartment {where}: door {outcome.replace('_', ' ')} in time",
                    flow=flow, step=outcome, actor=clerk, item=label, compartment=where,
                )
            if not final.compartments[split_where(where)[1]].occupied:
                raise await self._fail(
                    CompartmentEmptyError,
                    f"compartment {where} still reads empty after the door closed",
                    flow=flow, step="occupancy", actor=clerk, item=label, compartment=where,
                )
            photo, _ = await self.photograph(step="stored", actor=clerk, compartment=where,
                                             read=False)
            photos = [await s.saved() for s in scans]
            await self.rt.call(
                self.rt.custody.store, label, compartment=where, photos=[*photos, photo],
                clerk=clerk,
            )
            seq = self.rt.custody.projection.items[label].state_seq
            self.rt.ledger_changed()
            return StepResult(label, where, (seq,), (*photos, photo))
        finally:
            await self._finish(where, final)

    # ------------------------------------------------------------------ check-out

    async def check_out(
        self, officer: str, labels: Sequence[str] | None = None
    ) -> FlowReport:
        """Open the compartments of the officer's files one after another; each removal is
        confirmed by the sensor before ``item.checked_out`` is written."""
        self._person(officer, Role.OFFICER)
        items = self.files_for(officer) if labels is None else [self._item(lb) for lb in labels]
        proj = self.rt.custody.projection
        for item in items:  # refuse the whole request before any door opens
            if officer not in proj.cases[item.case_id].officers:
                raise NotOnCaseError(f"officer {officer!r} is not on case {item.case_id!r}")
            if not allowed(Action.CHECK_OUT, item.state) or item.compartment is None:
                raise IllegalTransitionError(
                    f"item {item.label} is {item.state.value}, not stored: cannot check out"
                )
        report = FlowReport()
        for item in items:
            try:
                report.done.append(await self._take_out(officer, item))
            except FlowError as exc:
                report.failed.append(exc)
        return report

    async def _take_out(self, officer: str, item: ItemView) -> StepResult:
        assert item.compartment is not None
        where = item.compartment
        cab, idx = split_where(where)
        if self.rt.alarms.claimed(cab, idx):
            raise FlowError(f"compartment {where} is in use by another flow; try again")
        others = self.rt.custody.projection.compartments.get(where, set()) - {item.label}
        counter0 = await self._release(where, f"check_out {item.label}")
        final: Any | None = None
        try:
            outcome, final = await self._door_cycle(where, counter0)
            if outcome != "ok":
                raise await self._fail(
                    DoorTimeoutError,
                    f"compartment {where}: door {outcome.replace('_', ' ')} in time",
                    flow="check_out", step=outcome, actor=officer, item=item.label,
                    compartment=where,
                )
            if final.compartments[idx].occupied and not others:
                raise await self._fail(
                    ItemNotRemovedError,
                    f"compartment {where} still reads occupied: {item.label} was not taken",
                    flow="check_out", step="occupancy", actor=officer, item=item.label,
                    compartment=where,
                )
            photo, _ = await self.photograph(step="check_out", actor=officer, compartment=where)
            await self.rt.call(
                self.rt.custody.check_out, item.label, officer=officer, photos=[photo]
            )
            seq = self.rt.custody.projection.items[item.label].state_seq
            self.rt.ledger_changed()
            return StepResult(item.label, where, (seq,), (photo,))
        finally:
            await self._finish(where, final)

    # ------------------------------------------------------------------ return

    def _home_of(self, item: ItemView) -> str | None:
        """The compartment the item was last stored in (from its history in the ledger)."""
        for seq in reversed(item.history):
            body = self.rt.ledger.entry(seq).body
            if body.get("kind") == ITEM_STORED:
                return str(body["compartment"])
        return None

    async def return_files(
        self, officer: str, scans: Sequence[Scan], *, clerk: str
    ) -> FlowReport:
        """Put back the scanned files: their compartments (the old one when free) open
        together; once every door has closed each must read occupied. A file whose
        compartment reads empty went into the wrong compartment: an alarm entry."""
        self._person(officer, Role.OFFICER)
        self._person(clerk, Role.CLERK)
        items: list[ItemView] = []
        for s in scans:
            item = self._item(s.label)
            if item.state is not ItemState.CHECKED_OUT:
                raise NotCheckedOutError(f"item {item.label} is {item.state.value}, not out")
            if item.holder != officer:
                raise NotOnCaseError(f"item {item.label} is checked out to {item.holder}")
            items.append(item)
        report = FlowReport()
        plan: list[tuple[ItemView, Scan, str]] = []
        for item, s in zip(items, scans, strict=True):
            home = await self.rt.call(self._home_of, item)
            where = self._pick_free(prefer=home)
            if where is None:
                report.failed.append(await self._fail(
                    NoFreeCompartmentError, "no free compartment", flow="return",
                    step="pick_compartment", actor=officer, item=item.label, compartment=None,
                ))
                continue
            cab, idx = split_where(where)
            self.rt.alarms.claim(cab, idx, f"return {item.label}")
            plan.append((item, s, where))
        counters: dict[str, int] = {}
        for _, _, where in plan:
            counters[where] = await self._release(where, "return")
        finals: dict[str, Any] = {}
        try:
            outcomes = await self._group_cycle([w for _, _, w in plan], counters)
            for item, _, where in plan:
                outcome = outcomes[where]
                if outcome != "ok":
                    report.failed.append(await self._fail(
                        DoorTimeoutError,
                        f"compartment {where}: door {outcome.replace('_', ' ')} in time",
                        flow="return", step=outcome, actor=officer, item=item.label,
                        compartment=where,
                    ))
            cycled = [(i, s, w) for i, s, w in plan if outcomes[w] == "ok"]
            for cab in {split_where(w)[0] for _, _, w in cycled}:
                finals[cab] = await self.rt.cabinets[cab].read_status()
            empty = [w for _, _, w in cycled
                     if not finals[split_where(w)[0]].compartments[split_where(w)[1]].occupied]
            for item, s, where in cycled:
                if where in empty:
                    report.failed.append(await self._fail(
                        WrongCompartmentError,
                        f"{item.label} is not in compartment {where}, which reads empty: "
                        "the file went into another compartment",
                        kind=ALARM_WRONG_COMPARTMENT, flow="return", step="occupancy",
                        actor=officer, item=item.label, compartment=where,
                        extra={"opened": [w for _, _, w in plan]},
                    ))
                    continue
                photo, _ = await self.photograph(step="returned", actor=officer,
                                                 compartment=where)
                await self.rt.call(self.rt.custody.return_item, item.label,
                                   photos=[await s.saved()], actor=officer)
                r_seq = self.rt.custody.projection.items[item.label].state_seq
                await self.rt.call(self.rt.custody.store, item.label, compartment=where,
                                   photos=[photo], clerk=clerk)
                s_seq = self.rt.custody.projection.items[item.label].state_seq
                self.rt.ledger_changed()
                report.done.append(StepResult(item.label, where, (r_seq, s_seq),
                                              (s.photo, photo)))
        finally:
            for _, _, where in plan:
                await self._finish(where, finals.get(split_where(where)[0]))
        return report
