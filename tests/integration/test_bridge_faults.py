"""Injected faults produce the documented events, and nothing crashes.

Real drivers talk to the real simulator (pymodbus server over TCP and RTU, lock board on a
pty); the poller is stepped with ``poll_once`` and a manual clock, so no test depends on
how fast this machine is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from custody.ports import Cabinet, CabinetEvent, CabinetEventKind
from custody.testing import FakeClock
from hw_sim.cabinet_world import ManualTime
from hw_sim.station import SimStation
from locker_firmware_bridge.factory import build_cabinets
from locker_firmware_bridge.poller import Poller

K = CabinetEventKind
N = 8


START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)  # the custody clock, moved only by hand
# The drivers' answer timeout. The fault tests need a short one (their polls must time out
# before the late answers come); elsewhere an answer is never expected to be late, and a
# generous timeout keeps a process stalled for a moment (a loaded machine, a long garbage
# collection) from turning a healthy poll into a failed one.
FAULT_TIMEOUT_MS = 300
TIMEOUT_MS = 10_000
WAIT_S = 30.0  # a running poller's events: only a failure waits this long


def kinds(events: list[CabinetEvent]) -> list[tuple[CabinetEventKind, str, int | None]]:
    return [(e.kind, e.cabinet_id, e.compartment) for e in events]


@asynccontextmanager
async def station(
    transport: str, timeout_ms: int = TIMEOUT_MS, **poller_kw: Any
) -> AsyncIterator[tuple[SimStation, list[Cabinet], Poller, FakeClock]]:
    async with SimStation(
        cabinets=2,
        compartments=N,
        now=ManualTime(),
        tcp=transport == "modbus-tcp",
        rtu_pty=transport == "modbus-rtu",
        lockboard_pty=transport == "lockboard",
    ) as sim:
        cabs = build_cabinets(sim.cabinet_settings(transport, timeout_ms=timeout_ms))
        clock = FakeClock(START)
        queue: asyncio.Queue[CabinetEvent] = asyncio.Queue()
        poller = Poller(cabs, queue, clock=clock, offline_after=3, **poller_kw)
        try:
            await poller.poll_all()  # baseline
            yield sim, cabs, poller, clock
        finally:
            for c in cabs:
                await c.close()


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


FAULTS = ["no_answer", "bad_crc", "slow"]
TRANSPORTS = ["modbus-tcp", "modbus-rtu", "lockboard"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_goes_offline_after_n_polls_and_recovers(transport: str, fault: str) -> None:
    async def main() -> None:
        async with station(transport, FAULT_TIMEOUT_MS) as (sim, _cabs, poller, _clock):
            faults = sim.world.faults(1)
            if fault == "no_answer":
                faults.no_answer = True
            elif fault == "bad_crc":
                faults.bad_crc = True
            else:
                # answers come 1.5 s late: after the 300 ms timeout of all three polls below
                faults.delay_s = 1.5
            assert await poller.poll_once("1") == []
            assert await poller.poll_once("1") == []
            events = await poller.poll_once("1")
            assert kinds(events) == [(K.OFFLINE, "1", None)]
            assert not poller.is_online("1")
            assert await poller.poll_once("1") == []  # reported once, not every poll
            # the other cabinet on the same line is unaffected meanwhile
            sim.world.force_door(2, 1)
            assert (K.DOOR_OPENED, "2", 1) in kinds(await poller.poll_once("2"))
            faults.no_answer, faults.bad_crc, faults.delay_s = False, False, 0.0
            if fault == "slow":
                await asyncio.sleep(1.5)  # let the late answers drain off the line
            events = await poller.poll_once("1")
            assert kinds(events) == [(K.ONLINE, "1", None)]
            assert poller.is_online("1")
            assert await poller.poll_once("1") == []

    run(main)


def test_slow_answer_within_timeout_is_no_fault() -> None:
    async def main() -> None:
        async with station("modbus-tcp") as (sim, _cabs, poller, _clock):
            sim.world.faults(1).delay_s = 0.05
            for _ in range(4):
                assert await poller.poll_once("1") == []
            assert poller.is_online("1")

    run(main)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_forced_door_is_tamper_and_commanded_release_is_not(transport: str) -> None:
    async def main() -> None:
        async with station(transport) as (sim, cabs, poller, _clock):
            sim.world.force_door(1, 2)
            events = await poller.poll_once("1")
            assert kinds(events) == [(K.DOOR_OPENED, "1", 2), (K.TAMPER, "1", 2)]
            poller.expect_open("1", 5, window_s=30)
            await cabs[0].release(5)
            sim.world.open_door(1, 5)
            events = await poller.poll_once("1")
            assert kinds(events) == [(K.LOCK_RELEASED, "1", 5), (K.DOOR_OPENED, "1", 5)]

    run(main)


def test_release_window_expires_then_opening_is_tamper() -> None:
    async def main() -> None:
        async with station("modbus-tcp") as (sim, cabs, poller, clock):
            poller.expect_open("1", 4, window_s=10)
            await cabs[0].release(4)
            clock.advance(11)
            sim.world.open_door(1, 4)
            events = await poller.poll_once("1")
            assert (K.TAMPER, "1", 4) in kinds(events)

    run(main)


@pytest.mark.parametrize("transport", ["modbus-tcp", "lockboard"])
def test_door_left_open_alarm_once_per_opening(transport: str) -> None:
    async def main() -> None:
        async with station(transport, door_open_alarm_s=120) as (sim, _cabs, poller, clock):
            sim.world.force_door(1, 6)
            await poller.poll_once("1")
            clock.advance(119)
            assert await poller.poll_once("1") == []
            clock.advance(2)
            events = await poller.poll_once("1")
            assert kinds(events) == [(K.DOOR_LEFT_OPEN, "1", 6)]
            assert "121 s" in events[0].detail
            clock.advance(600)
            assert await poller.poll_once("1") == []
            sim.world.close_door(1, 6)
            assert kinds(await poller.poll_once("1")) == [(K.DOOR_CLOSED, "1", 6)]

    run(main)


@pytest.mark.parametrize("transport", ["modbus-tcp", "modbus-rtu"])
def test_door_edges_between_polls_are_detected_from_the_counter(transport: str) -> None:
    async def main() -> None:
        async with station(transport) as (sim, _cabs, poller, _clock):
            sim.world.slam(1, 3)  # open and shut between two polls: no state change seen
            events = await poller.poll_once("1")
            assert kinds(events) == [(K.MISSED_EDGE, "1", None)]
            assert "2 door change(s)" in events[0].detail
            # one seen edge plus a missed pair: the seen one is an event, the pair is missed
            sim.world.slam(1, 0)
            sim.world.force_door(1, 1)
            events = await poller.poll_once("1")
            assert kinds(events) == [
                (K.DOOR_OPENED, "1", 1),
                (K.TAMPER, "1", 1),
                (K.MISSED_EDGE, "1", None),
            ]
            assert await poller.poll_once("1") == []

    run(main)


def test_running_poller_survives_a_failing_handler_and_a_dropped_unit() -> None:
    async def main() -> None:
        async with SimStation(cabinets=2, compartments=N, now=ManualTime()) as sim:
            cabs = build_cabinets(sim.cabinet_settings("modbus-tcp", timeout_ms=500))
            got: asyncio.Queue[CabinetEvent] = asyncio.Queue()

            async def handler(ev: CabinetEvent) -> None:
                await got.put(ev)
                raise RuntimeError("handler bug")  # must be logged, not kill the poller

            poller = Poller(cabs, handler, period_s=0.02, offline_after=2, backoff_max_s=0.1)
            poller.start()
            try:
                # the baseline: a door forced before the first read would be no change
                async with asyncio.timeout(WAIT_S):
                    while any(poller.last_status(c) is None for c in ("1", "2")):
                        await asyncio.sleep(0.01)
                sim.world.force_door(1, 0)
                ev = await asyncio.wait_for(got.get(), WAIT_S)
                assert (ev.kind, ev.cabinet_id, ev.compartment) == (K.DOOR_OPENED, "1", 0)
                assert (await asyncio.wait_for(got.get(), WAIT_S)).kind == K.TAMPER
                sim.world.drop_unit(2)
                ev = await asyncio.wait_for(got.get(), WAIT_S)
                assert (ev.kind, ev.cabinet_id) == (K.OFFLINE, "2")
                sim.world.restore_unit(2)
                ev = await asyncio.wait_for(got.get(), WAIT_S)
                assert (ev.kind, ev.cabinet_id) == (K.ONLINE, "2")
            finally:
                await poller.stop()
                for c in cabs:
                    await c.close()

    run(main)


def test_gateway_restart_is_offline_then_online_on_the_same_port() -> None:
    async def main() -> None:
        first = await SimStation(cabinets=1, compartments=4).start()
        port = first.tcp_port
        cabs = build_cabinets(first.cabinet_settings("modbus-tcp", timeout_ms=500))
        queue: asyncio.Queue[CabinetEvent] = asyncio.Queue()
        poller = Poller(cabs, queue, clock=FakeClock(START), offline_after=2)
        second: SimStation | None = None
        try:
            assert await poller.poll_once("1") == []
            await first.stop()
            events = [ev for _ in range(3) for ev in await poller.poll_once("1")]
            assert kinds(events) == [(K.OFFLINE, "1", None)]
            assert "cannot connect" in events[0].detail or "no valid answer" in events[0].detail
            second = await SimStation(cabinets=1, compartments=4, tcp_port=port or 0).start()
            second.world.force_door(1, 2)  # happened while we were away
            events = await poller.poll_once("1")
            assert kinds(events) == [
                (K.ONLINE, "1", None),
                (K.DOOR_OPENED, "1", 2),
                (K.TAMPER, "1", 2),
            ]
        finally:
            if second is not None:
                await second.stop()
            for c in cabs:
                await c.close()

    run(main)
