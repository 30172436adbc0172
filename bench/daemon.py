"""Daemon benchmark: the system time of one check-in (through the console path and the
kiosk path), and events/s through the MQTT outbox.

**Check-in.** A station on the simulator (Modbus TCP, poll period 5 ms), the simulated
camera at 1280x720, and a simulated person who opens, fills and shuts the door as fast as
the simulator allows (no human time). One check-in = the store step of one handed-over
item through the one step service: pick a compartment, claim, LED and release, the door
cycle seen by the poller, the step photo (capture, label read, photo stored), the fresh
read of door and sensor, the ``item.stored`` ledger write through the runtime's writer.
*Console path*: the step service called in process (``locker terminal``, the demo).
*Kiosk path*: the same step over HTTP to the kiosk the daemon serves (open, photo, commit;
a commit pressed before the door has been worked is pressed again). Median and p95 (goal:
median <= 300 ms), as a ratio against the *floor* measured in the same run: the same work
done back to back with no waiting (one capture + read + photo put, the release, one status
read, one ledger append).

**Outbox.** N events enqueued durably in the outbox, then published to a real Mosquitto
(QoS 1, marked sent on PUBACK) until all are acknowledged: events/s, as a ratio of raw
paho publishing the same N payloads at QoS 1 to the same broker (publish all, wait for
every PUBACK) in the same run. Also shown: the durable enqueue rate, one transaction per
event.

Run: ``.venv/bin/python -m bench.daemon [--checkins N] [--events N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.ledger.station import init_station
from hw_sim.camera_sim import SimulatedCamera
from hw_sim.station import SimStation
from lockerd.broker import MosquittoBroker
from lockerd.config import hash_pin, load_config
from lockerd.daemon import Daemon
from lockerd.demo import station_decider
from lockerd.mqtt import Topics
from lockerd.outbox import BrokerSettings, OutboxPublisher, OutboxStore, OutMessage
from lockerd.simpeople import CabinetActor
from scanner.photostore import photo_meta

CLERK_PIN = "2468"

CONFIG = """
[station]
id = "bench"
origin = "bench.example/st"
poll_interval_ms = 5
rules_tick_seconds = 3600
checkpoint_tick_seconds = 3600

[ledger]
checkpoint_every_entries = 0
checkpoint_every_seconds = 0

[api]
enabled = true
port = 0

[terminal]
door_open_timeout_s = 30
door_close_timeout_s = 30
idle_lock_s = 3600

[[people]]
id = "sup"
name = "S"
role = "supervisor"

[[people]]
id = "off"
name = "O"
role = "officer"
supervisor = "sup"

[[people]]
id = "clerk"
name = "C"
role = "clerk"
badge = "C-1"
pin_hash = "{pin_hash}"

[[cabinets]]
id = "A"
host = "127.0.0.1"
port = {port}
unit = 1
compartments = {n}
"""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def _station(n: int, tmp: Path) -> tuple[SimStation, Daemon, CabinetActor]:
    sim = SimStation(cabinets=1, compartments=n + 2, unlock_pulse_ms=300)
    await sim.start()
    paths = init_station(tmp / "st", "bench.example/st")
    paths.config.write_text(CONFIG.format(port=sim.tcp_port, n=n + 2,
                                          pin_hash=hash_pin(CLERK_PIN)))
    daemon = Daemon(load_config(paths.config))
    await daemon.start()
    # a person with no human time: acts the moment a compartment is lit and released
    person = CabinetActor(sim.world, step_s=0.0, watch_s=0.0005,
                          decide=station_decider(daemon, sim, {1: "A"}))
    person.start()
    return sim, daemon, person


async def _cases(daemon: Daemon, n: int) -> list[str]:
    """n + 1 cases of one case file each, handed over (each check-in: a fresh compartment)."""
    rt, steps = daemon.rt, daemon.steps
    cam = rt.camera
    assert isinstance(cam, SimulatedCamera)
    seized = datetime.now(UTC) - timedelta(hours=1)
    checklist = {k: True for k in rt.custody.settings.lawfulness_checklist}
    cases = []
    for i in range(n + 1):
        case_id, lb = f"B-{i}", make_label("case_file", 2026, i + 1).text
        await rt.call(rt.custody.register_case, case_id, title="bench", officer="off",
                      items=[ItemSpec(lb, "case_file", "f", 1, seized)])
        await steps.scan_for_handover("clerk", case_id, lb)
        await steps.commit_handover("clerk", case_id, checklist, "")
        cases.append(case_id)
    return cases


async def bench_checkin(n: int, path: str) -> dict[str, float]:
    """One check-in (a store step of one handed-over item) ``n`` times, through the console
    path (the step service called in process) or the kiosk path (HTTP to the daemon's
    kiosk: open, photo, commit); with the floor interleaved."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    sim, daemon, person = await _station(n, tmp)
    rt, steps = daemon.rt, daemon.steps
    cam = rt.camera
    assert isinstance(cam, SimulatedCamera)
    client: httpx.AsyncClient | None = None
    try:
        cases = await _cases(daemon, n)
        times: list[float] = []
        floors: list[float] = []
        photo_work: list[float] = []
        cab = rt.cabinets["A"]
        if path == "kiosk":
            assert daemon.api_url is not None and daemon.kiosk_path is not None
            client = httpx.AsyncClient(base_url=daemon.api_url + daemon.kiosk_path.rstrip("/"),
                                       timeout=30)
            signed = await client.post("/api/signin", json={"badge": "C-1", "pin": CLERK_PIN})
            assert signed.status_code == 200, signed.text

        async def floor() -> None:
            # the same work back to back, nothing waited for (interleaved with the
            # check-ins so that both run under the same machine load)
            t0 = time.perf_counter()
            img = await asyncio.to_thread(cam.capture)
            reads = await asyncio.to_thread(rt.reader.read, img.data)
            await asyncio.to_thread(rt.photos.put, img.data,
                                    photo_meta(img, reads, extra={"step": "store"}))
            t1 = time.perf_counter()
            await cab.release(n + 1)
            await cab.read_status()
            await rt.call(rt.ledger.append, "bench.floor", {"n": 1}, actor="bench")
            floors.append(time.perf_counter() - t0)
            photo_work.append(t1 - t0)

        async def by_console(case_id: str) -> None:
            await steps.open_store("clerk", case_id)
            await steps.finish("clerk")

        async def by_kiosk(case_id: str) -> None:
            assert client is not None

            async def act(route: str) -> httpx.Response:
                return await client.post(route, json={"action_id": uuid.uuid4().hex})

            assert (await act(f"/api/store/{case_id}/open")).status_code == 200
            assert (await act("/api/bay/photo")).status_code == 200
            while True:  # as a person presses again until the door has been worked
                answer = await act("/api/bay/commit")
                if answer.status_code == 200:
                    return
                assert answer.json().get("key") in ("bay.open_first", "bay.close_door"), (
                    answer.text)
                await asyncio.sleep(0.002)

        run_one = by_kiosk if path == "kiosk" else by_console
        for i, case_id in enumerate(cases):
            cam.show(make_label("case_file", 2026, i + 1).text)
            t0 = time.perf_counter()
            await run_one(case_id)
            if i:  # the first one warms caches up
                times.append(time.perf_counter() - t0)
                await floor()
        return {
            "median": statistics.median(times),
            "p95": pct(times, 95),
            "floor": statistics.median(floors),
            "photos": statistics.median(photo_work),
            "n": float(len(times)),
        }
    finally:
        if client is not None:
            await client.aclose()
        await person.stop()
        await daemon.stop()
        await sim.stop()


