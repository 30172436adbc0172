"""``locker demo``: a whole simulated station playing one scripted working day.

Simulated cabinets (cabinet A on Modbus TCP, cabinet B on a Modbus RTU line over
``socket://``), the simulated camera, the daemon (poller, alarms, rules, checkpoints, MQTT
outbox, read API) on a fresh data directory, and simulated people at the cabinets. The day
runs on an accelerated clock (``custody.testing.ShiftedClock``): between scenes the clock
jumps ahead, so the day takes seconds. Scenes: registrations, handovers with their checks (one
with a missing exhibit), check-ins, morning check-outs (a wrong PIN first), evening returns, one
late return that escalates (reminder, then supervisor), one forced door with an exhibit
taken, the nightly reconciliation. Then a checkpoint is signed and the ledger verified.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from custody.alarms import AlarmView
from custody.domain.languages import DEFAULT_LANGUAGE, Language
from custody.domain.people import Complainant
from custody.domain.values import ItemSpec
from custody.errors import LockerError, UsageError
from custody.labels import make_label
from custody.ledger.station import init_station
from custody.ledger.verify import verify_data_dir
from custody.queries import alarms_after
from custody.testing import ShiftedClock
from hw_sim.camera_sim import SimulatedCamera
from hw_sim.modem_sim import SimModem
from hw_sim.station import SimStation
from lockerd.broker import MosquittoBroker, find_mosquitto
from lockerd.config import load_config
from lockerd.daemon import Daemon
from lockerd.demo_stages import case_deadline_scene
from lockerd.democast import DemoCast, DemoItem, demo_cast
from lockerd.exitcodes import FAILED
from lockerd.simpeople import CabinetActor, people_toml, step_decider
from lockerd.sms_demo import sms_lines, start_modem, wait_texts, with_phones
from lockerd.steps import StepService
from terminal.errors import StepFailedError

ZONE = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 30, tzinfo=ZONE)  # a Monday



def demo_config(
    *, tcp_port: int, rtu_url: str, mqtt_port: int | None, api_port: int, origin: str,
    mqtt_host: str = "127.0.0.1", cast: DemoCast | None = None, modem: str | None = None,
    station_id: str = "demo-1",
) -> str:
    """The demo station's config.toml (the people and the screens' language from ``cast``;
    with SMS through the simulated ``modem``, if given)."""
    cast = cast or demo_cast(DEFAULT_LANGUAGE)
    lines = [
        "# evidence-locker demo station (written by `locker demo`)",
        "[station]",
        f'id = "{station_id}"',
        # the station's name as its SMS and screens print it, in the cast's language
        f'name = "{"演示派出所" if cast.language is Language.ZH_CN else "Demo station"}"',
        f'origin = "{origin}"',
        'timezone = "Asia/Shanghai"',
        "poll_interval_ms = 20",
        "rules_tick_seconds = 5",
        "checkpoint_tick_seconds = 2",
        "",
        "[ledger]",
        "checkpoint_every_entries = 25",
        "checkpoint_every_seconds = 600",
        'synchronous = "FULL"',
        "",
        "[rules]",
        'return_time = "18:00"',
        "return_legal_after_hours = 1",  # the legal section's step within the demo's day
        "",
        "[terminal]",
        "door_open_timeout_s = 30",
        "door_close_timeout_s = 30",
        "pin_max_attempts = 3",
        f'language = "{cast.language.value}"',
        "",
        "[api]",
        "enabled = true",
        'host = "127.0.0.1"',
        f"port = {api_port}",
        "",
        "[mqtt]",
        f"enabled = {'true' if mqtt_port else 'false'}",
        f'host = "{mqtt_host}"',
        f"port = {mqtt_port or 1883}",
        "",
        "[[cabinets]]",
        'id = "A"',
        'transport = "modbus-tcp"',
        'host = "127.0.0.1"',
        f"port = {tcp_port}",
        "unit = 1",
        "",
        "[[cabinets]]",
        'id = "B"',
        'transport = "modbus-rtu"',
        f'device = "{rtu_url}"',
        "unit = 2",
        "baud = 19200",
        "",
    ]
    sms = sms_lines(modem) if modem else []
    return "\n".join(lines + sms + with_phones(people_toml(cast.people)))


def station_decider(
    daemon: Daemon, sim: SimStation, cabinet_of: dict[int, str]
) -> Callable[[int, int], str]:
    """What the simulated person does at a lit compartment: what its step asks."""
    rt = daemon.rt
    return step_decider(
        lambda: list(daemon.steps.steps.values()),
        lambda where: set(rt.custody.projection.compartments.get(where, set())),
        cabinet_of,
        lambda unit, idx: sim.world.cabinet(unit).comp(idx).occupied,
    )


def label(kind: str, serial: int) -> str:
    return make_label(kind, 2026, serial).text


def _spec(item: DemoItem, seized: datetime) -> ItemSpec:
    return ItemSpec(label(item.kind, item.serial), item.kind, item.description, 1, seized,
                    item.seized_from, None, item.category)


class Script:
    """The scripted day, printing what happens."""

    def __init__(
        self, daemon: Daemon, sim: SimStation, person: CabinetActor, clock: ShiftedClock,
        say: Callable[[str], None], cast: DemoCast | None = None,
    ) -> None:
        self.cast = cast or demo_cast(DEFAULT_LANGUAGE)
        self.d = daemon
        self.rt = daemon.rt
        self.steps: StepService = daemon.steps
        self.sim = sim
        self.person = person
        self.clock = clock
        self.say = say
        self.modem: SimModem | None = None  # the simulated GSM modem, when the demo has SMS
        camera = self.rt.camera
        if not isinstance(camera, SimulatedCamera):
            raise UsageError("the demo needs the simulated camera")
        self.camera = camera
        self.problems: list[str] = []
        self._told: set[str] = set()  # keys of the ladder notices already shown

    def at(self, hh: int, mm: int) -> None:
        """Jump to HH:MM of the demo day (never backwards: a scene that ran late stays)."""
        with contextlib.suppress(ValueError):
            self.clock.jump_to(DAY.replace(hour=hh, minute=mm))

    def log(self, text: str) -> None:
        self.say(f"[{self.clock.now():%H:%M}] {text}")

    async def scan(self, lbl: str, actor: str, case_id: str) -> None:
        """Hold an item up to the camera and scan it for a handover."""
        self.camera.show(lbl)
        await self.steps.scan_for_handover(actor, case_id, None)

    async def store(self, clerk: str, case_id: str) -> None:
        """The clerk stores a case's waiting items; the simulated person does the door."""
        step = await self.steps.open_store(clerk, case_id)
        self.camera.show(*step.labels)
        done = await self.steps.finish(clerk)
        seq = self.rt.custody.projection.items[done.labels[0]].state_seq
        self.log(f"  {', '.join(done.labels)}: compartment {done.compartment} "
                 f"({step.reason.replace('_', ' ')}) lit, opened, item in, closed, sensor "
                 f"occupied, photographed (seq {seq})")

    async def tick(self) -> None:
        cs = self.rt.custody
        await self.rt.call(cs.tick)
        self.rt.ledger_changed()
        # The daemon's own rules tick runs too, and may send a step first (e.g. when it ran
        # just after a jump of the clock): show every ladder notice in the ledger not shown
        # yet, whichever tick sent it, rather than only what this tick returned.
        ladder = await self.rt.call(
            lambda: [n for n in cs.projection.notices.values() if n.refs.get("rule")]
        )
        for n in ladder:
            if n.key not in self._told:
                self._told.add(n.key)
                self.log(f"  notice -> {n.role} {n.person}: {n.subject}")

    async def seen(self, cab: str, idx: int, *, door_closed: bool | None = None,
                   occupied: bool | None = None) -> None:
        """Wait until the poller has read this state of a compartment (its events are
        judged as it reads): a change made before that could go unseen."""
        for _ in range(1500):
            if self.rt.poller.has_read(cab, idx, door_closed=door_closed, occupied=occupied):
                return
            await asyncio.sleep(0.02)
        self.problems.append(f"the poller never read {cab}/{idx} as expected")

    async def run(self) -> None:
        rt, cs = self.rt, self.rt.custody
        case1, case2 = self.cast.cases
        f1, f2, e1 = (label(i.kind, i.serial) for i in case1.items)
        f3, _missing = (label(i.kind, i.serial) for i in case2.items)  # not handed over
        seized = DAY - timedelta(hours=4)  # last night, 20:00

        # ---------------------------------------------------------- registrations
        self.at(7, 30)
        for case in (case1, case2):
            await self.steps.register_case(  # the step service: labels printed, if a printer
                case.case_id, title=case.title, officer=case.officer,
                items=[_spec(i, seized) for i in case.items],
                complainant=Complainant(case.complainant, case.complainant_phone),
            )
            labels = ", ".join(label(i.kind, i.serial) for i in case.items)
            self.log(f"officer {self.cast.name(case.officer)} registers case {case.case_id} "
                     f"({case.title}): {labels}")
        rt.ledger_changed()

        # ---------------------------------------------------------- handovers
        self.at(8, 0)
        await self.steps.sign_in("B-2001", "8642")
        checklist = {k: True for k in cs.settings.lawfulness_checklist}
        for x in (f1, f2, e1):
            await self.scan(x, "clerk-wang", case1.case_id)
        res = await self.steps.commit_handover("clerk-wang", case1.case_id, checklist, "")
        clerk = self.cast.name("clerk-wang")
        self.log(f"clerk {clerk} takes over {case1.case_id}: {len(res.items)} items match the "
                 f"manifest, checklist signed (seq {res.seq})")
        await self.scan(f3, "clerk-wang", case2.case_id)
        res2 = await self.steps.commit_handover(
            "clerk-wang", case2.case_id, checklist, self.cast.missing_reason,
        )
        self.log(f"clerk {clerk} takes over {case2.case_id}: MISSING {', '.join(res2.missing)}; "
                 f"reason written, supervisor told (seq {res2.seq})")

        # ---------------------------------------------------------- storage
        self.at(8, 15)
        for case in (case1, case2):
            self.log(f"clerk {clerk} stores case {case.case_id}:")
            await self.store("clerk-wang", case.case_id)

        # ---------------------------------------------------------- morning check-outs
        self.at(8, 40)
        try:
            await self.steps.sign_in("B-1001", "0000")
        except LockerError as exc:
            self.log(f"officer {self.cast.name('off-li')} types a wrong PIN: refused ({exc})")
        li = (await self.steps.sign_in("B-1001", "2468")).person
        for lbl in (f1, f2):
            await self.steps.open_check_out(li.id, lbl)
            self.camera.show(lbl)
            done = await self.steps.finish(li.id)
            self.log(f"{li.name}: check-out {lbl} from {done.compartment}: removal confirmed "
                     f"(seq {cs.projection.items[lbl].state_seq})")
        zhang = (await self.steps.sign_in("B-1002", "1357")).person
        await self.steps.open_check_out(zhang.id, f3)
        self.camera.show(f3)
        done = await self.steps.finish(zhang.id)
        self.log(f"{zhang.name} checks out {f3} from {done.compartment} "
                 f"(seq {cs.projection.items[f3].state_seq})")

        # ---------------------------------------------------------- evening returns
        self.at(17, 20)
        await self.steps.sign_in("B-1001", "2468")
        for lbl in (f1, f2):
            self.camera.show(lbl)
            step = await self.steps.open_return("off-li", None)
            done = await self.steps.finish("off-li")
            self.log(f"officer {self.cast.name('off-li')} returns {lbl} on time into "
                     f"{done.compartment} ({step.reason.replace('_', ' ')}; seq "
                     f"{cs.projection.items[lbl].state_seq})")
        await self.steps.sign_in("B-2001", "8642")
        self.log(f"clerk {clerk} stores the returned files where they were put back:")
        await self.store("clerk-wang", case1.case_id)

        # ---------------------------------------------------------- a late return escalates
        self.at(17, 35)
        self.log(f"rules tick: {f3} is still out (due 18:00)")
        await self.tick()
        self.at(19, 5)
        self.log(f"rules tick: {f3} is overdue")
        await self.tick()
        self.at(19, 20)
        await self.steps.sign_in("B-1002", "1357")
        self.camera.show(f3)
        await self.steps.open_return("off-zhang", None)
        done = await self.steps.finish("off-zhang")
        late = rt.ledger.entry(cs.projection.items[f3].state_seq).body.get("late")
        self.log(f"officer {self.cast.name('off-zhang')} returns {f3} LATE (late={late}) "
                 f"into {done.compartment}")
        await self.store("clerk-wang", case2.case_id)
        # the officer's, the supervisor's and the legal section's SMS about it, in Chinese
        if self.modem is not None and not await wait_texts(self.modem, f3, 3):
            self.problems.append(f"the three SMS about {f3} did not all arrive")

        # ---------------------------------------------------------- a forced door
        self.at(21, 0)
        where = cs.projection.items[e1].compartment
        assert where is not None
        cab, _, idx = where.partition("/")
        unit = 1 if cab == "A" else 2
        before = rt.ledger.size - 1  # alarms raised after this entry are the forced door's

        def raised() -> list[AlarmView]:
            cs.catch_up()
            return alarms_after(cs.projection, before)

        self.sim.world.force_door(unit, int(idx))
        await self.seen(cab, int(idx), door_closed=False)
        self.sim.world.take_item(unit, int(idx))
        await self.seen(cab, int(idx), occupied=False)
        self.sim.world.close_door(unit, int(idx))
        for _ in range(1500):
            if len(await rt.call(raised)) >= 2:
                break
            await asyncio.sleep(0.02)
        for alarm in await rt.call(raised):
            self.log(f"ALARM alarm.{alarm.kind} at {alarm.where} "
                     f"(items {', '.join(alarm.items)}) "
                     f"seq {alarm.seq}")
        if len(await rt.call(raised)) < 2:
            self.problems.append("the forced door did not raise both alarms")

        # ---------------------------------------------------------- nightly reconciliation
        self.at(22, 0)
        await self.tick()
        occupancy: dict[str, bool] = {}
        for cab_id in rt.cabinets:
            st = rt.poller.last_status(cab_id)
            if st is not None:
                occupancy.update({f"{cab_id}/{c.index}": c.occupied for c in st.compartments})
        recon = await rt.call(cs.reconcile, occupancy=occupancy)
        rt.ledger_changed()
        self.log(f"reconciliation (seq {recon.seq}): not back "
                 f"{list(recon.checked_out_not_back)}, not handed over "
                 f"{list(recon.registered_not_handed_over)}, stored but empty "
                 f"{[f'{a} in {b}' for a, b in recon.stored_but_empty]}")

        # ---------------------------------------------------------- a case's statutory deadline
        await case_deadline_scene(self)


