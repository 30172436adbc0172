"""What the terminal works with: the station's parts, handed over by the daemon.

:class:`TerminalStation` bundles the custody service (the only write path to the ledger),
the badge list, the cabinets, the camera, the label reader, the photo store and the clock.
The daemon (or ``locker demo``, or a test) builds one and passes it to
:func:`terminal.app.create_terminal_app`.

Compartments are named ``<cabinet>/<n>`` with ``n`` the controller's index (from 0), the
same names the daemon's flows and alarms write to the ledger (:meth:`split_compartment`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from custody.alarms import AlarmView
from custody.errors import LockerError
from custody.ports import (
    BarcodeReader,
    Cabinet,
    CabinetStatus,
    Camera,
    Clock,
    CompartmentState,
    PhotoStore,
)
from custody.services import CustodyService
from terminal.sessions import BadgeHolder, TerminalSettings


class CompartmentNameError(LockerError):
    """A compartment name is not ``<cabinet>/<n>`` for a known cabinet and number."""


class Claims(Protocol):
    """The daemon's alarm desk: a compartment a step works on is claimed, so the door and
    occupancy changes of that step are not taken for a forced door or a theft."""

    def claim(self, cabinet: str, compartment: int, why: str) -> None: ...

    def unclaim(self, cabinet: str, compartment: int) -> None: ...

    def claimed(self, cabinet: str, compartment: int) -> bool: ...


class AlarmBoard(Protocol):
    """Where open alarms come from and where a clerk's acknowledgement is recorded."""

    def open_alarms(self) -> Sequence[AlarmView]:
        """Alarms nobody has acknowledged yet, oldest first."""
        ...

    def acknowledge(self, alarm_id: str, *, clerk: str) -> None:
        """Record the clerk's acknowledgement (a ledger entry); refuses unknown ids."""
        ...


def _default_check_pin() -> Callable[[str, str], bool]:
    from lockerd.config import check_pin  # the one PIN hash format of the station config

    return check_pin


@dataclass
class TerminalStation:
    """The parts of the station the terminal uses."""

    custody: CustodyService
    people: Sequence[BadgeHolder]
    cabinets: Mapping[str, Cabinet]
    camera: Camera
    reader: BarcodeReader
    photos: PhotoStore
    clock: Clock
    settings: TerminalSettings = field(default_factory=TerminalSettings)
    alarms: AlarmBoard | None = None
    station_name: str = ""
    check_pin: Callable[[str, str], bool] = field(default_factory=_default_check_pin)
    #: compartments the terminal must not hand out (e.g. reserved), as ``A/3``
    reserved: frozenset[str] = frozenset()
    #: told of every release the terminal commands (the daemon passes its poller's
    #: ``expect_open``), so the door opening that follows is not taken for a forced door
    expect_open: Callable[[str, int], None] | None = None
    #: the daemon's alarm desk (claims of the compartments a step works on)
    claims: Claims | None = None
    #: writes a station entry (kind, body, actor) -> seq: PIN lockouts; None: not recorded
    record: Callable[[str, Mapping[str, Any], str], int] | None = None
    #: the daemon poller's latest status of a cabinet (``Poller.last_status``): read
    #: instead of asking the controller again; None: the terminal reads the cabinet itself
    last_status: Callable[[str], CabinetStatus | None] | None = None
    claim_grace_s: float = 2.0
    _counts: dict[str, int] = field(default_factory=dict, init=False)
    _claim_gen: dict[tuple[str, int], int] = field(default_factory=dict, init=False)

    def split_compartment(self, name: str) -> tuple[Cabinet, int]:
        """``"A/3"`` -> (cabinet A, controller index 3)."""
        cab_id, _, number = name.rpartition("/")
        cabinet = self.cabinets.get(cab_id)
        if cabinet is None or not number.isdigit():
            raise CompartmentNameError(f"no compartment {name!r} at this station")
        return cabinet, int(number)

    async def compartment_count(self, cab_id: str) -> int:
        """How many compartments a cabinet has (asked once, then remembered)."""
        if cab_id not in self._counts:
            self._counts[cab_id] = await self.cabinets[cab_id].compartment_count()
        return self._counts[cab_id]

    async def status(self, cab_id: str) -> CabinetStatus:
        """A cabinet's status: the poller's latest, else read from the controller now."""
        if self.last_status is not None:
            status = self.last_status(cab_id)
            if status is not None:
                return status
        return await self.cabinets[cab_id].read_status()

    async def compartment_state(self, name: str, *, fresh: bool = False) -> CompartmentState:
        """Door, occupancy and lock of one compartment (see :meth:`status`).

        ``fresh`` reads the controller now: what a step is judged on (commit, cancel) must
        not be a poll older than the person's last movement.
        """
        cabinet, index = self.split_compartment(name)
        if fresh:
            status = await cabinet.read_status()
        else:
            status = await self.status(cabinet.cabinet_id)
        if index >= len(status.compartments):
            raise CompartmentNameError(f"no compartment {name!r} at this station")
        return status.compartments[index]

    async def open_compartment(self, name: str, why: str = "terminal") -> None:
        """Light the compartment's guide LED and release its lock."""
        cabinet, index = self.split_compartment(name)
        if self.claims is not None:
            key = (cabinet.cabinet_id, index)
            self._claim_gen[key] = self._claim_gen.get(key, 0) + 1
            self.claims.claim(cabinet.cabinet_id, index, why)
        await cabinet.set_led(index, True)
        if self.expect_open is not None:
            self.expect_open(cabinet.cabinet_id, index)
        await cabinet.release(index)

    async def light(self, name: str, on: bool) -> None:
        """Switch a compartment's guide LED."""
        cabinet, index = self.split_compartment(name)
        await cabinet.set_led(index, on)

    def release_claim(self, name: str) -> None:
        """The step at this compartment is over (recorded or cancelled).

        The claim is dropped ``claim_grace_s`` later, once the poller has surely seen the
        step's last door and sensor changes (judged under the claim, so no false alarm);
        a new step claiming the compartment meanwhile keeps its claim.
        """
        if self.claims is None:
            return
        cabinet, index = self.split_compartment(name)
        key = (cabinet.cabinet_id, index)
        generation = self._claim_gen.get(key, 0)
        claims = self.claims

        def drop() -> None:
            if self._claim_gen.get(key, 0) == generation:
                claims.unclaim(*key)

        asyncio.get_running_loop().call_later(self.claim_grace_s, drop)

    async def free_compartment(self, case_id: str) -> str:
        """A compartment for a case: one already holding the case, else the first empty one.

        Empty means: no item in the ledger's projection, the sensor reads empty and the door
        is closed (a compartment standing open is someone else's step).
        """
        proj = self.custody.projection
        with self.custody.lock:
            for where, labels in sorted(proj.compartments.items()):
                mine = all(proj.items[lb].case_id == case_id for lb in labels)
                if labels and mine and where not in self.reserved:
                    return where
            used = set(proj.compartments)
        for cab_id in sorted(self.cabinets):
            status = await self.status(cab_id)
            for comp in status.compartments:
                name = f"{cab_id}/{comp.index}"
                if self.claims is not None and self.claims.claimed(cab_id, comp.index):
                    continue
                if name in used or name in self.reserved:
                    continue
                if comp.door_closed and not comp.occupied:
                    return name
        raise NoFreeCompartmentError("every compartment is in use: call the centre's manager")


class NoFreeCompartmentError(LockerError):
    """No compartment is free for the items to be stored."""
