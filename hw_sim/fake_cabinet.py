"""An in-memory cabinet implementing :class:`custody.ports.Cabinet` over the simulated world.

No wire at all: :class:`FakeCabinet` reads and drives a
:class:`~hw_sim.cabinet_world.World` cabinet directly, with the same behaviour the Modbus
and lock-board drivers show against the simulator (the contract tests run one suite on
all of them). Injected faults apply: ``no_answer`` and ``bad_crc`` raise
:class:`~locker_firmware_bridge.errors.CabinetTimeoutError`, ``delay_s`` slows each call.
"""

from __future__ import annotations

import asyncio

from custody.ports import CabinetStatus, CompartmentState
from hw_sim.cabinet_world import CabinetSim, World
from locker_firmware_bridge.errors import CabinetTimeoutError, CompartmentError


class FakeCabinet:
    """Cabinet ``unit`` of a world, seen through no protocol."""

    def __init__(self, world: World, unit: int, cabinet_id: str | None = None) -> None:
        self.world = world
        self.unit = unit
        self._cab: CabinetSim = world.cabinet(unit)
        self._id = cabinet_id if cabinet_id is not None else str(unit)
        self.closed = False

    @property
    def cabinet_id(self) -> str:
        """The station's name for this cabinet."""
        return self._id

    async def _answer(self) -> CabinetSim:
        faults = self._cab.faults
        if faults.delay_s > 0:
            await asyncio.sleep(faults.delay_s)
        if faults.no_answer or faults.bad_crc:
            raise CabinetTimeoutError(f"fake cabinet {self._id}: no valid answer")
        return self._cab

    def _check(self, compartment: int) -> None:
        if not 0 <= compartment < self._cab.count:
            raise CompartmentError(
                f"cabinet {self._id} has no compartment {compartment} (0..{self._cab.count - 1})"
            )

    async def compartment_count(self) -> int:
        """N."""
        return (await self._answer()).count

    async def release(self, compartment: int) -> None:
        """Pulse the lock."""
        self._check(compartment)
        (await self._answer()).release(compartment)

    async def set_led(self, compartment: int, on: bool) -> None:
        """Switch the guide LED."""
        self._check(compartment)
        (await self._answer()).comp(compartment).led = on

    async def read_status(self) -> CabinetStatus:
        """Doors, sensed occupancy, locks and the door-event counter."""
        cab = await self._answer()
        comps = tuple(
            CompartmentState(
                index=c.index,
                door_closed=c.door_closed,
                occupied=cab.sensed_occupied(c.index),
                locked=cab.lock_engaged(c.index),
            )
            for c in cab.compartments
        )
        return CabinetStatus(self._id, comps, cab.door_counter, cab.firmware_version)

    async def close(self) -> None:
        """Nothing to release."""
        self.closed = True
