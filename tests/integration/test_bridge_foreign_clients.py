"""Clients that are not ours read and drive the simulator at the documented addresses.

pymodbus's own client (used directly, no bridge code) and Debian's ``mbpoll`` (libmodbus)
talk to the simulator over Modbus TCP and RTU, and to ``locker sim`` run as a real process.
Addresses are the reference map of docs/register-map.md, 0-based (mbpoll ``-0``).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient, ModbusTcpClient

from hw_sim.cabinet_world import ManualTime
from hw_sim.station import SimStation

N = 8
# Answer timeouts of the clients (mbpoll's maximum is 10 s): only a hang gets near them, and a
# short one turned a moment's stall of this busy process (the simulator's) into a failure.
TIMEOUT_S = 10


def run(coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(coro())


async def mbpoll(*args: str) -> str:
    """Run mbpoll once; return its stdout (fails the test on a non-zero exit)."""
    proc = await asyncio.create_subprocess_exec(
        "mbpoll",
        "-1",
        "-0",
        "-o",
        str(TIMEOUT_S),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode() + out.decode()
    return out.decode()


def values(mbpoll_output: str) -> dict[int, int]:
    """{address: value} from mbpoll's "[addr]: value" lines."""
    return {int(a): int(v) for a, v in re.findall(r"^\[(\d+)\]:\s+(-?\d+)", mbpoll_output, re.M)}


def test_pymodbus_client_over_tcp_reads_and_drives_the_reference_map() -> None:
    async def main() -> None:
        clock = ManualTime()
        async with SimStation(cabinets=2, compartments=N, now=clock) as sim:
            client = AsyncModbusTcpClient("127.0.0.1", port=sim.tcp_port or 0, timeout=TIMEOUT_S)
            assert await client.connect()
            try:
                ir = await client.read_input_registers(0, count=3, device_id=2)
                assert ir.registers == [N, 0x0100, 0]
                # release compartment 3 of cabinet 2: coil 3, self-clearing
                assert not (await client.write_coil(3, True, device_id=2)).isError()
                assert sim.world.cabinet(2).releases == 1
                assert (await client.read_coils(3, count=1, device_id=2)).bits[0] is False
                di = await client.read_discrete_inputs(200, count=N, device_id=2)
                assert di.bits[:N] == [True, True, True, False, True, True, True, True]
                sim.world.open_door(2, 3)
                sim.world.put_item(2, 3)
                di = await client.read_discrete_inputs(0, count=200 + N, device_id=2)
                assert di.bits[3] is False  # door 3 not closed
                assert di.bits[103] is True  # item present
                ir = await client.read_input_registers(2, count=1, device_id=2)
                assert ir.registers == [1]  # one door edge
                # the packed status words: doors closed, items present, locks engaged
                ir = await client.read_input_registers(3, count=3, device_id=2)
                assert ir.registers == [0xF7, 0x08, 0xF7]
                # guide LED 5: coil 105; timing registers: holding 0 and 1
                await client.write_coil(105, True, device_id=2)
                assert sim.world.cabinet(2).comp(5).led is True
                await client.write_register(0, 1500, device_id=2)
                await client.write_register(1, 90, device_id=2)
                hr = await client.read_holding_registers(0, count=2, device_id=2)
                assert hr.registers == [1500, 90]
                assert sim.world.cabinet(2).unlock_pulse_ms == 1500
                # cabinet 1 untouched
                di = await client.read_discrete_inputs(0, count=N, device_id=1)
                assert all(di.bits[:N])
                # past the map: an exception answer, not garbage
                assert (await client.read_discrete_inputs(300, count=1, device_id=1)).isError()
            finally:
                client.close()

    run(main)


def test_pymodbus_client_over_rtu_socket() -> None:
    async def main() -> None:
        async with SimStation(cabinets=3, compartments=N, tcp=False, rtu_socket=True) as sim:
            assert sim.rtu_socket_url is not None
            client = AsyncModbusSerialClient(sim.rtu_socket_url, timeout=TIMEOUT_S)
            assert await client.connect()
            try:
                ir = await client.read_input_registers(0, count=3, device_id=3)
                assert ir.registers == [N, 0x0100, 0]
                sim.world.force_door(3, 7)
                di = await client.read_discrete_inputs(0, count=N, device_id=3)
                assert di.bits[7] is False
                assert (await client.read_input_registers(2, count=1, device_id=3)).registers == [1]
            finally:
                client.close()

    run(main)


def test_mbpoll_over_tcp_and_rtu_pty() -> None:
    async def main() -> None:
        async with SimStation(cabinets=2, compartments=N, rtu_pty=True) as sim:
            port = str(sim.tcp_port)
            tcp = ("-m", "tcp", "-p", port)
            out = await mbpoll(*tcp, "-a", "2", "-t", "3", "-r", "0", "-c", "3", "127.0.0.1")
            assert values(out) == {0: N, 1: 0x0100, 2: 0}
            # a long unlock pulse, then a release, both written by mbpoll
            await mbpoll(*tcp, "-a", "2", "-t", "4", "-r", "0", "127.0.0.1", "60000")
            await mbpoll(*tcp, "-a", "2", "-t", "0", "-r", "4", "127.0.0.1", "1")
            assert sim.world.cabinet(2).releases == 1
            out = await mbpoll(*tcp, "-a", "2", "-t", "1", "-r", "200", "-c", str(N), "127.0.0.1")
            assert values(out)[204] == 0 and values(out)[203] == 1
            sim.world.open_door(2, 4)
            sim.world.put_item(2, 4)
            assert sim.rtu_path is not None
            rtu = ("-m", "rtu", "-b", "19200", "-P", "none")
            out = await mbpoll(*rtu, "-a", "2", "-t", "1", "-r", "0", "-c", str(N), sim.rtu_path)
            assert values(out)[4] == 0 and values(out)[3] == 1
            out = await mbpoll(*rtu, "-a", "2", "-t", "1", "-r", "104", sim.rtu_path)
            assert values(out) == {104: 1}
            out = await mbpoll(*rtu, "-a", "2", "-t", "3", "-r", "2", sim.rtu_path)
            assert values(out) == {2: 1}

    run(main)


def test_locker_sim_process_serves_mbpoll_and_pymodbus() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lockerd",
            "sim",
            "--tcp",
            "127.0.0.1:0",
            "--cabinets",
            "3",
            "--compartments",
            str(N),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        endpoints = json.loads(proc.stdout.readline())
        assert endpoints["units"] == [1, 3]
        host, port = endpoints["modbus_tcp"].rsplit(":", 1)
        out = asyncio.run(
            mbpoll("-m", "tcp", "-p", port, "-a", "3", "-t", "3", "-r", "0", "-c", "3", host)
        )
        assert values(out) == {0: N, 1: 0x0100, 2: 0}
        asyncio.run(mbpoll("-m", "tcp", "-p", port, "-a", "3", "-t", "0", "-r", "101", host, "1"))
        with ModbusTcpClient(host, port=int(port), timeout=TIMEOUT_S) as client:
            assert client.read_coils(100, count=3, device_id=3).bits[:3] == [False, True, False]
            assert client.read_coils(100, count=3, device_id=1).bits[:3] == [False, False, False]
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)  # waits and closes the pipes
    assert proc.returncode == 0, err