async def run_demo(
    data: Path | None,
    *,
    once: bool,
    mqtt: bool,
    broker_at: tuple[str, int] | None = None,
    say: Callable[[str], None] = print,
    language: Language | str = DEFAULT_LANGUAGE,
    station_id: str = "demo-1",
) -> int:
    """Play the day; then serve until Ctrl-C (or return at once with ``once``). The people,
    cases and the kiosk speak ``language`` (:mod:`lockerd.democast`).

    MQTT: ``broker_at`` names a running broker; else ``mqtt`` starts a local Mosquitto;
    else events wait in the outbox."""
    cast = demo_cast(language)
    tmp: Path | None = None
    if data is None:
        tmp = Path(tempfile.mkdtemp(prefix="locker-demo-"))
        data = tmp / "station"
    elif data.exists() and any(data.iterdir()):
        raise UsageError(f"{data} is not empty: give the demo a new or empty directory")
    broker: MosquittoBroker | None = None
    if mqtt and broker_at is None:
        if find_mosquitto() is None:
            raise UsageError("--mqtt: mosquitto is not installed (apt-get install mosquitto)")
        broker = MosquittoBroker(data.parent / f"{data.name}-mosquitto")
        broker.start()
    # a 3 s unlock pulse (common on real cabinets) so a busy machine cannot make the
    # simulated person miss it
    sim = SimStation(cabinets=2, compartments=8, tcp=True, rtu_socket=True,
                     unlock_pulse_ms=3000)
    await sim.start()
    modem = start_modem(say)
    daemon: Daemon | None = None
    person = CabinetActor(sim.world, step_s=0.03)
    try:
        # the district demo runs several: each its own id and log origin
        origin = ("demo.evidence-locker.example/station-1" if station_id == "demo-1"
                  else f"demo.evidence-locker.example/{station_id}")
        paths = init_station(data, origin, name=station_id)
        assert sim.tcp_port is not None and sim.rtu_socket_url is not None
        mqtt_host, mqtt_port = broker_at or ("127.0.0.1", broker.port if broker else None)
        paths.config.write_text(
            demo_config(tcp_port=sim.tcp_port, rtu_url=sim.rtu_socket_url,
                        mqtt_port=mqtt_port, mqtt_host=mqtt_host, api_port=0, origin=origin,
                        station_id=station_id, cast=cast, modem=modem.path)
        )
        cfg = load_config(paths.config)
        clock = ShiftedClock(DAY.replace(hour=7, minute=0), tz=ZONE)
        daemon = Daemon(cfg, clock=clock)
        await daemon.start()
        person.decide = station_decider(daemon, sim, {1: "A", 2: "B"})
        person.start()
        say(f"evidence-locker demo: station data in {data}")
        say(f"  cabinets: A on Modbus TCP 127.0.0.1:{sim.tcp_port}, B on Modbus RTU "
            f"{sim.rtu_socket_url}; camera: simulated")
        say(f"  API: {daemon.api_url}   MQTT: "
            + (f"{mqtt_host}:{mqtt_port} (topics locker/{station_id}/#)" if mqtt_port else "off"))
        say("")
        say(f"  SMS: simulated GSM modem on {modem.path}")
        script = Script(daemon, sim, person, clock, say, cast)
        script.modem = modem
        await script.run()
        rt = daemon.rt
        note = await rt.call(rt.ledger.checkpoint)
        rt.ledger_changed()
        await rt.feed()
        size = int(note.splitlines()[1])
        say("")
        kinds = Counter(e.kind for e in await rt.call(lambda: list(rt.ledger.entries())))
        say(f"ledger: {size} entries, signed checkpoint at size {size}")
        for kind, n in sorted(kinds.items()):
            say(f"  {kind:24} {n}")
        by_role = Counter(n.role for n in rt.custody.projection.notices.values())
        say("notices recorded and sent: " + ", ".join(
            f"{role} {n}" for role, n in sorted(by_role.items())))
        report = await asyncio.to_thread(verify_data_dir, data, workers=1)
        say(f"verification: {report.summary()}")
        if rt.publisher is not None:
            drained = await asyncio.to_thread(rt.publisher.wait_drained, 15.0)
            pending, sent = rt.outbox.counts()
            say(f"MQTT outbox: {sent} messages acknowledged by the broker, {pending} pending"
                + ("" if drained else " (broker slow)"))
        else:
            pending, _ = rt.outbox.counts()
            say(f"MQTT: off; {pending} messages wait in the durable outbox")
        for problem in script.problems:
            say(f"PROBLEM: {problem}")
        ok = report.ok and not script.problems
        if not once:
            from api.auth import Role, TokenStore

            store = TokenStore(data)
            _, secret = store.create(Role.AUDITOR, note="demo")
            store.close()
            say("")
            if daemon.kiosk_path:
                say(f"the kiosk: {daemon.api_url}{daemon.kiosk_path} (badge B-2001, PIN 8642"
                    f" for clerk {cast.name('clerk-wang')}; B-1001 / 2468 for officer "
                    f"{cast.name('off-li')})")
            say(f"serving the API at {daemon.api_url} until Ctrl-C, e.g.:")
            say(f"  curl -H 'Authorization: Bearer {secret}' {daemon.api_url}/v1/items")
            await _wait_for_interrupt()
        return 0 if ok else 1
    except StepFailedError as exc:
        say(f"demo failed: {exc}")
        return FAILED  # docs/reliability.md (1 is kept for "does not verify")
    finally:
        await person.stop()
        if daemon is not None:
            await daemon.stop()
        await sim.stop()
        modem.close()
        if broker is not None:
            broker.stop()
        if tmp is not None and once:
            shutil.rmtree(tmp, ignore_errors=True)


async def _wait_for_interrupt() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
