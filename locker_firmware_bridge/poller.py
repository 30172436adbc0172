"""Turning polled cabinet status into :class:`custody.ports.CabinetEvent`s.

:class:`Poller` reads every cabinet every ``period_s`` (one task per cabinet, their
start times spread over the period; cabinets on one RS-485 line take turns through the
line's lock) and compares each status with the last:

* door closed -> open: ``DOOR_OPENED``, plus ``TAMPER`` unless the release path announced
  it with :meth:`Poller.expect_open` within its window; open -> closed: ``DOOR_CLOSED``;
* occupancy: ``ITEM_PLACED`` / ``ITEM_REMOVED``; lock: ``LOCK_RELEASED`` / ``LOCK_ENGAGED``;
* the door-event counter moved more than the door edges seen: ``MISSED_EDGE`` (a door
  opened and shut between two reads). Drivers read the counter before the doors, so an
  edge can be seen before it is counted but never counted before it is seen; the poller
  keeps that credit so a late count is not reported as missed;
* a door open for ``door_open_alarm_s``: one ``DOOR_LEFT_OPEN`` per opening;
* ``offline_after`` failed polls in a row: ``OFFLINE`` (once); the next good poll:
  ``ONLINE``. While failing, polls back off exponentially up to ``backoff_max_s`` and the
  log gets one line per ``log_interval_s`` (with how many failures were not logged).

Events go to an ``asyncio.Queue`` or an async callback; a callback that raises is logged
and polling goes on. All waiting is ``await``: the poller never blocks the loop (drivers
doing blocking I/O run it in threads). Event times and windows come from the ``Clock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from custody.errors import LockerError
from custody.ports import (
    Cabinet,
    CabinetEvent,
    CabinetEventKind,
    CabinetStatus,
    Clock,
    SystemClock,
)
from locker_firmware_bridge.errors import CabinetConfigError

log = logging.getLogger(__name__)

EventSink = Callable[[CabinetEvent], Awaitable[None]] | asyncio.Queue[CabinetEvent]

COUNTER_MODULUS = 65536
K = CabinetEventKind


@dataclass
class _CabinetState:
    last: CabinetStatus | None = None
    credit: int = 0  # door edges seen whose counter increment has not been read yet
    failures: int = 0
    offline: bool = False
    open_since: dict[int, datetime] = field(default_factory=dict)
    left_open_alarmed: set[int] = field(default_factory=set)
    expected: dict[int, datetime] = field(default_factory=dict)  # compartment -> deadline
    next_log: datetime | None = None
    unlogged: int = 0


class Poller:
    """Polls cabinets and delivers the events their changes mean."""

    def __init__(
        self,
        cabinets: Sequence[Cabinet],
        sink: EventSink,
        *,
        clock: Clock | None = None,
        period_s: float = 0.25,
        offline_after: int = 3,
        door_open_alarm_s: float = 120.0,
        backoff_max_s: float = 5.0,
        log_interval_s: float = 60.0,
    ) -> None:
        ids = [c.cabinet_id for c in cabinets]
        if len(set(ids)) != len(ids):
            raise CabinetConfigError(f"duplicate cabinet ids in {ids}")
        if period_s <= 0 or offline_after < 1:
            raise CabinetConfigError("period_s must be > 0 and offline_after >= 1")
        self.cabinets = {c.cabinet_id: c for c in cabinets}
        self.sink = sink
        self.clock: Clock = clock or SystemClock()
        self.period_s = period_s
        self.offline_after = offline_after
        self.door_open_alarm = timedelta(seconds=door_open_alarm_s)
        self.backoff_max_s = backoff_max_s
        self.log_interval = timedelta(seconds=log_interval_s)
        self._state = {cid: _CabinetState() for cid in self.cabinets}
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ queries

    def is_online(self, cabinet_id: str) -> bool:
        """False once the cabinet has been reported OFFLINE and not yet ONLINE again."""
        return not self._st(cabinet_id).offline

    def last_status(self, cabinet_id: str) -> CabinetStatus | None:
        """The last status read, or None before the first good poll."""
        return self._st(cabinet_id).last

    def has_read(
        self,
        cabinet_id: str,
        compartment: int,
        *,
        door_closed: bool | None = None,
        occupied: bool | None = None,
    ) -> bool:
        """Whether the last status read shows this compartment in this state (``None``: any).

        The events of a read are delivered before the next one is taken, so once this is
        true, a change made now is seen as a change from this state.
        """
        status = self.last_status(cabinet_id)
        if status is None or compartment >= len(status.compartments):
            return False
        c = status.compartments[compartment]
        return (door_closed is None or c.door_closed == door_closed) and (
            occupied is None or c.occupied == occupied
        )

    def expect_open(self, cabinet_id: str, compartment: int, window_s: float = 30.0) -> None:
        """Announce a commanded release: the door may open within ``window_s`` (no tamper).

        Call it just before (or right after) ``cabinet.release(compartment)``.
        """
        st = self._st(cabinet_id)
        st.expected[compartment] = self.clock.now() + timedelta(seconds=window_s)

    async def release(self, cabinet_id: str, compartment: int, window_s: float = 30.0) -> None:
        """Release a compartment as the system: announce it (no tamper), then pulse the lock.

        If the release fails the announcement is withdrawn and the error propagates.
        """
        st = self._st(cabinet_id)
        self.expect_open(cabinet_id, compartment, window_s)
        try:
            await self.cabinets[cabinet_id].release(compartment)
        except BaseException:
            st.expected.pop(compartment, None)
            raise

    def _st(self, cabinet_id: str) -> _CabinetState:
        try:
            return self._state[cabinet_id]
        except KeyError:
            raise CabinetConfigError(f"the poller has no cabinet {cabinet_id!r}") from None

    # ------------------------------------------------------------------ polling

    async def poll_once(self, cabinet_id: str) -> list[CabinetEvent]:
        """Read one cabinet once, deliver and return the events. Never raises on I/O errors."""
        cab = self.cabinets[cabinet_id]
        st = self._st(cabinet_id)
        try:
            status = await cab.read_status()
        except LockerError as exc:
            events = self._failed(cabinet_id, st, exc)
        except Exception as exc:  # a driver bug or an odd answer: still a failed poll
            events = self._failed(cabinet_id, st, exc)
        else:
            events = self._succeeded(cabinet_id, st, status)
        for ev in events:
            await self._deliver(ev)
        return events

    async def poll_all(self) -> list[CabinetEvent]:
        """Poll every cabinet once, concurrently (the line locks keep each bus orderly)."""
        results = await asyncio.gather(*(self.poll_once(cid) for cid in self.cabinets))
        return [ev for evs in results for ev in evs]

    async def run(self) -> None:
        """Poll every cabinet until cancelled."""
        # Stagger the cabinets over one period: cabinets sharing a line then find it free
        # at their turn, so a change waits at most one period plus one read.
        n = len(self.cabinets)
        async with asyncio.TaskGroup() as tg:
            for k, cid in enumerate(self.cabinets):
                tg.create_task(self._loop(cid, k * self.period_s / n), name=f"poll-{cid}")

    def start(self) -> asyncio.Task[None]:
        """Run :meth:`run` in a task (stop it with :meth:`stop`)."""
        task = asyncio.create_task(self.run(), name="cabinet-poller")
        self._tasks.append(task)
        return task

    async def stop(self) -> None:
        """Cancel the task started by :meth:`start` and wait for it."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _loop(self, cabinet_id: str, phase_s: float) -> None:
        loop = asyncio.get_running_loop()
        st = self._st(cabinet_id)
        await asyncio.sleep(phase_s)
        next_t = loop.time()
        while True:
            try:
                await self.poll_once(cabinet_id)
            except Exception:  # a bug must not stop the other cabinets' polling
                log.exception("cabinet %s: poll failed unexpectedly", cabinet_id)
            if st.failures:
                delay = min(self.period_s * 2 ** (st.failures - 1), self.backoff_max_s)
                await asyncio.sleep(max(delay, self.period_s))
                next_t = loop.time()
                continue
            # fixed-rate ticks, so a cabinet is read every period whatever a read costs
            next_t += self.period_s
            now = loop.time()
            if next_t < now:
                next_t = now
            await asyncio.sleep(next_t - now)

    async def _deliver(self, ev: CabinetEvent) -> None:
        if isinstance(self.sink, asyncio.Queue):
            await self.sink.put(ev)
            return
        try:
            await self.sink(ev)
        except Exception:
            log.exception("cabinet event handler failed on %s", ev)

    # ------------------------------------------------------------------ state machine

    def _failed(self, cid: str, st: _CabinetState, exc: Exception) -> list[CabinetEvent]:
        st.failures += 1
        now = self.clock.now()
        if st.next_log is None or now >= st.next_log:
            more = f" ({st.unlogged} more failures not logged)" if st.unlogged else ""
            log.warning(
                "cabinet %s: poll failed %d time(s): %s%s",
                cid,
                st.failures,
                exc,
                more,
                exc_info=not isinstance(exc, LockerError),  # unexpected: show where
            )
            st.next_log, st.unlogged = now + self.log_interval, 0
        else:
            st.unlogged += 1
        if st.failures >= self.offline_after and not st.offline:
            st.offline = True
            return [CabinetEvent(K.OFFLINE, cid, None, now, f"{st.failures} failed polls: {exc}")]
        return []

    def _succeeded(self, cid: str, st: _CabinetState, status: CabinetStatus) -> list[CabinetEvent]:
        now = self.clock.now()
        events: list[CabinetEvent] = []
        if st.failures or st.offline:
            if st.offline:
                events.append(
                    CabinetEvent(K.ONLINE, cid, None, now, f"answering after {st.failures} fails")
                )
                log.warning("cabinet %s: back online", cid)
            st.failures, st.offline, st.next_log, st.unlogged = 0, False, None, 0
        for comp, deadline in list(st.expected.items()):
            if deadline < now:
                del st.expected[comp]
        prev = st.last
        st.last = status
        if prev is None or len(prev.compartments) != len(status.compartments):
            st.open_since = {c.index: now for c in status.compartments if not c.door_closed}
            st.left_open_alarmed.clear()
            st.credit = 0
            return events + self._left_open(cid, st, now)
        seen = 0
        for old, new in zip(prev.compartments, status.compartments, strict=True):
            i = new.index

            def ev(kind: CabinetEventKind, detail: str = "", i: int = i) -> None:
                events.append(CabinetEvent(kind, cid, i, now, detail))

            if old.locked and not new.locked:
                ev(K.LOCK_RELEASED)
            if old.door_closed and not new.door_closed:
                seen += 1
                ev(K.DOOR_OPENED)
                st.open_since[i] = now
                if st.expected.pop(i, None) is None:
                    ev(K.TAMPER, "door opened without a commanded release")
            if not old.occupied and new.occupied:
                ev(K.ITEM_PLACED)
            if old.occupied and not new.occupied:
                ev(K.ITEM_REMOVED)
            if not old.door_closed and new.door_closed:
                seen += 1
                ev(K.DOOR_CLOSED)
                st.open_since.pop(i, None)
                st.left_open_alarmed.discard(i)
            if not old.locked and new.locked:
                ev(K.LOCK_ENGAGED)
        counted = (status.door_event_counter - prev.door_event_counter) % COUNTER_MODULUS
        if counted > COUNTER_MODULUS // 2:
            # the counter went back: the controller restarted; what happened is unknown
            st.credit = 0
            events.append(
                CabinetEvent(
                    K.MISSED_EDGE,
                    cid,
                    None,
                    now,
                    f"door-event counter went back from {prev.door_event_counter} to "
                    f"{status.door_event_counter} (controller restarted?): door changes "
                    "since the last poll are unknown",
                )
            )
            return events + self._left_open(cid, st, now)
        st.credit += seen - counted
        if st.credit < 0:
            missed = -st.credit
            st.credit = 0
            events.append(
                CabinetEvent(
                    K.MISSED_EDGE,
                    cid,
                    None,
                    now,
                    f"door-event counter moved by {counted}, {seen} edge(s) seen: "
                    f"{missed} door change(s) happened between polls",
                )
            )
        # what this read saw may be counted by the next; older credit is settled by now
        st.credit = min(st.credit, seen)
        return events + self._left_open(cid, st, now)

    def _left_open(self, cid: str, st: _CabinetState, now: datetime) -> list[CabinetEvent]:
        out = []
        for i, since in sorted(st.open_since.items()):
            if i not in st.left_open_alarmed and now - since >= self.door_open_alarm:
                st.left_open_alarmed.add(i)
                secs = int((now - since).total_seconds())
                out.append(CabinetEvent(K.DOOR_LEFT_OPEN, cid, i, now, f"open for {secs} s"))
        return out
