"""A whole station for end-to-end tests: hw_sim cabinets over real Modbus, the simulated
camera, the daemon on a fresh data directory, and a simulated person at the cabinets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.ledger.station import init_station
from custody.testing import ShiftedClock
from hw_sim.camera_sim import SimulatedCamera
from hw_sim.station import SimStation
from lockerd.config import hash_pin, load_config
from lockerd.daemon import Daemon
from lockerd.demo import station_decider
from lockerd.runtime import Runtime
from lockerd.simpeople import CabinetActor
from lockerd.steps import StepService
from terminal.ports import BayStep

PINS = {"B-1": "2468", "B-2": "1357", "B-9": "8642", "B-5": "5555", "B-6": "6666",
        "B-8": "8888"}
# Door timeouts of the test station: the flows wait this long for the simulated person, and
# the poller alarms a door left open after the close timeout. A loaded machine can hold up
# the event loop for seconds, so they are generous; tests of a timeout pass a short one.
DOOR_TIMEOUT_S = 30
WAIT_S = 30.0  # how long a test waits for something asynchronous before it fails
# The cabinets' answer timeout: no test here makes a cabinet late, and a flow's release or
# LED command that times out fails the flow; a stalled test process must not cause that.
CABINET_TIMEOUT_MS = 10_000
_PIN_HASHES: dict[str, str] = {}


def pin_hash(pin: str) -> str:
    """scrypt is slow on purpose: hash each test PIN once per process."""
    if pin not in _PIN_HASHES:
        _PIN_HASHES[pin] = hash_pin(pin)
    return _PIN_HASHES[pin]


def station_config(
    *, tcp_port: int, rtu_url: str | None, compartments: int, mqtt_port: int | None = None,
    door_open_timeout_s: int = DOOR_TIMEOUT_S, door_close_timeout_s: int = DOOR_TIMEOUT_S,
    api: bool = False, leave_people: bool = False,
) -> str:
    """A test station: cabinet A on Modbus TCP, cabinet B on RTU (when given).
    ``leave_people``: the supervisor has a badge (B-5), with a second supervisor (B-6) and a
    second clerk (B-8), for the leave steps' three people and two clerks."""
    text = f"""
[station]
id = "t1"
origin = "test.example/t1"
poll_interval_ms = 10
rules_tick_seconds = 3600
checkpoint_tick_seconds = 1

[camera]
width = 800
height = 480

[terminal]
door_open_timeout_s = {door_open_timeout_s}
door_close_timeout_s = {door_close_timeout_s}
pin_max_attempts = 3

[api]
enabled = {"true" if api else "false"}
port = 0

[mqtt]
enabled = {"true" if mqtt_port else "false"}
port = {mqtt_port or 1883}

[[cabinets]]
id = "A"
host = "127.0.0.1"
port = {tcp_port}
unit = 1
compartments = {compartments}
timeout_ms = {CABINET_TIMEOUT_MS}
"""
    if rtu_url:
        text += f"""
[[cabinets]]
id = "B"
transport = "modbus-rtu"
device = "{rtu_url}"
unit = 2
compartments = {compartments}
timeout_ms = {CABINET_TIMEOUT_MS}
"""
    people = [
        ("sup", "Supervisor", "supervisor", "B-5" if leave_people else "", None),
        ("off1", "Officer One", "officer", "B-1", "sup"),
        ("off2", "Officer Two", "officer", "B-2", "sup"),
        ("clerk", "Clerk", "clerk", "B-9", None),
    ]
    if leave_people:
        people += [("sup2", "Supervisor Two", "supervisor", "B-6", None),
                   ("clerk2", "Clerk Two", "clerk", "B-8", None)]
    for pid, name, role, badge, boss in people:
        text += f'\n[[people]]\nid = "{pid}"\nname = "{name}"\nrole = "{role}"\n'
        if badge:
            text += f'badge = "{badge}"\npin_hash = "{pin_hash(PINS[badge])}"\n'
        if boss:
            text += f'supervisor = "{boss}"\n'
    return text


