"""Building cabinet drivers from station settings.

:class:`CabinetSettings` is a plain dataclass (the daemon's config loader fills it from the
station TOML); :func:`build_cabinets` turns a list of them into
:class:`custody.ports.Cabinet` objects. Cabinets naming the same line (the same TCP
host:port, the same serial device or ``socket://`` URL) share one
:class:`~locker_firmware_bridge.line.ModbusLine` (or one lock-board port), hence one lock,
as they share one RS-485 bus in the building.

Transports:

* ``"modbus-tcp"``: ``host`` + ``port`` (or ``url="HOST:PORT"``), ``unit``;
* ``"modbus-rtu"``: ``device`` (``/dev/ttyUSB0``, a pty path or ``socket://host:port``),
  ``baud``, ``unit``, optional ``gap_ms`` (default: 3.5 characters);
* ``"lockboard"``: ``device``, ``baud`` (default 9600), ``unit`` = board address,
  ``compartments`` (required: the board has no count register), ``lock_bit_locked``.

``map`` holds register-map overrides for another vendor's controller (see
:meth:`~locker_firmware_bridge.regmap.RegisterMap.from_mapping`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from custody.errors import SettingError
from custody.ports import Cabinet
from custody.settings import check_id, check_range
from locker_firmware_bridge.errors import CabinetConfigError, CabinetSettingError
from locker_firmware_bridge.line import ModbusLine
from locker_firmware_bridge.lockboard import LockBoardCabinet, LockBoardPort
from locker_firmware_bridge.modbus import ModbusCabinet
from locker_firmware_bridge.regmap import RegisterMap

Transport = Literal["modbus-tcp", "modbus-rtu", "lockboard"]
TRANSPORTS: tuple[str, ...] = get_args(Transport)


@dataclass(frozen=True)
class CabinetSettings:
    """One cabinet controller and how to reach it: a ``[[cabinets]]`` table of the station
    config (this class is its one definition; the config loader validates into it)."""

    id: str
    transport: Transport = "modbus-tcp"
    url: str | None = None  # "HOST:PORT" for TCP, a device path or socket:// URL for serial
    host: str | None = None
    port: int | None = None
    device: str | None = None  # /dev/ttyUSB0, a pty, or socket://host:port
    unit: int = 1
    compartments: int | None = None
    baud: int | None = None
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    timeout_ms: int = 500
    gap_ms: float | None = None
    lock_bit_locked: Literal[0, 1] = 1  # lock board polarity: the bit value meaning "locked"
    map: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self._check()
        except SettingError as exc:
            raise CabinetSettingError(exc.key, f"cabinet {self.id}: {exc}") from None

    def _check(self) -> None:
        check_id(self.id)
        if self.transport not in TRANSPORTS:
            raise SettingError(
                "transport", f"unknown transport {self.transport!r} (use {', '.join(TRANSPORTS)})"
            )
        if self.port is not None:
            check_range(self.port, "port", 1, 65535)
        check_range(self.unit, "unit", 0, 247)
        if self.compartments is not None:
            check_range(self.compartments, "compartments", 1, 256)
        if self.baud is not None:
            check_range(self.baud, "baud", 300)
        if self.parity not in ("N", "E", "O"):
            raise SettingError("parity", f"parity is N, E or O, not {self.parity!r}")
        if self.stopbits not in (1, 2):
            raise SettingError("stopbits", f"stopbits is 1 or 2, not {self.stopbits!r}")
        check_range(self.timeout_ms, "timeout_ms", 10)
        if self.gap_ms is not None:
            check_range(self.gap_ms, "gap_ms", 0)
        if self.lock_bit_locked not in (0, 1):
            raise SettingError("lock_bit_locked", "lock_bit_locked is 0 or 1")
        if self.transport == "modbus-tcp" and not (self.url or self.host):
            raise SettingError("host", "transport 'modbus-tcp' needs `host` (and `port`) or `url`")
        if self.transport != "modbus-tcp" and not (self.device or self.url):
            raise SettingError("device", f"transport {self.transport!r} needs `device`")
        if self.transport == "lockboard" and self.compartments is None:
            raise SettingError("compartments", "transport 'lockboard' needs `compartments`")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CabinetSettings:
        """From a config table; unknown keys are an error (a typo must not pass silently)."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise CabinetConfigError(
                f"cabinet {data.get('id', '?')}: unknown setting(s) {', '.join(unknown)}"
            )
        if "id" not in data:
            raise CabinetConfigError("a cabinet needs an id")
        return cls(**dict(data))

    def line_key(self) -> tuple[str, str]:
        """What identifies the physical line this cabinet hangs on."""
        if self.transport == "modbus-tcp":
            host, port = self.tcp_endpoint()
            return (self.transport, f"{host}:{port}")
        return (self.transport, self.serial_device())

    def tcp_endpoint(self) -> tuple[str, int]:
        """(host, port) for a TCP cabinet."""
        if self.url:
            host, sep, port = self.url.rpartition(":")
            if not sep or not port.isdigit():
                raise CabinetConfigError(
                    f"cabinet {self.id}: url must be HOST:PORT, not {self.url}"
                )
            return host, int(port)
        if not self.host:
            raise CabinetConfigError(f"cabinet {self.id}: modbus-tcp needs host/port or url")
        return self.host, self.port or 502

    def serial_device(self) -> str:
        """The serial device path or socket:// URL."""
        dev = self.device or self.url
        if not dev:
            raise CabinetConfigError(f"cabinet {self.id}: {self.transport} needs a device")
        return dev


