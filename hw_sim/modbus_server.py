"""K simulated cabinets behind a real pymodbus server (TCP, RTU on a pty, RTU on socket://).

:class:`WorldContext` is a pymodbus server context that answers from a
:class:`~hw_sim.cabinet_world.World` at the addresses of a
:class:`~locker_firmware_bridge.regmap.RegisterMap` (the reference map unless told
otherwise): unit id ``u`` is cabinet ``u``. Writing 1 to a release coil pulses the lock and
the coil reads back 0 (self-clearing). Unused addresses inside a table's span read 0;
addresses past it get ILLEGAL_ADDRESS, unknown unit ids get no answer (as on a real line).

Faults come from the world (``world.faults(unit)``): ``no_answer`` makes the unit silent,
``delay_s`` holds answers back, ``bad_crc`` corrupts the answer on its way out (the CRC on
RTU; on TCP, which has no CRC, the unit id byte, so the client rejects the frame).

With a :class:`~hw_sim.linetime.LineTime`, each answer is held back until the request, the
turnaround gap and the answer could physically have crossed an RS-485 line at that baud
rate (the master keeps the silence after it), and requests share the line one at a
time (the TCP server then behaves like a TCP-to-RTU gateway). The hold ends when the
answer is due, not an event-loop timer's lateness after it (up to 1.3 ms here, as much as
a 115200-baud turnaround): see :func:`locker_firmware_bridge.pacing.sleep_until`.

Start it from Python with :class:`hw_sim.station.SimStation`, or from the shell with
``locker sim``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.exceptions import NoSuchIdException
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.server.base import ModbusBaseServer

from hw_sim.cabinet_world import CabinetSim, World
from hw_sim.linetime import LineTime, rtu_frame_sizes
from locker_firmware_bridge.pacing import sleep_until
from locker_firmware_bridge.regmap import REFERENCE_MAP, RegisterMap, pack_words

log = logging.getLogger(__name__)

_READS = (1, 2, 3, 4)


class WorldContext(ModbusServerContext):
    """A pymodbus server context backed by the simulated world."""

    def __init__(
        self,
        world: World,
        regmap: RegisterMap = REFERENCE_MAP,
        line: LineTime | None = None,
        *,
        gateway: bool = False,
    ) -> None:
        """``gateway``: this server fronts the modelled RS-485 line for TCP clients (like a
        TCP-to-RTU gateway), so it also keeps the silence after each answer; an RTU master
        keeps that silence itself."""
        # Not calling super().__init__: that builds pymodbus's own datastore (and logs a
        # deprecation warning). The server only needs these two attributes plus the
        # async_getValues/async_setValues/device_ids methods below.
        self.old_simulator = True
        self.simdevices = []
        self.world = world
        self.regmap = regmap
        self.line = line
        self.gateway = gateway
        self._line_lock = asyncio.Lock()
        self.transactions = 0
        #: modelled line occupancy so far (frames + both gaps), for the benchmark
        self.line_busy_s = 0.0
        self._rx_at: float | None = None

    def device_ids(self) -> list[int]:
        """The unit ids served."""
        return list(self.world.cabinets)

    def _cabinet(self, device_id: int) -> CabinetSim:
        cab = self.world.cabinets.get(device_id)
        if cab is None or cab.faults.no_answer:
            # with ignore_missing_devices the server stays silent, like an absent unit
            raise NoSuchIdException(f"unit {device_id} silent")
        return cab

    async def _hold(self, cab: CabinetSim, func_code: int, count: int) -> None:
        """Delay the answer by the fault delay and the modelled line time."""
        # the request's bytes reached us at once; on a real line they would still be
        # arriving, so the modelled wire time counts from their arrival, not from now
        started = self._rx_at if self._rx_at is not None else time.perf_counter()
        self._rx_at = None
        if cab.faults.delay_s > 0:
            await asyncio.sleep(cab.faults.delay_s)
        if self.line is None:
            return
        req, resp = rtu_frame_sizes(func_code, count)
        self.line_busy_s += self.line.transaction_s(req, resp)
        # the answer is complete after request + turnaround gap + response; the silence
        # after it is the RTU master's to keep (the driver's inter-frame gap), or ours
        # when we are the gateway in front of the line
        due = started + self.line.transaction_s(req, resp)
        if not self.gateway:
            due -= self.line.gap_s
        async with self._line_lock:
            # the line is busy for this long whoever else is waiting
            await sleep_until(due, clock=time.perf_counter)

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        """Answer a read (and the read-back after a write) from the world."""
        cab = self._cabinet(device_id)
        # the controller samples its inputs when the request arrives, and answers once the
        # frames have had time to cross the line
        answer = self._read(cab, func_code, address, count)
        if func_code in _READS:
            self.transactions += 1
            await self._hold(cab, func_code, count)
        return answer

    def _read(
        self, cab: CabinetSim, func_code: int, address: int, count: int
    ) -> list[int] | list[bool] | ExcCodes:
        table = _TABLE.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if address < 0 or count < 1 or address + count > self._span(table, cab.count):
            return ExcCodes.ILLEGAL_ADDRESS
        if table in ("c", "d"):
            return [self._bit(table, cab, a) for a in range(address, address + count)]
        words = self.regmap.status_word_span(cab.count) if table == "i" else None
        if words is not None and address < words[0] + words[1] and words[0] < address + count:
            packed = self._status_words(cab)  # all of them at once, not per register
            return [
                packed[a - words[0]]
                if words[0] <= a < words[0] + words[1]
                else self._register(table, cab, a)
                for a in range(address, address + count)
            ]
        return [self._register(table, cab, a) for a in range(address, address + count)]

    async def async_setValues(
        self,
        device_id: int,
        func_code: int,
        address: int,
        values: Sequence[int] | Sequence[bool],
    ) -> ExcCodes | None:
        """Apply a write to the world (release pulses, LEDs, timing registers)."""
        cab = self._cabinet(device_id)
        result = self._write(cab, func_code, address, values)  # acts as the request arrives
        self.transactions += 1
        await self._hold(cab, func_code, len(values))
        return result

    def _write(
        self,
        cab: CabinetSim,
        func_code: int,
        address: int,
        values: Sequence[int] | Sequence[bool],
    ) -> ExcCodes | None:
        table = _TABLE.get(func_code)
        if table not in ("c", "h"):
            return ExcCodes.ILLEGAL_FUNCTION
        if address < 0 or address + len(values) > self._span(table, cab.count):
            return ExcCodes.ILLEGAL_ADDRESS
        m = self.regmap
        for offset, value in enumerate(values):
            a = address + offset
            if table == "c":
                if _within(a, m.release_coil, cab.count):
                    if value:
                        cab.release(a - m.release_coil)
                elif _within(a, m.led_coil, cab.count):
                    cab.comp(a - m.led_coil).led = bool(value)
            elif a == m.unlock_pulse_ms_register:
                cab.unlock_pulse_ms = int(value)
            elif a == m.door_alarm_s_register:
                cab.door_alarm_s = int(value)
        return None

    def _span(self, table: str, n: int) -> int:
        m = self.regmap
        if table == "c":
            return max(m.release_coil, m.led_coil) + n
        if table == "d":
            return max(b.address for b in m.input_blocks()) + n
        regs = (
            (m.count_register, m.firmware_register, m.door_counter_register)
            if table == "i"
            else (m.unlock_pulse_ms_register, m.door_alarm_s_register)
        )
        ends = [r + 1 for r in regs if r is not None]
        words = m.status_word_span(n) if table == "i" else None
        if words is not None:
            ends.append(words[0] + words[1])
        return max(ends) if ends else 0

    def _bit(self, table: str, cab: CabinetSim, a: int) -> bool:
        m, n = self.regmap, cab.count
        if table == "c":
            if _within(a, m.led_coil, n):
                return cab.comp(a - m.led_coil).led
            return False  # release coils self-clear; gaps read 0
        if _within(a, m.door_closed.address, n):
            return m.door_closed.encode(cab.comp(a - m.door_closed.address).door_closed)
        if _within(a, m.occupied.address, n):
            return m.occupied.encode(cab.sensed_occupied(a - m.occupied.address))
        if _within(a, m.lock_engaged.address, n):
            return m.lock_engaged.encode(cab.lock_engaged(a - m.lock_engaged.address))
        return False

    def _register(self, table: str, cab: CabinetSim, a: int) -> int:
        m = self.regmap
        if table == "i":
            values = {
                m.count_register: cab.count,
                m.firmware_register: cab.firmware_version,
                m.door_counter_register: cab.door_counter % m.counter_modulus,
            }
        else:
            values = {
                m.unlock_pulse_ms_register: cab.unlock_pulse_ms,
                m.door_alarm_s_register: cab.door_alarm_s,
            }
        return values.get(a, 0) & 0xFFFF

    def _status_words(self, cab: CabinetSim) -> list[int]:
        """Every packed status word: W of doors, then W of occupancy, then W of locks."""
        m = self.regmap
        # inlined (this runs on every poll): raw bit = condition XOR inverted polarity
        d_inv, o_inv, l_inv = (
            not m.door_closed.true_value,
            not m.occupied.true_value,
            not m.lock_engaged.true_value,
        )
        now = cab.now()
        doors, present, locks = [], [], []
        for c in cab.compartments:
            doors.append(c.door_closed != d_inv)
            present.append((c.sensor_reads if c.sensor_failed else c.occupied) != o_inv)
            locks.append((c.stuck_lock or now >= c.released_until) != l_inv)
        return pack_words(doors) + pack_words(present) + pack_words(locks)


_TABLE = {1: "c", 5: "c", 15: "c", 2: "d", 3: "h", 6: "h", 16: "h", 4: "i"}


def _within(a: int, base: int, n: int) -> bool:
    return base <= a < base + n


def corrupting_tracer(context: WorldContext, rtu: bool) -> Callable[[bool, bytes], bytes]:
    """A pymodbus ``trace_packet`` hook: notes when a request arrives (for the line-time
    model) and garbles the answers of units with ``bad_crc`` set."""
    world = context.world

    def trace(sending: bool, data: bytes) -> bytes:
        if not sending:
            if context._rx_at is None and data:
                context._rx_at = time.perf_counter()
            return data
        context._rx_at = None
        unit_pos = 0 if rtu else 6
        if len(data) <= unit_pos:
            return data
        cab = world.cabinets.get(data[unit_pos])
        if cab is None or not cab.faults.bad_crc:
            return data
        frame = bytearray(data)
        if rtu:
            frame[-1] ^= 0xFF  # break the CRC: the client's framer drops the frame
        else:
            frame[unit_pos] ^= 0xFF  # no CRC on TCP: a wrong unit id is rejected instead
        return bytes(frame)

    return trace


async def start_tcp_server(
    context: WorldContext, host: str = "127.0.0.1", port: int = 0
) -> tuple[ModbusTcpServer, int]:
    """Serve the context over Modbus TCP; returns the server and the bound port."""
    server = ModbusTcpServer(
        context,
        address=(host, port),
        ignore_missing_devices=True,
        trace_packet=corrupting_tracer(context, rtu=False),
    )
    await server.serve_forever(background=True)
    return server, _bound_port(server)


async def start_rtu_server(
    context: WorldContext, port: str, baud: int = 19200
) -> tuple[ModbusSerialServer, int]:
    """Serve the context over RTU on a serial device path or ``socket://host:port``.

    Returns the server and, for ``socket://`` (port 0 allowed), the bound TCP port (else 0).
    """
    server = ModbusSerialServer(
        context,
        framer=FramerType.RTU,
        port=port,
        baudrate=baud,
        ignore_missing_devices=True,
        reconnect_delay=0,
        trace_packet=corrupting_tracer(context, rtu=True),
    )
    await server.serve_forever(background=True)
    return server, _bound_port(server) if port.startswith("socket://") else 0


def _bound_port(server: ModbusBaseServer) -> int:
    listener = server.transport
    sockets = getattr(listener, "sockets", None)
    if not sockets:
        raise RuntimeError("the Modbus server did not start listening")
    return int(sockets[0].getsockname()[1])
