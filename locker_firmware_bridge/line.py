"""One Modbus line (an RS-485 bus or a TCP connection) shared by several cabinets.

Every transaction on a line goes through :meth:`ModbusLine.call`, which holds the line's
asyncio lock (one request on the wire at a time, as RS-485 demands), keeps the configured
silence between frames (3.5 characters for RTU), connects on demand and maps pymodbus's
failures to the bridge's errors. Several :class:`~locker_firmware_bridge.modbus.ModbusCabinet`
objects (unit ids) share one line; the line closes when the last of them closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from locker_firmware_bridge.errors import (
    CabinetOfflineError,
    CabinetProtocolError,
    CabinetTimeoutError,
)
from locker_firmware_bridge.pacing import sleep_until

# Never let pymodbus drop a shared connection because one unit on it is silent.
_NO_AUTO_DISCONNECT = 1_000_000

Client = AsyncModbusTcpClient | AsyncModbusSerialClient


def quiet_pymodbus_logs() -> None:
    """Silence pymodbus's own per-request error log unless the application set its level.

    pymodbus logs an ERROR (with a frame dump) for every request that gets no answer; the
    poller already reports failures, rate-limited, so a silent unit would flood the log.
    An application that wants pymodbus's detail sets the ``pymodbus`` logger level itself.
    """
    logger = logging.getLogger("pymodbus")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.CRITICAL)


def rtu_gap_s(baud: int) -> float:
    """The Modbus RTU inter-frame silence: 3.5 characters of 11 bits, 1.75 ms above 19200."""
    return 0.00175 if baud > 19200 else 3.5 * 11 / baud


class ModbusLine:
    """A Modbus client plus the lock and the inter-frame gap of its line."""

    def __init__(self, make_client: Callable[[], Client], *, name: str, gap_s: float = 0.0) -> None:
        # pymodbus clients bind to the running event loop when created, so the client is
        # made on first use: settings can be turned into cabinets before the loop starts.
        quiet_pymodbus_logs()
        self._make_client = make_client
        self._client: Client | None = None
        self.name = name
        self.gap_s = gap_s
        self._lock = asyncio.Lock()
        self._last_end = 0.0
        self._users = 0
        self._inflight: asyncio.Task[ModbusPDU] | None = None
        self.transactions = 0

    @classmethod
    def tcp(cls, host: str, port: int, *, timeout_s: float = 0.5, gap_s: float = 0.0) -> ModbusLine:
        """A Modbus TCP connection (one per gateway or controller)."""

        def make() -> Client:
            return AsyncModbusTcpClient(
                host, port=port, timeout=timeout_s, retries=0, reconnect_delay=0
            )

        return cls(make, name=f"tcp:{host}:{port}", gap_s=gap_s)

    @classmethod
    def rtu(
        cls,
        device: str,
        *,
        baud: int = 19200,
        parity: str = "N",
        stopbits: int = 1,
        timeout_s: float = 0.5,
        gap_s: float | None = None,
    ) -> ModbusLine:
        """A Modbus RTU line on a tty (``/dev/ttyUSB0``, a pty) or ``socket://host:port``.

        ``gap_s`` defaults to the RTU 3.5-character silence at ``baud``.
        """

        def make() -> Client:
            return AsyncModbusSerialClient(
                device,
                baudrate=baud,
                parity=parity,
                stopbits=stopbits,
                timeout=timeout_s,
                retries=0,
                reconnect_delay=0,
            )

        gap = rtu_gap_s(baud) if gap_s is None else gap_s
        return cls(make, name=f"rtu:{device}", gap_s=gap)

    def attach(self) -> None:
        """Register one more cabinet using this line."""
        self._users += 1

    async def detach(self) -> None:
        """A cabinet is done with the line; the last one out closes the connection."""
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self.close()

    @property
    def client(self) -> Client:
        """The pymodbus client (made on first use, inside the running loop)."""
        if self._client is None:
            self._client = self._make_client()
            self._client.set_max_no_responses(_NO_AUTO_DISCONNECT)
        return self._client

    async def close(self) -> None:
        """Close the connection now (a later call reconnects).

        A transaction in flight is abandoned at once (its caller gets
        :class:`CabinetOfflineError`) rather than waited out to its timeout.
        """
        if self._inflight is not None:
            self._inflight.cancel()
        async with self._lock:
            if self._client is not None:
                self._client.close()

    async def call(self, what: str, op: Callable[[Client], Awaitable[Any]]) -> ModbusPDU:
        """Run one transaction under the line lock; raise a bridge error if it fails.

        pymodbus runs in a task of its own (see :meth:`_guarded`), so cancelling the caller
        always cancels the call, and :meth:`close` can abandon it.
        """
        async with self._lock:
            try:
                response = await self._guarded(self._transaction(what, op))
            except ConnectionException as exc:
                raise CabinetOfflineError(f"{self.name}: {what}: connection lost ({exc})") from exc
            except ModbusIOException as exc:
                raise CabinetTimeoutError(f"{self.name}: {what}: no valid answer") from exc
            except TimeoutError as exc:
                raise CabinetTimeoutError(f"{self.name}: {what}: timed out") from exc
            except ModbusException as exc:
                raise CabinetProtocolError(f"{self.name}: {what}: {exc}") from exc
            finally:
                self.transactions += 1
        if response.isError():
            raise CabinetProtocolError(
                f"{self.name}: {what}: controller answered exception "
                f"{getattr(response, 'exception_code', '?')}"
            )
        return response

    async def _transaction(self, what: str, op: Callable[[Client], Awaitable[Any]]) -> ModbusPDU:
        await self._connect(what)
        if self.gap_s > 0:
            await sleep_until(self._last_end + self.gap_s)
        try:
            response: ModbusPDU = await op(self.client)
        finally:
            # The line is silent from here (the answer is in, or none came): the gap before
            # the next request counts from now, so decoding and polling overlap with it.
            self._last_end = time.monotonic()
        return response

    async def _guarded(self, work: Coroutine[Any, Any, ModbusPDU]) -> ModbusPDU:
        """Await ``work`` in its own task so that a cancellation of ours is never lost.

        pymodbus (3.16) awaits its answer with ``asyncio.wait_for``, which on Python 3.11
        *returns the answer* instead of raising ``CancelledError`` when the cancellation
        and the answer arrive in the same loop turn (CPython gh-86296, fixed in 3.12). The
        cancelled task then carries on as if nothing happened: a poller loop never ends and
        the ``TaskGroup`` of ``Poller.run`` waits for it forever. Here the caller waits on
        the task through ``asyncio.wait``, which never swallows: on cancellation the
        request task is cancelled too, waited for (it ends at once: pymodbus only
        waits on futures), and the ``CancelledError`` goes on up.
        """
        task = asyncio.get_running_loop().create_task(work)
        self._inflight = task
        try:
            await asyncio.wait((task,))
        except asyncio.CancelledError:
            task.cancel()
            task.add_done_callback(_consume)  # its outcome no longer matters to anyone
            await asyncio.wait((task,))
            raise
        finally:
            self._inflight = None
        if task.cancelled():  # not us: close() abandoned it
            raise CabinetOfflineError(f"{self.name}: the line was closed during the request")
        return task.result()

    async def _connect(self, what: str) -> None:
        if self.client.connected:
            return
        if not await self.client.connect():
            raise CabinetOfflineError(f"{self.name}: {what}: cannot connect")


def _consume(task: asyncio.Task[ModbusPDU]) -> None:
    """Retrieve an abandoned request's outcome (no "exception never retrieved" warning)."""
    if not task.cancelled():
        task.exception()
