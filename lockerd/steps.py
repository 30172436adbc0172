"""The one step service: every custody step at the cabinets, whichever screen started it.

The kiosk (``terminal``, over HTTP), the console (``locker terminal``) and the demo drive
this one service, so the same action writes the same ledger entries. Its model is the
kiosk's, resumable one:

- **sign-in** (:meth:`StepService.sign_in`): one :class:`~terminal.sessions.Sessions` for
  the station: badge (case-insensitive) and PIN, ``pin_max_attempts`` wrong PINs lock the
  badge for ``pin_lockout_s`` (``alarm.pin_lockout``), ``idle_lock_s`` ends a session. The
  console's clerk steps need the PIN too.
- **handover**: scans tick a draft (photographed), the commit writes ``case.handed_over``.
- **compartment steps** (store, check-out, return): *open* picks the compartment (one rule,
  :mod:`lockerd.steps_cabinet`; a returned file: :func:`custody.queries.return_place`),
  claims, lights and releases it and says why it was chosen; the door is then watched
  through the poller; *photo* takes the step's photo; *commit* judges the door (shut, after
  a cycle) and the sensor, then records; *cancel* ends it unrecorded (an occupancy change
  becomes an alarm). A failed physical step (a door never opened or never shut, a sensor
  that disagrees, no free compartment) is recorded as ``flow.failed`` (a return into an
  empty compartment: ``alarm.wrong_compartment``) and raised as a
  :class:`~terminal.errors.StepFailedError` naming its entry.
- **leaving custody** (:mod:`lockerd.steps_leave`, ``StepService.leave``): request,
  decision, carrying out (a compartment step of purpose ``leave``), return, holds.
- **where things go is in the ledger**: a return records the compartment the file went
  into (``item.returned`` ``compartment``); the clerk's store step reads it back from the
  projection, so a restart in between resumes at the right compartment.

Every write goes through the runtime's one writer (:meth:`Runtime.call`) and wakes the MQTT
feeder (:meth:`Runtime.ledger_changed`). Claims are let go once the poller shows the step's
final state. Everything runs on the daemon's event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn

from custody import queries
from custody.alarms import AlarmKind
from custody.domain.people import Role
from custody.domain.pins import check_pin
from custody.domain.states import ItemState
from custody.ports import CabinetStatus, CompartmentState, PhotoRef
from lockerd.alarms import FLOW_FAILED
from lockerd.config import StationConfig
from lockerd.runtime import Runtime
from lockerd.steps_cabinet import CabinetHand, split_where
from lockerd.steps_scan import StepScans
from terminal.errors import (
    CompartmentBusyError,
    CompartmentEmptyError,
    DoorOpenError,
    DoorTimeoutError,
    ItemNotRemovedError,
    NoFreeCompartmentError,
    NoStepError,
    NotOpenedError,
    NotYoursError,
    PhotoMissingError,
    StepFailedError,
    WrongCompartmentError,
)
from terminal.i18n import normalise_language
from terminal.ports import BayStep
from terminal.sessions import BadgeHolder, Session, Sessions

log = logging.getLogger(__name__)

#: the ledger actor of the entries the service writes for no one person (lockouts, steps
#: left half done)
STEP_ACTOR = "terminal"


def badge_holders(cfg: StationConfig) -> list[BadgeHolder]:
    """The ``[[people]]`` entries that carry a badge and a PIN hash."""
    return [BadgeHolder(p.id, p.name, p.role, p.badge, p.pin_hash)
            for p in cfg.people if p.badge and p.pin_hash]


class StepService(StepScans):
    """The station's steps (one per runtime; see the module docstring)."""

    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        self.hand = CabinetHand(rt)
        self._sessions = Sessions(badge_holders(rt.cfg), rt.clock, rt.cfg.terminal,
                                  check_pin, on_lockout=self._locked_out, on_end=self._ended)
        self._lockouts: list[tuple[BadgeHolder, int]] = []
        self.steps: dict[str, BayStep] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        #: how a step of another purpose is recorded at its commit (lockerd.steps_leave)
        self.recorders: dict[str, Callable[[BayStep, list[PhotoRef]], Awaitable[None]]] = {}
        from lockerd.steps_leave import LeaveSteps  # it names this class

        self.leave = LeaveSteps(self)  # items leaving custody: request, decide, carry out

    @property
    def sessions(self) -> Sessions:
        """The one badge list, PIN check, lockout and idle lock of the station."""
        return self._sessions

    # ------------------------------------------------------------------ sign-in

    def _locked_out(self, person: BadgeHolder, tries: int) -> None:
        self._lockouts.append((person, tries))  # recorded by sign_in, on the loop

    def _ended(self, person: BadgeHolder) -> None:
        # the session ended (idle lock, sign-out) with a step half done: give it up
        if person.id in self.steps:
            self._spawn(self.cancel(person.id, why="abandoned"))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def sign_in(self, badge: str, pin: str, language: str = "") -> Session:
        """Badge and PIN (scrypt, off the loop); a lockout is recorded before it is raised."""
        lang = normalise_language(language or self._sessions.settings.language)
        try:
            return await asyncio.to_thread(self._sessions.sign_in, badge, pin, lang)
        finally:
            while self._lockouts:
                person, tries = self._lockouts.pop(0)
                await self._alarm(AlarmKind.PIN_LOCKOUT, STEP_ACTOR, event="wrong_pin",
                                  detail=f"{tries} wrong PINs", badge=person.badge,
                                  person=person.id, attempts=tries)

    async def _alarm(self, kind: AlarmKind, actor: str, **fields: Any) -> int:
        """Raise an alarm through the custody service (the one alarm body), on the one
        writer; returns its seq."""
        alarm = await self.rt.call(self.rt.custody.raise_alarm, kind, actor=actor, **fields)
        self.rt.ledger_changed()
        return alarm.seq

    # ------------------------------------------------------------------ opening a step

    def step(self, person: str) -> BayStep | None:
        """The person's compartment step, if one is under way (or ended by a failure not
        yet shown)."""
        return self.steps.get(person)

    def _step(self, person: str) -> BayStep:
        step = self.steps.get(person)
        if step is None:
            raise NoStepError("no compartment step under way")
        return step

    async def _no_free(self, person: str, flow: str, labels: tuple[str, ...]) -> NoReturn:
        seq = await self._record_failure(FLOW_FAILED, flow, "pick_compartment", person, labels,
                                         None, "no free compartment")
        raise NoFreeCompartmentError(f"no free compartment (recorded as entry {seq})", seq=seq)

    async def open_store(self, person: str, case_id: str) -> BayStep:
        """Start storing a case's waiting items (handed over or returned) in one compartment:
        a returned file goes where its return put it; the rest with their case, else into a
        free compartment."""
        self._require(person, Role.CLERK)
        _, items = self.case(case_id)
        waiting = sorted((i for i in items
                          if i.state in (ItemState.HANDED_OVER, ItemState.RETURNED)),
                         key=lambda i: i.label)
        if not waiting:
            raise NoStepError(f"case {case_id} has nothing waiting to be stored")
        placed = sorted({i.compartment for i in waiting if i.compartment is not None})
        if placed:  # returned files lie in the compartment their return recorded
            where, reason = placed[0], "returned_here"
            labels = tuple(i.label for i in waiting if i.compartment == where)
        else:
            labels = tuple(i.label for i in waiting)
            chosen = self.hand.choose(case_id)
            if chosen is None:
                await self._no_free(person, "store", labels)
            where, reason = chosen
        if self.hand.busy(where) and not self._mine(person, where):
            raise CompartmentBusyError(f"compartment {where} is in use", compartment=where)
        return await self._open(BayStep("store", labels, where, case_id, reason, person))

    async def open_check_out(self, person: str, label: str) -> BayStep:
        """Start taking a stored file out: its compartment is lit and opened."""
        self._require(person, Role.OFFICER)
        item = self.item(label)
        with self.rt.custody.lock:
            case = self.rt.custody.projection.cases[item.case_id]
        if person not in case.officers:
            raise NotYoursError(f"{person} is not on case {item.case_id}", label=item.label)
        if item.state is not ItemState.STORED or item.compartment is None:
            raise NotYoursError(f"{item.label} is not in a compartment", label=item.label)
        where = item.compartment
        if self.hand.busy(where) and not self._mine(person, where):
            raise CompartmentBusyError(f"compartment {where} is in use", compartment=where)
        return await self._open(BayStep("check_out", (item.label,), where, item.case_id,
                                        "stored_here", person))

    async def open_return(self, person: str, typed: str | None) -> BayStep:
        """Identify a file brought back (scanner or camera) and open where it goes: the
        custody rule (:func:`custody.queries.return_place`: where it was, else with its
        case, else a free compartment), skipping compartments other steps work on."""
        self._require(person, Role.OFFICER, Role.CLERK)
        labels, shot = await self.identify(typed)
        item = self.item(labels[0])
        if item.state is not ItemState.CHECKED_OUT or item.holder != person:
            raise NotYoursError(f"{item.label} is not checked out to {person}",
                                label=item.label)
        busy = {w for w in self.hand.claims() if not self._mine(person, w)}
        free = self.hand.free_compartments()
        with self.rt.custody.lock:
            place = queries.return_place(self.rt.custody.projection, item.label,
                                         exclude=busy, free=free)
        if place.compartment is None:
            await self._no_free(person, "return", (item.label,))
        where = place.compartment
        step = BayStep("return", (item.label,), where, item.case_id, place.reason.value,
                       person, place=place)
        step.scan_photo = await self.keep(shot, step="return", actor=person, compartment=where)
        step.photo = step.scan_photo  # shown at once; a photo of the step may replace it
        return await self._open(step)

    def _mine(self, person: str, where: str) -> bool:
        old = self.steps.get(person)
        return old is not None and old.compartment == where and not old.done

    async def _open(self, step: BayStep) -> BayStep:
        old = self.steps.get(step.person)
        if old is not None and not old.done and old.failed_seq is None:
            await self._end(old, None)
        self.steps[step.person] = step
        try:
            await self.hand.release(step, f"{step.purpose} {', '.join(step.labels)}")
        except BaseException:
            self.steps.pop(step.person, None)
            await self.hand.let_go(step.compartment, None)
            raise
        self._watch(step)
        return step

    def _watch(self, step: BayStep) -> None:
        old = self._watchers.pop(step.person, None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(self._watch_door(step))
        self._watchers[step.person] = task

    async def _watch_door(self, step: BayStep) -> None:
        outcome = await self.hand.watch(step, lambda: self._live(step),
                                        lambda: self._alone(step))
        if outcome in ("ok", "gone"):
            return
        message = f"compartment {step.compartment}: door {outcome.replace('_', ' ')} in time"
        try:
            seq = await self._record_failure(FLOW_FAILED, step.purpose, outcome, step.person,
                                             step.labels, step.compartment, message)
        except Exception:
            log.exception("could not record the failed step at %s", step.compartment)
            return
        step.failed_seq, step.failed_message = seq, message
        await self._end(step, None)

    def _alone(self, step: BayStep) -> bool:
        """No other step under way in the step's cabinet."""
        cab = split_where(step.compartment)[0]
        return not any(other is not step and self._live(other)
                       and split_where(other.compartment)[0] == cab
                       for other in self.steps.values())

    def _live(self, step: BayStep) -> bool:
        return (self.steps.get(step.person) is step and not step.done
                and step.failed_seq is None)

    async def reopen(self, person: str) -> BayStep:
        """Release the step's lock again (the person was too slow to pull the door)."""
        step = self._step(person)
        self._raise_if_failed(step)
        await self.hand.release(step, f"{step.purpose} {', '.join(step.labels)}")
        self._watch(step)
        return step

    async def wait_door(self, person: str) -> BayStep:
        """Wait until the step's door has opened and shut (the console's "waiting for the
        door"); a timeout raises the recorded :class:`DoorTimeoutError`."""
        step = self._step(person)
        while self._live(step) and not step.door_cycled:
            await asyncio.sleep(self.hand.tick)
        self._raise_if_failed(step)
        return step

    def _raise_if_failed(self, step: BayStep) -> None:
        if step.failed_seq is not None:
            self.steps.pop(step.person, None)
            raise DoorTimeoutError(f"{step.failed_message} (recorded as entry "
                                   f"{step.failed_seq})", seq=step.failed_seq, step="door")

    # ------------------------------------------------------------------ photo, commit

    async def photograph(self, person: str) -> PhotoRef:
        """Take the step's photo (shown to the person before the step is committed)."""
        step = self._step(person)
        self._raise_if_failed(step)
        if not step.opened:
            raise NotOpenedError("open the compartment first")
        shot = await self.shoot()
        step.photo = await self.keep(shot, step=step.purpose, actor=person,
                                     compartment=step.compartment)
        return step.photo

    async def commit(self, person: str) -> BayStep:
        """Judge door and sensor (read from the controller now), then record the step.

        Refused, nothing written (try again): no photo yet, the door open, the door not
        opened since the release. A sensor that disagrees ends the step and is recorded:
        store: ``flow.failed`` (occupancy); return: ``alarm.wrong_compartment``; check-out
        and carrying out a leave: ``flow.failed`` (occupancy)."""
        step = self._step(person)
        self._raise_if_failed(step)
        if step.done:
            return step
        if step.photo is None:
            raise PhotoMissingError("take the step's photo first")
        _, idx = split_where(step.compartment)
        status = await self.hand.read(step.compartment)
        self.hand.note_door(step, status, alone=self._alone(step))
        state = status.compartments[idx]
        if not state.door_closed:
            raise DoorOpenError("close the door first", compartment=step.compartment)
        if not step.door_cycled:
            raise NotOpenedError("open the door, do the step, shut the door: then confirm")
        failure = self._judge(step, state)
        if failure is not None:
            await self._fail_at_commit(step, status, failure)
        await self._record(step)
        step.done = True
        self.steps.pop(person, None)
        await self._end(step, status)
        return step

    def _judge(self, step: BayStep, state: CompartmentState) -> str | None:
        if step.purpose in ("store", "return") and not state.occupied:
            return "empty"
        if step.purpose in ("check_out", "leave") and state.occupied:
            with self.rt.custody.lock:
                held = self.rt.custody.projection.compartments.get(step.compartment, set())
            if held <= set(step.labels):  # nothing else there: the sensor can tell
                return "occupied"
        return None

    async def _fail_at_commit(self, step: BayStep, status: CabinetStatus, failure: str) -> None:
        where, labels = step.compartment, ", ".join(step.labels)
        error: type[StepFailedError]
        if step.purpose == "return":
            error = WrongCompartmentError
            message = (f"{labels} is not in compartment {where}, which reads empty: the file "
                       "went into another compartment")
            seq = await self._alarm(AlarmKind.WRONG_COMPARTMENT, step.person,
                                    compartment=where, items=step.labels, event="occupancy",
                                    detail=message, flow=step.purpose)
        else:
            if failure == "empty":
                error = CompartmentEmptyError
                message = f"compartment {where} still reads empty after the door closed"
            else:
                error = ItemNotRemovedError
                message = f"compartment {where} still reads occupied: {labels} was not taken"
            seq = await self._record_failure(FLOW_FAILED, step.purpose, "occupancy",
                                             step.person, step.labels, where, message)
        self.steps.pop(step.person, None)
        await self._end(step, status)
        raise error(f"{message} (recorded as entry {seq})", seq=seq, step="occupancy",
                    compartment=where)

    async def _record(self, step: BayStep) -> None:
        """The step's custody entries (skipping what an earlier try already wrote)."""
        cs, where = self.rt.custody, step.compartment
        assert step.photo is not None
        photos = list(dict.fromkeys(p for p in (step.scan_photo, step.photo) if p is not None))
        recorder = self.recorders.get(step.purpose)
        if recorder is not None:
            await recorder(step, photos)
            self.rt.ledger_changed()
            return
        for label in step.labels:
            item = self.item(label)
            if step.purpose == "store":
                if item.state is ItemState.STORED and item.compartment == where:
                    continue
                await self.rt.call(cs.store, label, compartment=where, photos=photos,
                                   clerk=step.person)
            elif step.purpose == "check_out":
                if item.state is ItemState.CHECKED_OUT:
                    continue
                await self.rt.call(cs.check_out, label, officer=step.person, photos=photos)
            else:
                if item.state is ItemState.RETURNED:
                    continue
                await self.rt.call(cs.return_item, label, photos=photos, actor=step.person,
                                   compartment=where)
        self.rt.ledger_changed()

    async def _record_failure(
        self, kind: str, flow: str, what: str, actor: str, labels: tuple[str, ...],
        where: str | None, message: str,
    ) -> int:
        body: dict[str, Any] = {
            "flow": flow, "step": what, "item": labels[0] if len(labels) == 1 else None,
            "items": list(labels), "compartment": where, "message": message,
        }
        seq = await self.rt.record(kind, body, actor)
        log.warning("%s of %s failed at %s: %s (seq %d)", flow, ", ".join(labels), what,
                    message, seq)
        return seq

    async def _end(self, step: BayStep, status: CabinetStatus | None) -> None:
        """LED off; the claim goes once the poller shows the final state."""
        watcher = self._watchers.get(step.person)
        if watcher is not None and watcher is not asyncio.current_task():
            self._watchers.pop(step.person, None)
            watcher.cancel()
        if status is None:
            try:
                status = await self.hand.read(step.compartment)
            except Exception as exc:  # the claim still goes, at once
                log.warning("cannot read %s at the end of its step: %s", step.compartment, exc)
        await self.hand.let_go(step.compartment, status)

    async def finish(self, person: str) -> BayStep:
        """The rest of a step with nothing to decide (the console, the demo): wait for the
        door to open and shut, take the photo, commit."""
        await self.wait_door(person)
        await self.photograph(person)
        return await self.commit(person)

    # ------------------------------------------------------------------ cancel

    async def cancel(self, person: str, *, why: str = "cancelled") -> BayStep | None:
        """End the person's step without recording it (cancel, or the session ended).

        If the occupancy sensor no longer reads what it read when the lock was released
        (an item taken out or put in, the step not confirmed), that is recorded as an alarm
        (``alarm.item_removed`` / ``alarm.item_placed``): a step left half done is never
        passed over. A cancel with the door still open is refused."""
        step = self.steps.get(person)
        if step is None or step.done or step.failed_seq is not None:
            self.steps.pop(person, None)
            return step
        cab, idx = split_where(step.compartment)
        status = await self.hand.read(step.compartment)
        state = status.compartments[idx]
        if not state.door_closed and why == "cancelled":
            raise DoorOpenError("close the door first", compartment=step.compartment)
        self.steps.pop(person, None)
        if step.occupied_at_open is not None and state.occupied != step.occupied_at_open:
            kind = AlarmKind.ITEM_REMOVED if step.occupied_at_open else AlarmKind.ITEM_PLACED
            await self._alarm(kind, STEP_ACTOR, cabinet=cab, compartment=step.compartment,
                              items=step.labels, event=why,
                              detail=f"{step.purpose} of {', '.join(step.labels)} by {person} "
                                     "was not confirmed after the occupancy changed")
        await self._end(step, status)
        return step

    async def close(self) -> None:
        """Stop watching doors and let go of every claim (at shutdown)."""
        for task in list(self._watchers.values()) + list(self._background):
            task.cancel()
        await asyncio.gather(*self._watchers.values(), *self._background,
                             return_exceptions=True)
        self._watchers.clear()
        await self.hand.close()