def build_cabinets(settings: Sequence[CabinetSettings]) -> list[Cabinet]:
    """Drivers for every cabinet, sharing one line object per physical line.

    Raises :class:`CabinetConfigError` before opening anything if the settings are
    inconsistent (duplicate ids, two cabinets with one unit id on a line).
    """
    seen_ids: set[str] = set()
    seen_units: set[tuple[tuple[str, str], int]] = set()
    for s in settings:  # each one checked its own keys when it was made
        if s.id in seen_ids:
            raise CabinetConfigError(f"cabinet id {s.id!r} appears twice")
        seen_ids.add(s.id)
        slot = (s.line_key(), s.unit)
        if slot in seen_units:
            raise CabinetConfigError(f"cabinet {s.id}: unit {s.unit} already used on that line")
        seen_units.add(slot)
    lines: dict[tuple[str, str], ModbusLine] = {}
    boards: dict[str, LockBoardPort] = {}
    out: list[Cabinet] = []
    for s in settings:
        out.append(_build_one(s, lines, boards))
    return out


def build_cabinet(settings: CabinetSettings) -> Cabinet:
    """One driver on its own line (use :func:`build_cabinets` for cabinets sharing a line)."""
    return build_cabinets([settings])[0]


def _build_one(
    s: CabinetSettings,
    lines: dict[tuple[str, str], ModbusLine],
    boards: dict[str, LockBoardPort],
) -> Cabinet:
    timeout_s = s.timeout_ms / 1000.0
    if s.transport == "lockboard":
        if s.compartments is None:
            raise CabinetConfigError(f"cabinet {s.id}: a lock board needs 'compartments'")
        if s.map:
            raise CabinetConfigError(f"cabinet {s.id}: a lock board has no register map")
        dev = s.serial_device()
        if dev not in boards:
            boards[dev] = LockBoardPort(dev, baud=s.baud or 9600, timeout_s=timeout_s)
        return LockBoardCabinet(
            s.id, boards[dev], s.unit, s.compartments, lock_bit_locked=s.lock_bit_locked
        )
    regmap = RegisterMap.from_mapping(s.map) if s.map else RegisterMap()
    key = s.line_key()
    line = lines.get(key)
    if line is None:
        gap_s = None if s.gap_ms is None else s.gap_ms / 1000.0
        if s.transport == "modbus-tcp":
            host, port = s.tcp_endpoint()
            line = ModbusLine.tcp(host, port, timeout_s=timeout_s, gap_s=gap_s or 0.0)
        else:
            line = ModbusLine.rtu(
                s.serial_device(),
                baud=s.baud or 19200,
                parity=s.parity,
                stopbits=s.stopbits,
                timeout_s=timeout_s,
                gap_s=gap_s,
            )
        lines[key] = line
    return ModbusCabinet(s.id, line, s.unit, regmap=regmap, compartments=s.compartments)
