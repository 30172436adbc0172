"""The physical world of the simulated cabinets: doors, locks, occupancy sensors, people.

A :class:`World` holds K cabinets (numbered 1..K, which are also their Modbus unit ids and
lock-board addresses), each with N compartments. Controllers (the Modbus server, the lock
board, the in-memory fake) read and drive it; tests and the demo act on it as a person::

    world.release(1, 3)        # what the controller does when the lock coil is written
    world.open_door(1, 3)      # a person pulls the released door open
    world.put_item(1, 3)       # ... puts an exhibit in
    world.close_door(1, 3)     # ... and shuts it (the latch catches)
    world.force_door(1, 4)     # someone pries a locked door open (tamper)
    world.jam_lock(1, 5)       # the solenoid no longer moves: releases do nothing
    world.fail_sensor(1, 6, reads=False)   # the IR sensor is stuck at one value
    world.faults(1).no_answer = True       # the controller stops answering (see Faults)

Physics: a release pulls the lock's solenoid for the unlock pulse (holding register 0,
default 500 ms); while it is pulled the door can be opened. When the pulse ends the bolt
springs back (lock engaged again) whether the door is open or not; a spring latch lets a
closed door catch. Every door change increments the cabinet's door-event counter (16-bit,
wrapping), which is how a poller notices edges that happened between two of its reads.

Time comes from ``now`` (monotonic seconds); pass a :class:`ManualTime` to make pulses
expire only when a test says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from custody.errors import LockerError
from locker_firmware_bridge.regmap import REFERENCE_FIRMWARE_VERSION


class WorldError(LockerError):
    """A person tried something physically impossible (open a locked door, reach into a
    closed compartment) or named a cabinet/compartment that does not exist."""


class ManualTime:
    """A monotonic time source that moves only when told (for deterministic tests)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.value += seconds


@dataclass
class Faults:
    """Controller faults injected on one cabinet (effective on the next request).

    ``no_answer``: the unit is silent (a dropped unit; clear it and it comes back).
    ``bad_crc``: answers go out with a corrupted CRC (RTU) or a garbled frame (TCP).
    ``delay_s``: each answer is held back this long (slow controller).
    """

    no_answer: bool = False
    bad_crc: bool = False
    delay_s: float = 0.0


@dataclass
class CompartmentSim:
    """One compartment's physical state."""

    index: int
    door_closed: bool = True
    occupied: bool = False  # the truth; see sensed_occupied for what the sensor says
    led: bool = False
    stuck_lock: bool = False
    sensor_failed: bool = False
    sensor_reads: bool = False
    released_until: float = float("-inf")


@dataclass
class CabinetSim:
    """One cabinet: its compartments, registers and injected faults."""

    unit: int
    compartments: list[CompartmentSim]
    now: Callable[[], float]
    door_counter: int = 0
    firmware_version: int = REFERENCE_FIRMWARE_VERSION
    unlock_pulse_ms: int = 500
    door_alarm_s: int = 120
    faults: Faults = field(default_factory=Faults)
    releases: int = 0  # how many release commands reached the controller

    @property
    def count(self) -> int:
        """Number of compartments."""
        return len(self.compartments)

    def comp(self, i: int) -> CompartmentSim:
        """Compartment ``i`` (0-based); WorldError if out of range."""
        if not 0 <= i < len(self.compartments):
            raise WorldError(f"cabinet {self.unit} has no compartment {i} (0..{self.count - 1})")
        return self.compartments[i]

    def lock_engaged(self, i: int) -> bool:
        """True unless the solenoid is currently pulled by a release pulse."""
        c = self.comp(i)
        return c.stuck_lock or self.now() >= c.released_until

    def sensed_occupied(self, i: int) -> bool:
        """What the occupancy sensor reports (a failed sensor is stuck at one value)."""
        c = self.comp(i)
        return c.sensor_reads if c.sensor_failed else c.occupied

    def release(self, i: int) -> None:
        """The controller pulses the lock (a jammed lock doesn't move)."""
        c = self.comp(i)
        self.releases += 1
        if not c.stuck_lock:
            c.released_until = self.now() + self.unlock_pulse_ms / 1000.0

    def set_door(self, i: int, closed: bool) -> None:
        """Change a door and count the edge (no checks: see World for a person's rules)."""
        c = self.comp(i)
        if c.door_closed != closed:
            c.door_closed = closed
            self.door_counter = (self.door_counter + 1) % 65536