@dataclass
class Harness:
    """The running station and the handles a test acts through."""

    data: Path
    sim: SimStation
    daemon: Daemon
    person: CabinetActor

    @property
    def rt(self) -> Runtime:
        return self.daemon.rt

    @property
    def clock(self) -> ShiftedClock:
        clock = self.rt.clock
        assert isinstance(clock, ShiftedClock)
        return clock

    @property
    def steps(self) -> StepService:
        return self.daemon.steps

    @property
    def camera(self) -> SimulatedCamera:
        cam = self.rt.camera
        assert isinstance(cam, SimulatedCamera)
        return cam

    async def store(self, clerk: str, case_id: str) -> BayStep:
        """The clerk stores a case's waiting items (the simulated person does the door)."""
        step = await self.steps.open_store(clerk, case_id)
        self.camera.show(*step.labels)
        return await self.steps.finish(clerk)

    async def check_out(self, officer: str, label: str) -> BayStep:
        """The officer takes one stored file out."""
        await self.steps.open_check_out(officer, label)
        self.camera.show(label)
        return await self.steps.finish(officer)

    async def return_file(self, officer: str, label: str) -> BayStep:
        """The officer brings a file back: scanned at the camera, put where it belongs."""
        self.camera.show(label)
        await self.steps.open_return(officer, None)
        return await self.steps.finish(officer)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.rt.ledger.entries()]

    async def until(self, what: str, done: Callable[[], bool], timeout: float = WAIT_S) -> None:
        """Wait (on the loop, letting the station run) until ``done()``; fail naming
        ``what`` if it has not happened within ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            if loop.time() > deadline:
                raise AssertionError(f"{what}: not seen within {timeout:.0f} s")
            await asyncio.sleep(0.01)

    async def polled(self, cabinet: str, index: int, *, door_closed: bool | None = None,
                     occupied: bool | None = None) -> None:
        """Wait until the daemon's poller has read this state of a compartment. Its events
        are judged in the same loop turn as the read (the alarm desk never suspends), so
        they have been judged once this returns."""

        await self.until(f"poller reads {cabinet}/{index} door_closed={door_closed} "
                         f"occupied={occupied}", lambda: self.rt.poller.has_read(
                             cabinet, index, door_closed=door_closed, occupied=occupied))

    async def register_and_hand_over(
        self, case_id: str, officer: str, serials: list[int], kind: str = "case_file"
    ) -> list[str]:
        """Register a case with these items and hand all of them over."""
        labels = [make_label(kind, 2026, s).text for s in serials]
        seized = datetime.now(UTC) - timedelta(hours=1)
        specs = [ItemSpec(lb, kind, f"item {lb}", 1, seized) for lb in labels]
        await self.rt.call(self.rt.custody.register_case, case_id, title=f"case {case_id}",
                           officer=officer, items=specs)
        for lb in labels:
            self.camera.show(lb)
            await self.steps.scan_for_handover("clerk", case_id, None)
        checklist = {k: True for k in self.rt.custody.settings.lawfulness_checklist}
        await self.steps.commit_handover("clerk", case_id, checklist, "")
        return labels


@asynccontextmanager
async def running_station(
    tmp_path: Path, *, compartments: int = 4, rtu: bool = False, mqtt_port: int | None = None,
    data: Path | None = None, api: bool = False, leave_people: bool = False,
    extra_config: str = "", **timeouts: int,
) -> AsyncIterator[Harness]:
    """Start the simulator, a station on it, the daemon and a simulated person
    (``extra_config``: more sections of the station config, such as ``[printer]``)."""
    sim = SimStation(cabinets=2 if rtu else 1, compartments=compartments, rtu_socket=rtu,
                     unlock_pulse_ms=2000)  # a loaded machine must not make the person miss it
    await sim.start()
    daemon: Daemon | None = None
    person = CabinetActor(sim.world, step_s=0.02, watch_s=0.002)
    try:
        root = data or tmp_path / "station"
        if not (root / "ledger.db").exists():
            init_station(root, "test.example/t1")
        assert sim.tcp_port is not None
        (root / "config.toml").write_text(
            station_config(tcp_port=sim.tcp_port, rtu_url=sim.rtu_socket_url,
                           compartments=compartments, mqtt_port=mqtt_port, api=api,
                           leave_people=leave_people, **timeouts) + extra_config
        )
        # real time, shifted on request (the PIN lockout's end, a deadline)
        daemon = Daemon(load_config(root / "config.toml"), clock=ShiftedClock())
        await daemon.start()
        person.decide = station_decider(daemon, sim, {1: "A", 2: "B"})
        person.start()
        h = Harness(root, sim, daemon, person)
        # the flows pick compartments from the poller's status: let it read every cabinet
        # once, or a check-in right after the start could find no cabinet polled yet
        await h.until("first poll of every cabinet", lambda: all(
            h.rt.poller.last_status(cab) is not None for cab in h.rt.cabinets))
        yield h
    finally:
        await person.stop()
        if daemon is not None:
            await daemon.stop()
        await sim.stop()


async def drive_console(h: Harness, *lines: str) -> str:
    """One ``locker terminal`` console session on the harness's daemon, fed these lines;
    everything it wrote."""
    from lockerd.console import Console

    feed = iter(lines)
    out: list[str] = []

    async def read(prompt: str) -> str | None:
        return next(feed, None)

    await Console(h.daemon, read, out.append).run()
    return "\n".join(out)
