"""Cancelling the poller, or closing a line, while a Modbus request is on the wire.

Real pymodbus clients talk to the simulator's real servers (Modbus TCP, and RTU on a pty).
Hooks on the client's own trace callbacks (a public pymodbus option) pick the exact moment:
the cancel lands in the loop turn where the answer arrives, or while a silent cabinet
keeps a request waiting. ``asyncio.wait_for`` with a generous bound only detects a hang
(the timeouts involved are far longer); nothing here measures time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.pdu import ModbusPDU

from custody.ports import CabinetEvent
from hw_sim.station import SimStation
from locker_firmware_bridge.errors import CabinetOfflineError
from locker_firmware_bridge.line import Client, ModbusLine
from locker_firmware_bridge.modbus import ModbusCabinet
from locker_firmware_bridge.poller import Poller

TRANSPORTS = ["modbus-tcp", "modbus-rtu-pty"]
HANG = 10.0  # seconds: only a hang gets near this (each test finishes in a blink)
SLOW_TIMEOUT_S = 60.0  # the client's own answer timeout: a silent unit holds a request this long


@dataclass
class Hooks:
    """What the client's trace callbacks do: note requests sent, act on answers."""

    on_answer: Callable[[], None] | None = None
    requests: int = 0
    answers: int = 0
    sent: asyncio.Event = field(default_factory=asyncio.Event)

    def trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        # called by pymodbus with a complete, decoded answer, just before it resolves the
        # request's future: the same loop turn the answer arrives in
        if sending:
            self.requests += 1
            self.sent.set()
        else:
            self.answers += 1
            if self.on_answer is not None:
                self.on_answer()
        return pdu


@asynccontextmanager
async def cabinet(transport: str) -> AsyncIterator[tuple[SimStation, ModbusCabinet, Hooks]]:
    hooks = Hooks()
    async with SimStation(
        cabinets=1, compartments=8, tcp=transport == "modbus-tcp", rtu_pty=transport != "modbus-tcp"
    ) as sim:

        def make() -> Client:
            if sim.tcp_port is not None:
                return AsyncModbusTcpClient(
                    sim.host,
                    port=sim.tcp_port,
                    timeout=SLOW_TIMEOUT_S,
                    retries=0,
                    reconnect_delay=0,
                    trace_pdu=hooks.trace_pdu,
                )
            assert sim.rtu_path is not None
            return AsyncModbusSerialClient(
                sim.rtu_path,
                baudrate=sim.baud,
                timeout=SLOW_TIMEOUT_S,
                retries=0,
                reconnect_delay=0,
                trace_pdu=hooks.trace_pdu,
            )

        cab = ModbusCabinet("A", ModbusLine(make, name=transport, gap_s=0.0), 1)
        try:
            yield sim, cab, hooks
        finally:
            await cab.close()


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


async def stops(task: asyncio.Task[None]) -> bool:
    """True if the cancelled ``task`` ends as cancelled; False if it hangs (or returns)."""
    try:
        await asyncio.wait_for(asyncio.shield(task), HANG)
    except asyncio.CancelledError:
        return task.cancelled()
    except TimeoutError:
        # the hang: cancel the stuck poll loops themselves, so that the test reports the
        # failure instead of hanging in asyncio.run's clean-up
        for _ in range(50):
            for t in asyncio.all_tasks():
                if t is not asyncio.current_task():
                    t.cancel()
            if not (await asyncio.wait({task}, timeout=0.1))[1]:
                break
        return False
    return False


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancel_landing_with_the_answer_stops_the_poller(transport: str) -> None:
    """The hang: pymodbus's ``wait_for`` on Python 3.11 returned the answer and dropped
    the cancellation, so the poll loop went on and ``Poller.run`` never finished."""

    async def main() -> None:
        async with cabinet(transport) as (_sim, cab, hooks):
            events: asyncio.Queue[CabinetEvent] = asyncio.Queue()
            poller = Poller([cab], events, period_s=0.01)
            await poller.poll_once("A")  # connected, count learnt: polls are one read now
            task = poller.start()
            cancels: list[int] = []

            def cancel_now() -> None:
                cancels.append(hooks.answers)
                task.cancel()
                hooks.on_answer = None

            hooks.on_answer = cancel_now
            assert await stops(task)
            assert len(cancels) == 1  # it did land in the turn of an answer
            # the line is usable afterwards: the next read gets its own answer
            before = hooks.answers
            status = await cab.read_status()
            assert len(status.compartments) == 8
            assert hooks.answers == before + 1
            assert events.empty()

    run(main)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancel_while_a_silent_cabinet_holds_the_request(transport: str) -> None:
    async def main() -> None:
        async with cabinet(transport) as (sim, cab, hooks):
            poller = Poller([cab], asyncio.Queue(), period_s=0.01)
            await poller.poll_once("A")
            task = poller.start()
            sim.world.faults(1).no_answer = True  # stops answering, the next request hangs
            hooks.sent.clear()
            await asyncio.wait_for(hooks.sent.wait(), HANG)
            await asyncio.sleep(0)  # the request is now waiting for its answer
            task.cancel()
            assert await stops(task)
            assert poller.is_online("A")  # a cancelled request is not a failed poll
            sim.world.faults(1).no_answer = False
            assert len((await cab.read_status()).compartments) == 8

    run(main)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_close_abandons_a_request_in_flight(transport: str) -> None:
    """Closing the line does not wait for a silent unit's timeout; a later call reconnects."""

    async def main() -> None:
        async with cabinet(transport) as (sim, cab, hooks):
            await cab.read_status()
            sim.world.faults(1).no_answer = True
            hooks.sent.clear()
            read = asyncio.create_task(cab.read_status())
            await asyncio.wait_for(hooks.sent.wait(), HANG)
            await asyncio.wait_for(cab.line.close(), HANG)
            with pytest.raises(CabinetOfflineError, match="closed during the request"):
                await asyncio.wait_for(read, HANG)
            assert not cab.line.client.connected
            sim.world.faults(1).no_answer = False
            assert len((await cab.read_status()).compartments) == 8
            assert cab.line.client.connected

    run(main)
