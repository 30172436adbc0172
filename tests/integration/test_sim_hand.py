"""``locker sim`` driven by hand: a real ``locker sim`` process, commands on its console and
its control page, the result read back over Modbus TCP with the project's own driver."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from custody.ports import CabinetStatus
from locker_firmware_bridge.factory import CabinetSettings, build_cabinets
from tests.integration.conftest import wait_until


@dataclass
class SimProcess:
    """A running ``locker sim`` with its stdout collected line by line."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    endpoints: dict[str, object] = field(default_factory=dict)
    since: int = 0  # wait_line looks at the lines from the last command on

    def say(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.since = len(self.lines)
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def wait_line(self, text: str) -> str:
        found: list[str] = []

        def seen() -> bool:
            found[:] = [line for line in self.lines[self.since:] if text in line]
            return bool(found)

        assert wait_until(seen, timeout=20), f"no line with {text!r} in {self.lines}"
        return found[0]


@pytest.fixture
def sim() -> Iterator[SimProcess]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockerd", "sim", "--tcp", "127.0.0.1:0", "--cabinets", "2",
         "--compartments", "4", "--console", "--control", "127.0.0.1:0", "--json"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first, proc.stderr.read() if proc.stderr else "no output"
    running = SimProcess(proc, endpoints=json.loads(first))

    def collect() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            running.lines.append(line.rstrip("\n"))

    threading.Thread(target=collect, daemon=True).start()
    try:
        yield running
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)


def _read(sim: SimProcess, unit: int) -> CabinetStatus:
    """One status read of a cabinet over Modbus TCP, with the station's driver."""
    host, _, port = str(sim.endpoints["modbus_tcp"]).rpartition(":")

    async def go() -> CabinetStatus:
        cab = build_cabinets([CabinetSettings("X", host=host, port=int(port), unit=unit)])[0]
        try:
            return await cab.read_status()
        finally:
            await cab.close()

    return asyncio.run(go())


def _release(sim: SimProcess, unit: int, index: int) -> None:
    host, _, port = str(sim.endpoints["modbus_tcp"]).rpartition(":")

    async def go() -> None:
        cab = build_cabinets([CabinetSettings("X", host=host, port=int(port), unit=unit)])[0]
        try:
            await cab.release(index)
        finally:
            await cab.close()

    asyncio.run(go())


def test_console_opens_fills_and_shuts_a_released_door(sim: SimProcess) -> None:
    assert sim.endpoints["unlock_pulse_ms"] == 15_000  # time for a person to type
    sim.say("open A 2")  # still locked: refused, nothing changes
    assert "locked" in sim.wait_line("error: A/2")
    assert _read(sim, 1).compartments[2].door_closed

    sim.since = len(sim.lines)
    _release(sim, 1, 2)  # what the station does: the console tells the person
    sim.wait_line("station: A/2: lock RELEASED")
    sim.say("open A 2")
    sim.say("put A 2")
    sim.wait_line("A/2: door OPEN, RELEASED, item")
    status = _read(sim, 1).compartments[2]
    assert (status.door_closed, status.occupied, status.locked) == (False, True, False)

    sim.say("close A/2")
    sim.wait_line("A/2: door closed")
    after = _read(sim, 1)
    assert after.compartments[2].door_closed and after.compartments[2].occupied
    assert after.door_event_counter == 2  # opened, closed: both edges counted

    sim.say("take A 2")  # the door is shut again: nobody can reach in
    assert "door is closed" in sim.wait_line("error: A/2: the door")
    assert _read(sim, 1).compartments[2].occupied


def test_control_page_forces_a_door_and_shows_it(sim: SimProcess) -> None:
    base = str(sim.endpoints["control"])
    with httpx.Client(base_url=base, timeout=20) as http:
        assert "Simulated cabinets" in http.get("/").text
        done = http.post("/command", json={"command": "force B 1"})
        assert done.status_code == 200 and done.json()["ok"], done.text
        assert not _read(sim, 2).compartments[1].door_closed
        slots = {s["name"]: s for s in http.get("/status").json()}
        assert slots["B/1"]["door_closed"] is False and slots["A/1"]["door_closed"] is True

        refused = http.post("/command", json={"command": "take C 1"})
        assert refused.status_code == 400 and "no cabinet" in refused.json()["error"]
        http.post("/command", json={"command": "close B 1"})
        assert _read(sim, 2).compartments[1].door_closed


def test_end_of_console_input_stops_the_simulator(sim: SimProcess) -> None:
    assert sim.proc.stdin is not None
    sim.proc.stdin.close()
    assert sim.proc.wait(timeout=20) == 0