class World:
    """K simulated cabinets of N compartments and the people acting on them."""

    def __init__(
        self,
        cabinets: int,
        compartments: int,
        *,
        now: Callable[[], float] = time.monotonic,
        unlock_pulse_ms: int = 500,
    ) -> None:
        if cabinets < 1 or compartments < 1:
            raise WorldError("a world needs at least one cabinet with one compartment")
        self.now = now
        self.cabinets: dict[int, CabinetSim] = {
            u: CabinetSim(
                unit=u,
                compartments=[CompartmentSim(i) for i in range(compartments)],
                now=now,
                unlock_pulse_ms=unlock_pulse_ms,
            )
            for u in range(1, cabinets + 1)
        }

    def cabinet(self, unit: int) -> CabinetSim:
        """Cabinet ``unit`` (1..K)."""
        try:
            return self.cabinets[unit]
        except KeyError:
            raise WorldError(f"no cabinet {unit} (1..{len(self.cabinets)})") from None

    def faults(self, unit: int) -> Faults:
        """The fault switches of one cabinet's controller."""
        return self.cabinet(unit).faults

    # ------------------------------------------------------------------ a person

    def release(self, unit: int, i: int) -> None:
        """Release a lock as its controller would (tests usually go through a driver)."""
        self.cabinet(unit).release(i)

    def open_door(self, unit: int, i: int) -> None:
        """Pull a door open; only possible while its lock is released."""
        cab = self.cabinet(unit)
        if not cab.comp(i).door_closed:
            raise WorldError(f"cabinet {unit} compartment {i}: door is already open")
        if cab.lock_engaged(i):
            raise WorldError(f"cabinet {unit} compartment {i}: door is locked")
        cab.set_door(i, closed=False)

    def force_door(self, unit: int, i: int) -> None:
        """Pry a door open whatever the lock says (a tamper)."""
        self.cabinet(unit).set_door(i, closed=False)

    def close_door(self, unit: int, i: int) -> None:
        """Shut a door; the spring latch catches."""
        self.cabinet(unit).set_door(i, closed=True)

    def slam(self, unit: int, i: int) -> None:
        """Open and shut a door at once (two edges, quicker than any poll)."""
        self.force_door(unit, i)
        self.close_door(unit, i)

    def put_item(self, unit: int, i: int) -> None:
        """Put an item into an open compartment."""
        self._reach(unit, i).occupied = True

    def take_item(self, unit: int, i: int) -> None:
        """Take the item out of an open compartment."""
        self._reach(unit, i).occupied = False

    def _reach(self, unit: int, i: int) -> CompartmentSim:
        c = self.cabinet(unit).comp(i)
        if c.door_closed:
            raise WorldError(f"cabinet {unit} compartment {i}: the door is closed")
        return c

    # ------------------------------------------------------------------ breakage

    def jam_lock(self, unit: int, i: int, stuck: bool = True) -> None:
        """Make a lock ignore releases (or repair it with ``stuck=False``)."""
        self.cabinet(unit).comp(i).stuck_lock = stuck

    def fail_sensor(self, unit: int, i: int, reads: bool = False) -> None:
        """Make an occupancy sensor report ``reads`` whatever is inside."""
        c = self.cabinet(unit).comp(i)
        c.sensor_failed, c.sensor_reads = True, reads

    def repair_sensor(self, unit: int, i: int) -> None:
        """Restore an occupancy sensor."""
        self.cabinet(unit).comp(i).sensor_failed = False

    def drop_unit(self, unit: int) -> None:
        """The controller drops off the line (stops answering)."""
        self.faults(unit).no_answer = True

    def restore_unit(self, unit: int) -> None:
        """The controller comes back."""
        self.faults(unit).no_answer = False
