"""A whole simulated cabinet installation, started from Python in one line.

::

    from hw_sim.station import SimStation

    async with SimStation(cabinets=2, compartments=16, rtu_pty=True, lockboard_pty=True) as sim:
        sim.tcp_port            # Modbus TCP on 127.0.0.1, unit ids 1..K (reference map)
        sim.rtu_path            # Modbus RTU: the client end of a pty null-modem cable
        sim.rtu_socket_url      # Modbus RTU over TCP: "socket://127.0.0.1:PORT" (rtu_socket=True)
        sim.lockboard_path      # the lock boards (addresses 1..K) on a pty
        sim.world               # act as a person: open_door, put_item, take_item, close_door,
                                # force_door, slam, jam_lock, fail_sensor, faults(unit) ...
        settings = sim.cabinet_settings("modbus-tcp")   # CabinetSettings for the factory
        cabinets = build_cabinets(settings)              # locker_firmware_bridge.factory

Arguments: ``cabinets`` (K), ``compartments`` (N), ``host``/``tcp_port`` (0 = a free port,
``tcp=False`` for none), ``rtu_pty``, ``rtu_socket`` (``rtu_socket_host``/``_port``),
``lockboard_pty``, ``baud`` (the RTU line's rate, used by ``line_time``), ``line_time``
(hold answers back for the physical line time, see :mod:`hw_sim.linetime`; the TCP server
then acts as a TCP-to-RTU gateway), ``now`` (the world's time source, e.g.
:class:`~hw_sim.cabinet_world.ManualTime`), ``unlock_pulse_ms``, ``regmap`` (serve
another vendor's map), ``lock_bit_locked`` (the lock board's polarity).

Without awaiting ``async with``: ``sim = await SimStation(...).start()`` ... ``await
sim.stop()``. ``sim.contexts`` are the servers' datastores (``transactions``,
``line_busy_s`` for benchmarks).

All servers run on the caller's event loop; ``await sim.stop()`` (or leaving the ``async
with``) shuts them down. One :class:`~hw_sim.cabinet_world.World` backs every endpoint, so
a door opened by ``sim.world`` shows on TCP, RTU and the lock board alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import TracebackType

from pymodbus.server.base import ModbusBaseServer

from custody.errors import UsageError
from hw_sim.cabinet_world import World
from hw_sim.linetime import LineTime
from hw_sim.lockboard_sim import LockBoardSim
from hw_sim.modbus_server import WorldContext, start_rtu_server, start_tcp_server
from hw_sim.nullmodem import NullModem
from locker_firmware_bridge.factory import CabinetSettings
from locker_firmware_bridge.regmap import REFERENCE_MAP, RegisterMap


class SimStation:
    """K cabinets of N compartments behind real Modbus servers and a lock board."""

    def __init__(
        self,
        cabinets: int = 1,
        compartments: int = 16,
        *,
        host: str = "127.0.0.1",
        tcp: bool = True,
        tcp_port: int = 0,
        rtu_pty: bool = False,
        rtu_socket: bool = False,
        rtu_socket_port: int = 0,
        rtu_socket_host: str | None = None,
        lockboard_pty: bool = False,
        baud: int = 19200,
        line_time: bool = False,
        now: Callable[[], float] = time.monotonic,
        unlock_pulse_ms: int = 500,
        regmap: RegisterMap = REFERENCE_MAP,
        lock_bit_locked: int = 1,
    ) -> None:
        self.world = World(cabinets, compartments, now=now, unlock_pulse_ms=unlock_pulse_ms)
        self.host = host
        self.baud = baud
        self.regmap = regmap
        self._want_tcp, self._tcp_port_req = tcp, tcp_port
        self._want_rtu_pty, self._want_rtu_socket = rtu_pty, rtu_socket
        self._rtu_socket_port_req = rtu_socket_port
        self._rtu_socket_host = rtu_socket_host or host
        self._want_lockboard = lockboard_pty
        self._line = LineTime(baud) if line_time else None
        self._lock_bit_locked = lock_bit_locked
        self._servers: list[ModbusBaseServer] = []
        self._nullmodem: NullModem | None = None
        self.lockboard: LockBoardSim | None = None
        self.contexts: list[WorldContext] = []
        self.tcp_port: int | None = None
        self.rtu_path: str | None = None
        self.rtu_socket_url: str | None = None
        self.lockboard_path: str | None = None

    @property
    def cabinets(self) -> int:
        """K."""
        return len(self.world.cabinets)

    @property
    def compartments(self) -> int:
        """N."""
        return self.world.cabinet(1).count

    def _context(self, gateway: bool = False) -> WorldContext:
        ctx = WorldContext(self.world, self.regmap, self._line, gateway=gateway)
        self.contexts.append(ctx)
        return ctx

    async def start(self) -> SimStation:
        """Start every requested endpoint on the running loop."""
        try:
            if self._want_tcp:
                server, self.tcp_port = await start_tcp_server(
                    self._context(gateway=True), self.host, self._tcp_port_req
                )
                self._servers.append(server)
            if self._want_rtu_pty:
                self._nullmodem = NullModem()
                self._nullmodem.start()
                rtu_server, _ = await start_rtu_server(
                    self._context(), self._nullmodem.path_a, self.baud
                )
                self._servers.append(rtu_server)
                self.rtu_path = self._nullmodem.path_b
            if self._want_rtu_socket:
                host = self._rtu_socket_host
                url = f"socket://{host}:{self._rtu_socket_port_req}"
                sock_server, port = await start_rtu_server(self._context(), url, self.baud)
                self._servers.append(sock_server)
                self.rtu_socket_url = f"socket://{host}:{port}"
            if self._want_lockboard:
                self.lockboard = LockBoardSim(self.world, lock_bit_locked=self._lock_bit_locked)
                self.lockboard.start()
                self.lockboard_path = self.lockboard.path
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Shut every endpoint down (idempotent)."""
        for server in self._servers:
            await server.shutdown()  # type: ignore[no-untyped-call]
        self._servers.clear()
        if self._nullmodem is not None:
            self._nullmodem.close()
            self._nullmodem = None
        if self.lockboard is not None:
            self.lockboard.close()
            self.lockboard = None

    async def __aenter__(self) -> SimStation:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def cabinet_settings(
        self, transport: str = "modbus-tcp", ids: Sequence[str] | None = None, **extra: object
    ) -> list[CabinetSettings]:
        """Factory settings reaching every simulated cabinet over one endpoint.

        ``transport`` is ``"modbus-tcp"``, ``"modbus-rtu"`` (the pty, or the socket:// URL
        if no pty was started) or ``"lockboard"``. ``ids`` default to "1".."K".
        """
        names = list(ids) if ids is not None else [str(u) for u in self.world.cabinets]
        if len(names) != self.cabinets:
            raise UsageError(f"need {self.cabinets} ids, got {len(names)}")
        common: dict[str, object] = {"transport": transport, **extra}
        if transport == "modbus-tcp":
            if self.tcp_port is None:
                raise UsageError("the TCP server is not running")
            common.update(host=self.host, port=self.tcp_port)
        elif transport == "modbus-rtu":
            device = self.rtu_path or self.rtu_socket_url
            if device is None:
                raise UsageError("no RTU endpoint is running")
            common.update(device=device, baud=self.baud)
        elif transport == "lockboard":
            if self.lockboard_path is None:
                raise UsageError("the lock board is not running")
            common.update(
                device=self.lockboard_path,
                compartments=self.compartments,
                lock_bit_locked=self._lock_bit_locked,
            )
        else:
            raise UsageError(f"unknown transport {transport!r}")
        return [
            CabinetSettings.from_mapping({"id": name, "unit": unit, **common})
            for name, unit in zip(names, self.world.cabinets, strict=True)
        ]