def bench_outbox(n: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    broker = MosquittoBroker(tmp / "mosq")
    broker.start()
    topics = Topics("bench")
    payload = b'{"seq":0,"kind":"bench","pad":"' + b"x" * 300 + b'"}'
    try:
        # raw paho: publish N at QoS 1, wait for every PUBACK
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="raw-bench")
        client.max_inflight_messages_set(100)
        client.max_queued_messages_set(0)
        acked = 0
        done = threading.Event()

        def on_publish(c: object, u: object, mid: int, rc: object, p: object) -> None:
            nonlocal acked
            acked += 1
            if acked == n:
                done.set()

        client.on_publish = on_publish
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        t0 = time.perf_counter()
        for _ in range(n):
            client.publish(topics.custody, payload, qos=1)
        done.wait(120)
        raw_s = time.perf_counter() - t0
        client.disconnect()
        client.loop_stop()

        store = OutboxStore(tmp / "outbox.db")
        t0 = time.perf_counter()
        for i in range(min(n, 500)):  # durable enqueue, one transaction each
            store.enqueue(OutMessage(topics.custody, payload, dedupe=f"e{i}"))
        enq_rate = min(n, 500) / (time.perf_counter() - t0)
        store.mark_sent([r.id for r in store.pending(limit=n)])
        pub = OutboxPublisher(store, BrokerSettings("127.0.0.1", broker.port, "outbox-bench",
                                                    topics.status, window=100))
        pub.start()
        assert pub.wait_online(30), "no broker session"
        # connected, like the raw client: N events committed in one transaction, then sent
        t0 = time.perf_counter()
        store.enqueue_many(OutMessage(topics.custody, payload) for _ in range(n))
        pub.wake()
        assert pub.wait_drained(300), "outbox did not drain"
        out_s = time.perf_counter() - t0
        pub.stop()
        store.close()
        return {"raw_rate": n / raw_s, "outbox_rate": n / out_s, "enqueue_rate": enq_rate}
    finally:
        broker.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.daemon", description=__doc__)
    parser.add_argument("--checkins", type=int, default=40)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args(argv)
    for path in ("console", "kiosk"):
        c = asyncio.run(bench_checkin(args.checkins, path))
        print(f"check-in through the {path} path, system time ({int(c['n'])} check-ins, "
              "poll 5 ms, simulated person with no human time):")
        print(f"  median {c['median'] * 1000:.1f} ms, p95 {c['p95'] * 1000:.1f} ms "
              f"(goal: median <= 300 ms: {'met' if c['median'] <= 0.3 else 'NOT met'})")
        print(f"  camera, label read and photo store alone (part of the floor): "
              f"{c['photos'] * 1000:.1f} ms")
        print(f"  floor (same work back to back, no waiting) {c['floor'] * 1000:.1f} ms; "
              f"median/floor = {c['median'] / c['floor']:.2f}, p95/floor = "
              f"{c['p95'] / c['floor']:.2f}")
    o = bench_outbox(args.events)
    print(f"outbox -> Mosquitto, {args.events} events, QoS 1, sent on PUBACK:")
    print(f"  outbox {o['outbox_rate']:.0f} events/s vs raw paho {o['raw_rate']:.0f} events/s:"
          f" ratio {o['outbox_rate'] / o['raw_rate']:.2f}")
    print(f"  durable enqueue (one fsynced transaction per event): {o['enqueue_rate']:.0f}/s")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
