"""One cabinet contract, run against every implementation of ``custody.ports.Cabinet``.

The same scenarios run on the in-memory fake, on the Modbus driver talking to the real
pymodbus simulator over TCP, over RTU on a pty null-modem and over RTU on ``socket://``,
and on the lock-board driver talking to the simulated board over a pty. The world's time
is a :class:`ManualTime`, so lock pulses end only when a test says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from custody.ports import Cabinet
from hw_sim.cabinet_world import ManualTime, WorldError
from hw_sim.fake_cabinet import FakeCabinet
from hw_sim.station import SimStation
from locker_firmware_bridge.errors import CabinetOfflineError, CompartmentError
from locker_firmware_bridge.factory import build_cabinets

KINDS = ["fake", "modbus-tcp", "modbus-rtu-pty", "modbus-rtu-socket", "lockboard-pty"]
N = 8

pytestmark = pytest.mark.parametrize("kind", KINDS)
# The drivers' answer timeout: the silent-unit scenario waits it out, so it is short there;
# elsewhere no answer is late, and a generous timeout keeps a moment's stall of this process
# (which also runs the simulator) from failing a healthy read.
SILENT_TIMEOUT_MS = 1000
TIMEOUT_MS = 10_000


@dataclass
class Rig:
    sim: SimStation
    time: ManualTime
    cabs: list[Cabinet]


@asynccontextmanager
async def rig(kind: str, timeout_ms: int = TIMEOUT_MS) -> AsyncIterator[Rig]:
    clock = ManualTime()
    async with SimStation(
        cabinets=2,
        compartments=N,
        now=clock,
        tcp=kind == "modbus-tcp",
        rtu_pty=kind == "modbus-rtu-pty",
        rtu_socket=kind == "modbus-rtu-socket",
        lockboard_pty=kind == "lockboard-pty",
    ) as sim:
        cabs: list[Cabinet]
        if kind == "fake":
            cabs = [FakeCabinet(sim.world, u, str(u)) for u in (1, 2)]
        else:
            transport = {"modbus-tcp": "modbus-tcp", "lockboard-pty": "lockboard"}.get(
                kind, "modbus-rtu"
            )
            cabs = build_cabinets(sim.cabinet_settings(transport, timeout_ms=timeout_ms))
        try:
            yield Rig(sim, clock, cabs)
        finally:
            for c in cabs:
                await c.close()


def run(
    kind: str, scenario: Callable[[Rig], Awaitable[None]], timeout_ms: int = TIMEOUT_MS
) -> None:
    async def main() -> None:
        async with rig(kind, timeout_ms) as r:
            await scenario(r)

    asyncio.run(main())


def test_identity_and_quiet_initial_state(kind: str) -> None:
    async def scenario(r: Rig) -> None:
        cab = r.cabs[0]
        assert cab.cabinet_id == "1"
        assert await cab.compartment_count() == N
        st = await cab.read_status()
        assert st.cabinet_id == "1"
        assert [c.index for c in st.compartments] == list(range(N))
        assert all(c.door_closed and c.locked and not c.occupied for c in st.compartments)

    run(kind, scenario)


def test_release_open_put_close_cycle(kind: str) -> None:
    async def scenario(r: Rig) -> None:
        cab, world = r.cabs[0], r.sim.world
        before = await cab.read_status()
        await cab.release(3)
        st = await cab.read_status()
        assert st.compartments[3].locked is False
        assert all(c.locked for c in st.compartments if c.index != 3)
        world.open_door(1, 3)
        world.put_item(1, 3)
        st = await cab.read_status()
        c3 = st.compartments[3]
        assert (c3.door_closed, c3.occupied) == (False, True)
        assert (st.door_event_counter - before.door_event_counter) % 65536 == 1
        r.time.advance(1.0)  # the unlock pulse ends; the bolt springs back
        world.close_door(1, 3)
        st = await cab.read_status()
        c3 = st.compartments[3]
        assert (c3.door_closed, c3.occupied, c3.locked) == (True, True, True)
        assert (st.door_event_counter - before.door_event_counter) % 65536 == 2

    run(kind, scenario)


def test_take_item_out(kind: str) -> None:
    async def scenario(r: Rig) -> None:
        cab, world = r.cabs[0], r.sim.world
        world.cabinet(1).comp(5).occupied = True
        assert (await cab.read_status()).compartments[5].occupied
        await cab.release(5)
        world.open_door(1, 5)
        world.take_item(1, 5)
        assert not (await cab.read_status()).compartments[5].occupied

    run(kind, scenario)


def test_units_on_one_line_are_independent(kind: str) -> None:
    async def scenario(r: Rig) -> None:
        one, two = r.cabs
        await two.release(0)
        assert r.sim.world.cabinet(2).releases == 1
        assert r.sim.world.cabinet(1).releases == 0
        s1, s2 = await one.read_status(), await two.read_status()
        assert s1.compartments[0].locked and not s2.compartments[0].locked
        assert s2.cabinet_id == "2"

    run(kind, scenario)


def test_guide_led(kind: str) -> None:
    async def scenario(r: Rig) -> None:
        cab, c6 = r.cabs[0], r.sim.world.cabinet(1).comp(6)
        await cab.set_led(6, True)
        assert c6.led is True
        await cab.set_led(6, False)
        assert c6.led is False

    run(kind, scenario)


def test_bad_compartment_is_refused_and_nothing_moves(kind: str) -> None:
    async def scenario(r: Rig) -> None:
        cab = r.cabs[0]
        for bad in (-1, N):
            with pytest.raises(CompartmentError):
                await cab.release(bad)
            with pytest.raises(CompartmentError):
                await cab.set_led(bad, True)
        assert r.sim.world.cabinet(1).releases == 0

    run(kind, scenario)


def test_jammed_lock_stays_engaged(kind: str) -> None:
    async def scenario(r: Rig) -> None:
        cab, world = r.cabs[0], r.sim.world
        world.jam_lock(1, 2)
        await cab.release(2)
        assert (await cab.read_status()).compartments[2].locked is True
        with pytest.raises(WorldError):
            world.open_door(1, 2)

    run(kind, scenario)


def test_failed_sensor_reports_its_stuck_value(kind: str) -> None:
    async def scenario(r: Rig) -> None:
        cab, world = r.cabs[0], r.sim.world
        world.fail_sensor(1, 4, reads=True)
        assert (await cab.read_status()).compartments[4].occupied is True
        world.repair_sensor(1, 4)
        assert (await cab.read_status()).compartments[4].occupied is False

    run(kind, scenario)


def test_silent_unit_raises_offline_then_recovers(kind: str) -> None:
    async def scenario(r: Rig) -> None:
        cab, world = r.cabs[0], r.sim.world
        world.drop_unit(1)
        with pytest.raises(CabinetOfflineError):
            await cab.read_status()
        # the other unit on the same line still answers
        assert (await r.cabs[1].read_status()).cabinet_id == "2"
        world.restore_unit(1)
        assert len((await cab.read_status()).compartments) == N

    run(kind, scenario, SILENT_TIMEOUT_MS)
