"""The Modbus cabinet driver: one controller (unit id) on a :class:`ModbusLine`.

:class:`ModbusCabinet` implements :class:`custody.ports.Cabinet` at the addresses of a
:class:`~locker_firmware_bridge.regmap.RegisterMap`. A full status costs as few
transactions as the map allows: with the reference map, ONE input-register read (count,
firmware, door-event counter and the packed status words: a consistent snapshot). For
maps without status words, registers are read before the discrete inputs so that a door
edge falling between the reads shows up as "seen before counted", never as a missed edge
(see the poller).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from custody.ports import CabinetStatus, CompartmentState
from locker_firmware_bridge.errors import (
    CabinetConfigError,
    CabinetProtocolError,
    CompartmentError,
)
from locker_firmware_bridge.line import Client, ModbusLine
from locker_firmware_bridge.regmap import REFERENCE_MAP, RegisterMap, unpack_words


class ModbusCabinet:
    """A cabinet controller reached over Modbus (RTU or TCP)."""

    def __init__(
        self,
        cabinet_id: str,
        line: ModbusLine,
        unit: int,
        *,
        regmap: RegisterMap = REFERENCE_MAP,
        compartments: int | None = None,
    ) -> None:
        if not 1 <= unit <= 247:
            raise CabinetConfigError(f"cabinet {cabinet_id}: unit id {unit} not in 1..247")
        if compartments is None and regmap.count_register is None:
            raise CabinetConfigError(
                f"cabinet {cabinet_id}: map {regmap.name!r} has no count register, "
                "so the station config must give the compartment count"
            )
        if compartments is not None:
            regmap.validate(compartments)
        self._id = cabinet_id
        self.line = line
        self.unit = unit
        self.regmap = regmap
        self._n = compartments
        self._soft_counter = 0  # used when the map has no door-event counter
        self._last_doors: tuple[bool, ...] | None = None
        line.attach()

    @property
    def cabinet_id(self) -> str:
        """The station's name for this cabinet."""
        return self._id

    async def compartment_count(self) -> int:
        """From the config if given, else read once from the count register."""
        if self._n is None:
            assert self.regmap.count_register is not None  # checked in __init__
            regs = await self._read_registers(self.regmap.count_register, 1)
            self._set_count(regs[0])
        assert self._n is not None
        return self._n

    def _set_count(self, n: int) -> None:
        if n < 1:
            raise CabinetProtocolError(f"cabinet {self._id}: controller reports {n} compartments")
        self.regmap.validate(n)
        self._n = n

    async def release(self, compartment: int) -> None:
        """Write 1 to the compartment's release coil (the controller pulses and clears it)."""
        await self._check(compartment)
        addr = self.regmap.release_coil + compartment
        await self.line.call(
            f"unit {self.unit} release {compartment}",
            lambda c: c.write_coil(addr, True, device_id=self.unit),
        )

    async def set_led(self, compartment: int, on: bool) -> None:
        """Switch the compartment's guide LED coil."""
        await self._check(compartment)
        addr = self.regmap.led_coil + compartment
        await self.line.call(
            f"unit {self.unit} led {compartment}",
            lambda c: c.write_coil(addr, on, device_id=self.unit),
        )

    async def read_timing(self) -> tuple[int | None, int | None]:
        """(unlock pulse ms, door-open alarm s) from the holding registers, None if absent."""
        out: list[int | None] = []
        for reg in (self.regmap.unlock_pulse_ms_register, self.regmap.door_alarm_s_register):
            if reg is None:
                out.append(None)
                continue
            resp = await self.line.call(
                f"unit {self.unit} read holding {reg}", self._op("hr", reg, 1)
            )
            out.append(int(resp.registers[0]))
        return out[0], out[1]

    async def read_status(self) -> CabinetStatus:
        """Doors, occupancy, locks and the door-event counter, in the fewest reads.

        With the reference map that is one input-register read (count, firmware, counter
        and the packed status words); maps without status words add discrete-input reads.
        """
        m = self.regmap
        n = await self.compartment_count()  # one extra read, the first time only
        regs: dict[int, int] = {}
        for addr, count in m.register_reads(n):
            values = await self._read_registers(addr, count)
            regs.update({addr + k: v for k, v in enumerate(values)})
        if m.count_register is not None and regs[m.count_register] != n:
            raise CabinetProtocolError(
                f"cabinet {self._id}: controller reports {regs[m.count_register]} "
                f"compartments, but {n} are configured (or were reported before)"
            )
        words = m.status_word_span(n)
        if words is not None:
            w = words[1] // 3
            packed = [regs[words[0] + k] for k in range(words[1])]
            raw = [unpack_words(packed[b * w : (b + 1) * w], n) for b in range(3)]
        else:
            bits: dict[int, bool] = {}
            for addr, count in m.bit_reads(n):
                resp = await self.line.call(
                    f"unit {self.unit} read inputs {addr}+{count}", self._op("di", addr, count)
                )
                values = list(resp.bits)
                if len(values) < count:
                    raise CabinetProtocolError(f"cabinet {self._id}: short discrete-input answer")
                bits.update({addr + k: bool(values[k]) for k in range(count)})
            raw = [[bits[blk.address + i] for i in range(n)] for blk in m.input_blocks()]
        # polarity applied inline: this runs for every compartment on every poll
        dt, ot, lt = (bool(b.true_value) for b in m.input_blocks())
        comps = tuple(
            CompartmentState(i, d == dt, o == ot, lk == lt)
            for i, (d, o, lk) in enumerate(zip(*raw, strict=True))
        )
        if m.door_counter_register is not None:
            counter = regs[m.door_counter_register]
        else:
            counter = self._count_edges(comps)
        firmware = regs.get(m.firmware_register, 0) if m.firmware_register is not None else 0
        return CabinetStatus(self._id, comps, door_event_counter=counter, firmware_version=firmware)

    def _count_edges(self, comps: tuple[CompartmentState, ...]) -> int:
        """A driver-side counter for maps without one: counts only the edges it sees."""
        doors = tuple(c.door_closed for c in comps)
        if self._last_doors is not None:
            self._soft_counter += sum(a != b for a, b in zip(doors, self._last_doors, strict=True))
        self._last_doors = doors
        return self._soft_counter % self.regmap.counter_modulus

    async def close(self) -> None:
        """Stop using the line (it closes when no cabinet uses it)."""
        await self.line.detach()

    async def _check(self, compartment: int) -> None:
        n = await self.compartment_count()
        if not 0 <= compartment < n:
            raise CompartmentError(
                f"cabinet {self._id} has no compartment {compartment} (0..{n - 1})"
            )

    def _op(self, table: str, addr: int, count: int) -> Callable[[Client], Any]:
        """A read request bound to this unit, for :meth:`ModbusLine.call`."""

        def op(c: Client) -> Any:
            if table == "di":
                return c.read_discrete_inputs(addr, count=count, device_id=self.unit)
            if table == "hr":
                return c.read_holding_registers(addr, count=count, device_id=self.unit)
            return c.read_input_registers(addr, count=count, device_id=self.unit)

        return op

    async def _read_registers(self, addr: int, count: int) -> list[int]:
        resp = await self.line.call(
            f"unit {self.unit} read registers {addr}+{count}", self._op("ir", addr, count)
        )
        values = [int(v) for v in resp.registers]
        if len(values) < count:
            raise CabinetProtocolError(f"cabinet {self._id}: short input-register answer")
        return values
