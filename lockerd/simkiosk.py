"""A whole simulated station with the kiosk served by the daemon, for tests and trying out.

:class:`SimKiosk` starts, on its own event loop in a background thread: the simulated
cabinets behind a real Modbus TCP server (``hw_sim.station.SimStation``), a fresh station
data directory (``locker init``'s layout) with a config naming the people (badges, PIN
hashes), the cabinet and ``[terminal]`` (PIN lockout, idle lock), and **the daemon**
(:class:`lockerd.daemon.Daemon`: runtime, poller, alarm desk, rules, checkpoints, outbox,
and the read API with the kiosk mounted under ``/terminal``) with the simulated camera. The
caller's thread acts as the people in the room: ``kiosk.world`` (doors, items),
``kiosk.camera`` (what is held in front of the camera), and reads the ledger.

Run ``python -m lockerd.simkiosk --data DIR`` to try the screens in a browser.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from custody.domain.people import Complainant
from custody.domain.values import ItemSpec
from custody.ledger.ledger import Ledger
from custody.ledger.station import init_station
from custody.services import CustodyService
from custody.testing import ShiftedClock
from hw_sim.camera_sim import SimulatedCamera, Trouble
from hw_sim.station import SimStation
from locker_firmware_bridge.poller import Poller
from lockerd.alarms import AlarmDesk
from lockerd.config import load_config
from lockerd.daemon import Daemon
from lockerd.simpeople import StaffRecord, people_toml
from scanner.photostore import FilePhotoStore
from terminal.sessions import TerminalSettings

T = TypeVar("T")


DEFAULT_PEOPLE: tuple[StaffRecord, ...] = (
    StaffRecord("zhou", "周燕", "clerk", "C-1001", "1234"),
    StaffRecord("wang", "王伟", "officer", "P-2001", "5678", supervisor="zhao"),
    StaffRecord("li", "李娜", "officer", "P-2002", "2468", supervisor="zhao"),
    StaffRecord("zhao", "赵磊", "supervisor", "S-3001", "1357"),
    StaffRecord("legal1", "法制大队", "legal"),
)


class SimKiosk:
    """The simulated station and its served terminal (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        people: Sequence[StaffRecord] = DEFAULT_PEOPLE,
        compartments: int = 8,
        settings: TerminalSettings | None = None,
        camera_size: tuple[int, int] = (1920, 1080),  # labels read every time (960 px: 80 %)
        poll_period_s: float = 0.1,
        unlock_pulse_ms: int = 500,
        answer_timeout_ms: int = 2000,
        port: int = 0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.people = tuple(people)
        self.compartments = compartments
        # written to the config's [terminal] (idle lock, PIN policy, language)
        self.settings = settings or TerminalSettings()
        self.clock = ShiftedClock()
        self.camera = SimulatedCamera(width=camera_size[0], height=camera_size[1],
                                      trouble=Trouble.clean(), clock=self.clock)
        self.poll_period_s = poll_period_s
        self.unlock_pulse_ms = unlock_pulse_ms
        # the cabinet's answer timeout: longer than the 500 ms default, so that a pause of
        # this process (which also runs the simulated cabinet) does not fail a release
        self.answer_timeout_ms = answer_timeout_ms
        self.port = port
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="simkiosk", daemon=True)
        self._tasks: list[asyncio.Task[None]] = []
        self.sim: SimStation
        self.daemon: Daemon
        self.base_url = ""
        self.api_url = ""

    # ------------------------------------------------------------------ the daemon's parts

    @property
    def ledger(self) -> Ledger:
        """The station's ledger (the daemon's)."""
        return self.daemon.rt.ledger

    @property
    def custody(self) -> CustodyService:
        """The custody service (the daemon's)."""
        return self.daemon.rt.custody

    @property
    def poller(self) -> Poller:
        """The daemon's cabinet poller."""
        return self.daemon.rt.poller

    @property
    def alarm_desk(self) -> AlarmDesk:
        """The daemon's alarm desk."""
        return self.daemon.rt.alarms

    @property
    def photos(self) -> FilePhotoStore:
        """The station's photo store (the daemon's)."""
        return self.daemon.rt.photos

    # ------------------------------------------------------------------ life cycle

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the station's loop and wait for its result."""
        fut: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def start(self) -> SimKiosk:
        """Start everything; returns when the terminal answers HTTP."""
        self._thread.start()
        self.call(self._start())
        return self

    def stop(self) -> None:
        """Stop everything and the loop's thread."""
        try:
            self.call(self._stop(), timeout=90)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)

    def __enter__(self) -> SimKiosk:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def world(self) -> Any:
        """The simulated cabinets' physical world (act on it as a person)."""
        return self.sim.world

    def config_text(self, tcp_port: int) -> str:
        """The station's config.toml: the simulated cabinet, the people, the API with the
        kiosk (on a free port), no MQTT."""
        t = self.settings
        lines = [
            "[station]", 'id = "sim-kiosk"', 'name = "模拟站"',
            f"poll_interval_ms = {max(5, round(self.poll_period_s * 1000))}",
            "rules_tick_seconds = 3600", "checkpoint_tick_seconds = 3600", "",
            "[terminal]", f"pin_max_attempts = {t.pin_max_attempts}",
            f"pin_lockout_s = {t.pin_lockout_s}", f"idle_lock_s = {t.idle_lock_s}",
            f'language = "{"en" if t.language == "en" else "zh"}"', "kiosk = true", "",
            "[api]", "enabled = true", 'host = "127.0.0.1"', f"port = {self.port}", "",
            "[mqtt]", "enabled = false", "",
            "[[cabinets]]", 'id = "A"', 'transport = "modbus-tcp"', 'host = "127.0.0.1"',
            f"port = {tcp_port}", "unit = 1", f"compartments = {self.compartments}",
            f"timeout_ms = {self.answer_timeout_ms}", "",
        ]
        return "\n".join(lines + people_toml(self.people))

    async def _start(self) -> None:
        self.sim = await SimStation(
            cabinets=1, compartments=self.compartments, unlock_pulse_ms=self.unlock_pulse_ms
        ).start()
        assert self.sim.tcp_port is not None
        paths = init_station(self.data_dir, "sim.locker.example/kiosk", name="sim-kiosk")
        paths.config.write_text(self.config_text(self.sim.tcp_port), encoding="utf-8")
        # the daemon serves its read API and, mounted on it, the kiosk
        self.daemon = Daemon(load_config(paths.config), clock=self.clock, camera=self.camera)
        await self.daemon.start()
        if self.daemon.api_url is None or self.daemon.kiosk_path is None:
            raise RuntimeError("the daemon did not serve the kiosk (see its log)")
        self.api_url = self.daemon.api_url
        self.base_url = self.api_url + self.daemon.kiosk_path.rstrip("/")

    async def _stop(self) -> None:
        if hasattr(self, "daemon"):
            await self.daemon.stop()
        if hasattr(self, "sim"):
            await self.sim.stop()

    # ------------------------------------------------------------------ the ledger

    def entries(self, kind: str | None = None) -> list[Mapping[str, Any]]:
        """Every ledger entry's body (optionally of one kind), in order."""
        bodies = [e.body for e in self.ledger.entries()]
        return [b for b in bodies if kind is None or b["kind"] == kind]

    async def drain_alarms(self) -> None:
        """Wait until the alarm desk has written every alarm it judged."""
        await self.alarm_desk.drain()

    # ------------------------------------------------------------------ scenario helpers

    def register(self, case_id: str, officer: str, items: Sequence[tuple[str, str, int]],
                 *, title: str = "", seized_hours_ago: int = 2) -> None:
        """An officer registers a case with a manifest of (label, description, quantity)."""
        seized = self.clock.now() - timedelta(hours=seized_hours_ago)
        specs = [
            ItemSpec(label=label, kind="case_file" if label.startswith("F") else "exhibit",
                     description=desc, quantity=qty, seized_at=seized, seized_from="张某")
            for label, desc, qty in items
        ]
        self.custody.register_case(case_id, title=title or f"案件 {case_id}", officer=officer,
                                   items=specs, complainant=Complainant("张某", "+8613900000000"))


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a simulated station's terminal until Ctrl-C (for trying the screens)."""
    parser = argparse.ArgumentParser(prog="python -m lockerd.simkiosk",
                                     description="Serve the kiosk on a simulated station.")
    parser.add_argument("--data", type=Path, required=True, help="new station data directory")
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args(argv)
    from custody.labels import make_label

    kiosk = SimKiosk(args.data, port=args.port).start()
    labels = [make_label("case_file", 2026, 101).text, make_label("exhibit", 2026, 102).text]
    kiosk.register("2026-XS-0001", "wang", [(labels[0], "询问笔录", 1), (labels[1], "手机", 1)])
    print(f"terminal: {kiosk.base_url}/  (clerk badge C-1001 PIN 1234; officer P-2001 PIN 5678)")
    print(f"labels to show: {', '.join(labels)}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        kiosk.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
