"""Another vendor's register map, described in config only, end to end.

The simulator serves the vendor map (inverted door polarity, other addresses, no count
register, no status words, no door-event counter) and the driver, built by the factory
from the same table, reads it correctly: the map is data, not code.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pymodbus.client import AsyncModbusTcpClient

from custody.ports import CabinetEventKind
from hw_sim.cabinet_world import ManualTime
from hw_sim.station import SimStation
from locker_firmware_bridge.factory import build_cabinets
from locker_firmware_bridge.modbus import ModbusCabinet
from locker_firmware_bridge.poller import Poller
from locker_firmware_bridge.regmap import RegisterMap

VENDOR: dict[str, Any] = {
    "name": "acme-lk",
    "release_coil": 32,
    "led_coil": 0,
    "door_closed": {"address": 500, "true_value": 0},  # 1 = door OPEN on this controller
    "occupied": 600,
    "lock_engaged": {"address": 700, "true_value": 0},
    "count_register": False,
    "firmware_register": 9,
    "door_counter_register": False,
    "status_words_register": False,
    "unlock_pulse_ms_register": 40,
    "door_alarm_s_register": False,
}
N = 12


def test_vendor_map_from_config_end_to_end() -> None:
    async def main() -> None:
        regmap = RegisterMap.from_mapping(VENDOR)
        async with SimStation(cabinets=2, compartments=N, now=ManualTime(), regmap=regmap) as sim:
            # a generous answer timeout: nothing here is late, but a stalled process could be
            settings = sim.cabinet_settings("modbus-tcp", compartments=N, map=VENDOR,
                                            timeout_ms=10_000)
            cabs = build_cabinets(settings)
            cab = cabs[0]
            assert isinstance(cab, ModbusCabinet)
            try:
                st = await cab.read_status()
                assert all(c.door_closed and c.locked for c in st.compartments)
                # the raw bits really are inverted on the wire
                raw = AsyncModbusTcpClient("127.0.0.1", port=sim.tcp_port or 0, timeout=10)
                assert await raw.connect()
                di = await raw.read_discrete_inputs(500, count=N, device_id=1)
                assert not any(di.bits[:N])
                raw.close()

                events: list[tuple[CabinetEventKind, int | None]] = []

                async def sink(ev: Any) -> None:
                    events.append((ev.kind, ev.compartment))

                poller = Poller(cabs, sink)
                await poller.poll_once("1")
                poller.expect_open("1", 11)
                before = cab.line.transactions
                await cab.release(11)
                assert sim.world.cabinet(1).releases == 1
                sim.world.open_door(1, 11)
                sim.world.put_item(1, 11)
                await poller.poll_once("1")
                # release + firmware register + ONE discrete-input read (500..711 spans the
                # three bit blocks within the 2000-input limit)
                assert cab.line.transactions - before == 3
                assert events == [
                    (CabinetEventKind.LOCK_RELEASED, 11),
                    (CabinetEventKind.DOOR_OPENED, 11),
                    (CabinetEventKind.ITEM_PLACED, 11),
                ]
                await cab.set_led(2, True)
                assert sim.world.cabinet(1).comp(2).led
                assert await cab.read_timing() == (500, None)
                assert (await cab.read_status()).firmware_version == 0x0100
            finally:
                for c in cabs:
                    await c.close()

    asyncio.run(main())
