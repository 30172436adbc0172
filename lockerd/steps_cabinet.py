"""The step service's hold on the cabinets: which compartment a step gets, claims, doors.

- **Compartment choice** (:meth:`CabinetHand.choose`): a compartment already holding the
  case (and no other), else the first free one: empty by the ledger, empty and shut by its
  sensors, not claimed by another step, its cabinet online. None free:
  :class:`~terminal.errors.NoFreeCompartmentError` (the service records it).
- **Claims**: a compartment a step works on is claimed at the alarm desk before its lock is
  released, so its door and sensor changes are not alarms; the claim is dropped once the
  poller shows the step's final state (never on a timer), unless a newer step claimed it.
- **Doors**: :meth:`CabinetHand.watch` follows a released door through the poller's reads:
  opened (a read saw it open, or the door-event counter moved by two: a cycle quicker than
  a poll) and shut again, or a timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from custody.errors import LockerError
from custody.ports import CabinetStatus, CompartmentState
from custody.queries import case_compartments
from lockerd.runtime import Runtime
from terminal.ports import BayStep

log = logging.getLogger(__name__)

#: how long a finished step waits for the poller to show its final state before it lets go
#: of the claim anyway (a cabinet gone offline never will)
CLAIM_HOLD_S = 30.0


def split_where(where: str) -> tuple[str, int]:
    """``"A/3"`` -> ``("A", 3)``."""
    cab, _, idx = where.rpartition("/")
    return cab, int(idx)


class CabinetHand:
    """Compartment choice, claims, LEDs, releases and door watching for the step service."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._generation: dict[tuple[str, int], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # claims of finished steps, held until the poller shows their final state: a new
        # step may take such a compartment over (its claim then outlives the old one)
        self._finishing: set[tuple[str, int]] = set()

    @property
    def tick(self) -> float:
        """How often a waiting step looks at the poller's reads (half a poll period)."""
        return max(self.rt.cfg.station.poll_interval_ms / 2000.0, 0.002)

    # ------------------------------------------------------------------ choice

    def usable(self, where: str) -> bool:
        """Known, online, polled, not claimed and shut (by the poller's last read)."""
        cab, idx = split_where(where)
        if cab not in self.rt.cabinets or not self.rt.poller.is_online(cab):
            return False
        status = self.rt.poller.last_status(cab)
        if status is None or idx >= len(status.compartments):
            return False
        return not self.busy(where) and status.compartments[idx].door_closed

    def busy(self, where: str) -> bool:
        """Whether a step under way works on this compartment (a finished step's claim,
        still held until the poller catches up, does not count)."""
        key = split_where(where)
        return self.rt.alarms.claimed(*key) and key not in self._finishing

    def choose(self, case_id: str) -> tuple[str, str] | None:
        """(compartment, reason) for a case's items, or None when nothing is free."""
        proj = self.rt.custody.projection
        with self.rt.custody.lock:
            mine = case_compartments(proj, case_id)
        for where in mine:
            if self.usable(where):
                return where, "stored_here"
        free = self.first_free()
        return (free, "free_compartment") if free is not None else None

    def first_free(self) -> str | None:
        """The first compartment empty by the ledger and by its sensors, shut, unclaimed."""
        free = self.free_compartments()
        return free[0] if free else None

    def claims(self) -> list[str]:
        """The compartments steps under way work on."""
        return [f"{cab}/{c.index}" for cab in sorted(self.rt.cabinets)
                for c in (self._status_or_empty(cab)) if self.busy(f"{cab}/{c.index}")]

    def _status_or_empty(self, cab: str) -> tuple[CompartmentState, ...]:
        status = self.rt.poller.last_status(cab)
        return status.compartments if status is not None else ()

    def free_compartments(self) -> list[str]:
        """Every compartment empty by the ledger and by its sensors, shut, unclaimed, its
        cabinet online, in cabinet and index order."""
        with self.rt.custody.lock:
            used = set(self.rt.custody.projection.compartments)
        out = []
        for cab in sorted(self.rt.cabinets):
            status = self.rt.poller.last_status(cab)
            if status is None or not self.rt.poller.is_online(cab):
                continue
            for comp in status.compartments:
                where = f"{cab}/{comp.index}"
                if where in used or self.busy(where):
                    continue
                if comp.door_closed and not comp.occupied:
                    out.append(where)
        return out

    # ------------------------------------------------------------------ claims and locks

    async def read(self, where: str) -> CabinetStatus:
        """The cabinet's status read from its controller now (what a step is judged on)."""
        cab, _ = split_where(where)
        return await self.rt.cabinets[cab].read_status()

    async def release(self, step: BayStep, why: str) -> None:
        """Claim, light and release the step's compartment; remember the state at release."""
        cab, idx = split_where(step.compartment)
        status = await self.read(step.compartment)
        key = (cab, idx)
        self._generation[key] = self._generation.get(key, 0) + 1
        self._finishing.discard(key)
        self.rt.alarms.claim(cab, idx, why)
        step.occupied_at_open = status.compartments[idx].occupied
        step.counter_at_open = int(status.door_event_counter)
        step.door_seen_open = step.door_cycled = False
        cabinet = self.rt.cabinets[cab]
        await cabinet.set_led(idx, True)
        self.rt.poller.expect_open(cab, idx, window_s=self.rt.cfg.terminal.door_open_timeout_s)
        await cabinet.release(idx)
        step.opened = True

    async def let_go(self, where: str, final: CabinetStatus | None) -> None:
        """LED off; the claim is dropped once the poller shows ``final`` (the step's last
        state), or at once without one."""
        cab, idx = split_where(where)
        try:
            await self.rt.cabinets[cab].set_led(idx, False)
        except LockerError as exc:
            log.warning("LED of %s stays on: %s", where, exc)
        key = (cab, idx)
        generation = self._generation.get(key, 0)
        if final is None:
            self._unclaim(key, generation)
            return
        self._finishing.add(key)
        task = asyncio.get_running_loop().create_task(self._unclaim_when_seen(key, generation,
                                                                              final))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _unclaim(self, key: tuple[str, int], generation: int) -> None:
        if self._generation.get(key, 0) == generation:  # no newer step claimed it meanwhile
            self._finishing.discard(key)
            self.rt.alarms.unclaim(*key)

    async def _unclaim_when_seen(
        self, key: tuple[str, int], generation: int, final: CabinetStatus
    ) -> None:
        cab, idx = key
        want = final.compartments[idx]

        def seen(s: CabinetStatus) -> bool:
            # door counter at least the final one (modulo wrap) and the same door and sensor:
            # every event of the step has been delivered, and judged under the claim
            moved = (s.door_event_counter - final.door_event_counter) % 65536
            c = s.compartments[idx]
            return moved < 32768 and c.door_closed == want.door_closed and (
                c.occupied == want.occupied)

        if not await self.wait_status(cab, seen, CLAIM_HOLD_S):
            log.warning("the poller never showed the final state of %s/%d; claim dropped",
                        cab, idx)
        # the poller delivers a read's events before it reads again, so they were judged
        self._unclaim(key, generation)

    async def close(self) -> None:
        """Stop waiting on the poller (at shutdown: the poller has stopped, and claims live
        in memory only)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ doors

    async def wait_status(
        self, cab: str, done: Callable[[CabinetStatus], bool], timeout_s: float
    ) -> bool:
        """Wait until the poller's read of ``cab`` satisfies ``done``; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            status = self.rt.poller.last_status(cab)
            if status is not None and done(status):
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(self.tick)

    def note_door(self, step: BayStep, status: CabinetStatus, *, alone: bool) -> None:
        """Update what the step knows of its door from a read. The door-event counter is
        the cabinet's: it tells of a cycle quicker than a poll only while no other step
        works in that cabinet (``alone``)."""
        _, idx = split_where(step.compartment)
        closed = status.compartments[idx].door_closed
        moved = (status.door_event_counter - step.counter_at_open) % 65536
        if not closed:
            step.door_seen_open = True
        if closed and (step.door_seen_open or (alone and moved >= 2)):
            step.door_cycled = True

    async def watch(
        self, step: BayStep, still_mine: Callable[[], bool], alone: Callable[[], bool]
    ) -> str:
        """Follow the released door: ``ok`` once it opened and shut, ``not_opened`` or
        ``not_closed`` on a timeout, ``gone`` when the step ended some other way."""
        cab, _ = split_where(step.compartment)
        term = self.rt.cfg.terminal
        loop = asyncio.get_running_loop()
        open_by = loop.time() + term.door_open_timeout_s
        close_by: float | None = None
        while still_mine():
            status = self.rt.poller.last_status(cab)
            if status is not None:
                self.note_door(step, status, alone=alone())
            if step.door_cycled:
                return "ok"
            now = loop.time()
            if step.door_seen_open and close_by is None:
                close_by = now + term.door_close_timeout_s
            if close_by is None and now >= open_by:
                return "not_opened"
            if close_by is not None and now >= close_by:
                return "not_closed"
            await asyncio.sleep(self.tick)
        return "gone"
