"""Building cabinets from settings: validation before any I/O, lines shared per bus."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from locker_firmware_bridge.errors import CabinetConfigError, CabinetSettingError
from locker_firmware_bridge.factory import CabinetSettings, build_cabinet, build_cabinets
from locker_firmware_bridge.lockboard import LockBoardCabinet
from locker_firmware_bridge.modbus import ModbusCabinet


def test_cabinets_on_one_bus_share_one_line_and_lock() -> None:
    cabs = build_cabinets(
        [
            CabinetSettings("A", "modbus-rtu", device="/dev/ttyUSB0", unit=1, gap_ms=5),
            CabinetSettings("B", "modbus-rtu", device="/dev/ttyUSB0", unit=2),
            CabinetSettings("C", "modbus-rtu", device="/dev/ttyUSB1", unit=1, baud=115200),
            CabinetSettings("D", "modbus-tcp", url="10.0.0.5:502", unit=1),
            CabinetSettings("E", "modbus-tcp", host="10.0.0.5", unit=2),
        ]
    )
    a, b, c, d, e = cabs
    assert isinstance(a, ModbusCabinet) and isinstance(b, ModbusCabinet)
    assert isinstance(c, ModbusCabinet) and isinstance(d, ModbusCabinet)
    assert isinstance(e, ModbusCabinet)
    assert a.line is b.line and a.line is not c.line
    assert d.line is e.line
    assert a.line.gap_s == pytest.approx(0.005)
    assert c.line.gap_s == pytest.approx(0.00175)  # RTU fixed gap above 19200 baud
    assert d.line.gap_s == 0.0


def test_lockboard_and_vendor_map_settings() -> None:
    board = build_cabinet(
        CabinetSettings.from_mapping(
            {
                "id": "L",
                "transport": "lockboard",
                "device": "/dev/ttyS1",
                "unit": 3,
                "compartments": 48,
                "lock_bit_locked": 0,
            }
        )
    )
    assert isinstance(board, LockBoardCabinet) and board.n == 48 and board.addr == 3
    vendor = build_cabinet(
        CabinetSettings.from_mapping(
            {
                "id": "V",
                "transport": "modbus-tcp",
                "url": "h:1502",
                "compartments": 24,
                "map": {
                    "name": "acme",
                    "door_closed": {"address": 300, "true_value": 0},
                    "count_register": False,
                },
            }
        )
    )
    assert isinstance(vendor, ModbusCabinet)
    assert vendor.regmap.door_closed.address == 300 and vendor.regmap.count_register is None
    assert asyncio.run(vendor.compartment_count()) == 24  # from config: no I/O


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ([CabinetSettings("A", url="h:1"), CabinetSettings("A", url="h:2")], "twice"),
        ([CabinetSettings("A", url="h:1"), CabinetSettings("B", host="h", port=1)], "unit 1"),
        ([CabinetSettings("A", url="nohostport")], "HOST:PORT"),
        ([CabinetSettings("A", url="h:1", unit=0)], "unit id"),
        ([CabinetSettings("A", url="h:1", map={"count_register": False})], "compartment count"),
        ([CabinetSettings("A", url="h:1", map={"colour": 1})], "unknown"),
    ],
)
def test_bad_settings_are_refused_before_any_io(
    settings: list[CabinetSettings], message: str
) -> None:
    with pytest.raises(CabinetConfigError, match=message):
        build_cabinets(settings)


@pytest.mark.parametrize(
    ("fields", "key", "message"),
    [
        ({"transport": "modbus-udp", "url": "h:1"}, "transport", "transport"),
        ({"transport": "lockboard", "device": "/dev/x"}, "compartments", "compartments"),
        ({"transport": "modbus-rtu"}, "device", "needs `device`"),
        ({"url": "h:1", "unit": 300}, "unit", "0 to 247"),
        ({"url": "h:1", "parity": "X"}, "parity", "N, E or O"),
        ({"id": "no spaces", "url": "h:1"}, "id", "not an id"),
    ],
)
def test_bad_settings_are_refused_when_made(fields: dict[str, Any], key: str, message: str) -> None:
    """The settings class checks itself (the config loader and direct callers alike)."""
    with pytest.raises(CabinetSettingError, match=message) as exc:
        CabinetSettings(**{"id": "A", **fields})
    assert exc.value.key == key


def test_unknown_setting_key_is_refused() -> None:
    with pytest.raises(CabinetConfigError, match="baudrate"):
        CabinetSettings.from_mapping({"id": "A", "baudrate": 9600})
    with pytest.raises(CabinetConfigError, match="needs an id"):
        CabinetSettings.from_mapping({"transport": "modbus-tcp"})
