"""Daemon benchmark: the system time of one check-in, and events/s through the MQTT outbox.

**Check-in.** A station on the simulator (Modbus TCP, poll period 5 ms), the simulated
camera at 1280x720, and a simulated person who opens, fills and shuts the door as fast as
the simulator allows (no human time). One check-in = scan (photo, label read, photo
stored), pick a compartment, LED and release, the door cycle seen by the poller, the
occupancy check, the compartment photo, the ``item.stored`` ledger write. Median and p95
(goal <= 300 ms), as a ratio against the *floor* measured in the same run: the same work
done back to back with no waiting (two captures + reads + photo puts, the release, one
status read, one ledger append).

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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.ledger.station import init_station
from hw_sim.camera_sim import SimulatedCamera
from hw_sim.station import SimStation
from lockerd.broker import MosquittoBroker
from lockerd.config import load_config
from lockerd.daemon import Daemon
from lockerd.mqtt import Topics
from lockerd.outbox import BrokerSettings, OutboxPublisher, OutboxStore, OutMessage
from lockerd.simpeople import CabinetActor
from scanner.photostore import photo_meta

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
enabled = false

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


async def bench_checkin(n: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    sim = SimStation(cabinets=1, compartments=n + 2, unlock_pulse_ms=300)
    await sim.start()
    paths = init_station(tmp / "st", "bench.example/st")
    paths.config.write_text(CONFIG.format(port=sim.tcp_port, n=n + 2))
    daemon = Daemon(load_config(paths.config))
    await daemon.start()
    person = CabinetActor(sim.world, step_s=0.0, watch_s=0.0005)
    person.start()
    rt, flows = daemon.rt, daemon.flows
    cam = rt.camera
    assert isinstance(cam, SimulatedCamera)
    try:
        seized = datetime.now(UTC) - timedelta(hours=1)
        labels = [make_label("case_file", 2026, i + 1).text for i in range(n + 1)]
        await rt.call(rt.custody.register_case, "B-1", title="bench", officer="off",
                      items=[ItemSpec(lb, "case_file", "f", 1, seized) for lb in labels])
        scans = []
        for lb in labels:
            cam.show(lb)
            scans.append(await flows.scan(actor="clerk", step="handover", expect=lb))
        checklist = {k: True for k in rt.custody.settings.lawfulness_checklist}
        await flows.handover("B-1", clerk="clerk", scans=scans, checklist=checklist)
        times: list[float] = []
        floors: list[float] = []
        photo_work: list[float] = []
        cab = rt.cabinets["A"]

        async def floor() -> None:
            # the same work back to back, nothing waited for (interleaved with the
            # check-ins so that both run under the same machine load)
            t0 = time.perf_counter()
            for step in ("check_in", "stored"):  # the label is read on the scan photo only
                img = await asyncio.to_thread(cam.capture)
                reads = (await asyncio.to_thread(rt.reader.read, img.data)
                         if step == "check_in" else [])
                await asyncio.to_thread(rt.photos.put, img.data,
                                        photo_meta(img, reads, extra={"step": step}))
            t1 = time.perf_counter()
            await cab.release(n + 1)
            await cab.read_status()
            await rt.call(rt.ledger.append, "bench.floor", {"n": 1}, actor="bench")
            floors.append(time.perf_counter() - t0)
            photo_work.append(t1 - t0)

        for i, lb in enumerate(labels):
            cam.show(lb)
            t0 = time.perf_counter()
            scan = await flows.scan(actor="clerk", step="check_in", expect=lb, background=True)
            await flows.check_in("clerk", scan)
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
    c = asyncio.run(bench_checkin(args.checkins))
    print(f"check-in, system time ({int(c['n'])} check-ins, poll 5 ms, simulated person "
          "with no human time):")
    print(f"  median {c['median'] * 1000:.1f} ms, p95 {c['p95'] * 1000:.1f} ms "
          f"(goal <= 300 ms: {'met' if c['p95'] <= 0.3 else 'NOT met'})")
    print(f"  camera, label read and photo store alone, done serially (part of the floor): "
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
