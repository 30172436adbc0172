"""The cabinet register map: defined once, as data, shared by the driver and the simulator.

:data:`REFERENCE_MAP` is the map our simulator serves and our driver speaks by default
(documented in ``docs/register-map.md``). A station whose cabinets come from another vendor
describes their map in its config; :meth:`RegisterMap.from_mapping` turns that table into a
:class:`RegisterMap` without code. Addresses are 0-based protocol addresses (what goes in
the Modbus PDU), not the 1-based "40001"-style numbers some vendor sheets print.

Per-compartment quantities are blocks of N consecutive bits starting at a base address:
compartment ``i`` is at ``base + i``. Each input block has a polarity (which bit value means
"true"), because vendors disagree on whether 1 means "door closed" or "door open".
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

from locker_firmware_bridge.errors import CabinetConfigError

#: Modbus limits for one read request (spec: 2000 bits, 125 registers).
MODBUS_MAX_BITS = 2000
MODBUS_MAX_REGISTERS = 125


@dataclass(frozen=True)
class BitBlock:
    """N consecutive bits, compartment ``i`` at ``address + i``.

    ``true_value`` is the raw bit value that means the condition holds (1 = active high).
    """

    address: int
    true_value: int = 1

    def decode(self, raw: bool) -> bool:
        """The condition for one raw bit, polarity applied."""
        return raw == bool(self.true_value)

    def encode(self, condition: bool) -> bool:
        """The raw bit the controller shows for a condition (used by the simulator)."""
        return condition == bool(self.true_value)


@dataclass(frozen=True)
class RegisterMap:
    """Where a cabinet keeps each quantity. See the module docstring and the docs table.

    Register fields set to ``None`` mean "this controller has no such register": the driver
    then needs ``compartments`` from the station config, reports firmware 0, and keeps no
    door-event counter (so missed edges can't be detected on such cabinets).
    """

    name: str = "reference"
    #: coils: write 1 to pulse-release compartment i's lock (the controller self-clears it)
    release_coil: int = 0
    #: coils: guide LED of compartment i
    led_coil: int = 100
    #: discrete inputs
    door_closed: BitBlock = field(default_factory=lambda: BitBlock(0))
    occupied: BitBlock = field(default_factory=lambda: BitBlock(100))
    lock_engaged: BitBlock = field(default_factory=lambda: BitBlock(200))
    #: input registers
    count_register: int | None = 0
    firmware_register: int | None = 1
    door_counter_register: int | None = 2
    #: input registers: the three bit blocks again, packed 16 per register (bit i % 16 of
    #: word i // 16, LSB first; same polarity as the discrete inputs): W = ceil(N/16) words
    #: of doors from here, then W of occupancy, then W of locks. With them a full status is
    #: ONE read (count, firmware, counter and every bit in one consistent snapshot).
    status_words_register: int | None = 3
    #: holding registers
    unlock_pulse_ms_register: int | None = 0
    door_alarm_s_register: int | None = 1
    #: the door-event counter wraps at this value (16-bit register)
    counter_modulus: int = 65536
    #: largest single read; lower it for controllers that refuse long reads
    max_bits_per_read: int = MODBUS_MAX_BITS
    max_registers_per_read: int = MODBUS_MAX_REGISTERS

    # ------------------------------------------------------------------ reading plans

    def input_blocks(self) -> tuple[BitBlock, BitBlock, BitBlock]:
        """The three discrete-input blocks: doors, occupancy, locks."""
        return (self.door_closed, self.occupied, self.lock_engaged)

    def bit_reads(self, n: int) -> list[tuple[int, int]]:
        """Discrete-input reads ``(address, count)`` covering every block for N compartments.

        Blocks are merged into one read whenever the merged span fits in one request, so
        the reference map's full status needs a single discrete-input read.
        """
        return _coalesce([(b.address, n) for b in self.input_blocks()], self.max_bits_per_read)

    def register_reads(self, n: int) -> list[tuple[int, int]]:
        """Input-register reads covering count, firmware, counter and the status words."""
        regs = [(a, c) for _k, a, c in self._input_register_spans(n)]
        return _coalesce(regs, self.max_registers_per_read) if regs else []

    def status_word_span(self, n: int) -> tuple[int, int] | None:
        """(first register, count) of the packed status words for N compartments."""
        if self.status_words_register is None:
            return None
        return self.status_words_register, 3 * status_words(n)

    def _input_register_spans(self, n: int) -> list[tuple[str, int, int]]:
        spans = [
            (k, a, 1)
            for k, a in (
                ("count_register", self.count_register),
                ("firmware_register", self.firmware_register),
                ("door_counter_register", self.door_counter_register),
            )
            if a is not None
        ]
        words = self.status_word_span(n)
        if words is not None:
            spans.append(("status_words_register", words[0], words[1]))
        return spans

    def validate(self, n: int) -> None:
        """Raise :class:`CabinetConfigError` if blocks overlap for N compartments."""
        if n < 1:
            raise CabinetConfigError(f"map {self.name!r}: compartment count must be >= 1")
        if self.max_bits_per_read < n:
            raise CabinetConfigError(
                f"map {self.name!r}: max_bits_per_read {self.max_bits_per_read} < {n}"
            )
        _check_disjoint(
            self.name,
            "coils",
            [("release_coil", self.release_coil, n), ("led_coil", self.led_coil, n)],
        )
        _check_disjoint(
            self.name,
            "discrete inputs",
            [
                ("door_closed", self.door_closed.address, n),
                ("occupied", self.occupied.address, n),
                ("lock_engaged", self.lock_engaged.address, n),
            ],
        )
        words = self.status_word_span(n)
        if words is not None and words[1] > self.max_registers_per_read:
            raise CabinetConfigError(
                f"map {self.name!r}: {words[1]} status words exceed one read "
                f"({self.max_registers_per_read} registers)"
            )
        _check_disjoint(self.name, "input registers", self._input_register_spans(n))
        _check_disjoint(
            self.name,
            "holding registers",
            [
                (k, a, 1)
                for k, a in (
                    ("unlock_pulse_ms_register", self.unlock_pulse_ms_register),
                    ("door_alarm_s_register", self.door_alarm_s_register),
                )
                if a is not None
            ],
        )

    # ------------------------------------------------------------------ config

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, object], base: RegisterMap | None = None
    ) -> RegisterMap:
        """A map from a station config table (e.g. TOML ``[cabinets.A.map]``).

        Keys are this class's field names; the three input blocks take a table
        ``{address = 0, true_value = 1}`` or just an address. A register set to ``false``
        (TOML has no null) or ``"none"`` is absent. Unknown keys are an error, so a typo
        never silently falls back to the reference address.
        """
        base = base or REFERENCE_MAP
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CabinetConfigError(
                f"unknown register map key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        changes: dict[str, object] = {}
        for key, value in data.items():
            current = getattr(base, key)
            if isinstance(current, BitBlock):
                changes[key] = _bit_block(key, value)
            elif key == "name":
                if not isinstance(value, str):
                    raise CabinetConfigError("map name must be a string")
                changes[key] = value
            elif key.endswith("_register"):
                changes[key] = None if value is False or value == "none" else _addr(key, value)
            else:
                changes[key] = _addr(key, value)
        result = replace(base, **changes)  # type: ignore[arg-type]
        if result.counter_modulus < 2:
            raise CabinetConfigError("counter_modulus must be >= 2")
        return result


def status_words(n: int) -> int:
    """Registers per packed bit block for N compartments: ceil(N / 16)."""
    return (n + 15) // 16


def pack_words(bits: Sequence[bool]) -> list[int]:
    """Bits packed LSB-first into 16-bit registers."""
    value = 0
    for i, b in enumerate(bits):
        if b:
            value |= 1 << i
    return [(value >> (16 * k)) & 0xFFFF for k in range(status_words(len(bits)))]


def unpack_words(words: Sequence[int], n: int) -> list[bool]:
    """The first N bits of LSB-first packed registers."""
    value = 0
    for k, w in enumerate(words):
        value |= (w & 0xFFFF) << (16 * k)
    return [bool(value >> i & 1) for i in range(n)]


REFERENCE_MAP = RegisterMap()
"""The reference register map (see ``docs/register-map.md``)."""

#: what the reference controller reports in its firmware-version input register
REFERENCE_FIRMWARE_VERSION = 0x0100


def _addr(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise CabinetConfigError(f"register map {key} must be an integer 0..65535, not {value!r}")
    return value


def _bit_block(key: str, value: object) -> BitBlock:
    if isinstance(value, Mapping):
        extra = sorted(set(value) - {"address", "true_value"})
        if extra or "address" not in value:
            raise CabinetConfigError(
                f"register map {key} takes {{address, true_value}}, got {sorted(value)}"
            )
        tv = value.get("true_value", 1)
        if tv not in (0, 1) or isinstance(tv, bool):
            raise CabinetConfigError(f"register map {key}.true_value must be 0 or 1")
        return BitBlock(_addr(f"{key}.address", value["address"]), int(tv))
    return BitBlock(_addr(key, value))


def _coalesce(spans: Sequence[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Merge (address, count) spans, in address order, while the merged read fits ``limit``."""
    out: list[tuple[int, int]] = []
    for addr, count in sorted(spans):
        if out:
            start, length = out[-1]
            end = max(start + length, addr + count)
            if end - start <= limit:
                out[-1] = (start, end - start)
                continue
        out.append((addr, count))
    return out


def _check_disjoint(name: str, table: str, spans: Sequence[tuple[str, int, int]]) -> None:
    ordered = sorted(spans, key=lambda s: s[1])
    for (k1, a1, n1), (k2, a2, _n2) in itertools.pairwise(ordered):
        if a1 + n1 > a2:
            raise CabinetConfigError(
                f"map {name!r}: {table} {k1} ({a1}..{a1 + n1 - 1}) overlaps {k2} (from {a2})"
            )
