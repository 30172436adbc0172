"""Kiosk entries reach a real Mosquitto on the ``custody`` topic, in order: the kiosk writes
through the daemon's one writer, which feeds the MQTT outbox (a lockout, a handover, a
store step and an alarm acknowledged at the kiosk, over HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx

from lockerd.broker import MosquittoBroker
from tests.integration.conftest import Subscriber, distinct_in_order
from tests.integration.daemon_harness import running_station
from tests.integration.test_one_write_path import F1, F2, REASON, register, signed_in

BASE = "locker/t1"


def test_kiosk_entries_reach_mosquitto_in_order(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    live = mqtt_subscriber(mosquitto.port, [f"{BASE}/custody"])
    written: list[tuple[int, str]] = []

    async def main() -> None:
        async with running_station(tmp_path, api=True, mqtt_port=mosquitto.port) as h:
            await register(h)
            assert h.daemon.api_url is not None
            async with httpx.AsyncClient(base_url=h.daemon.api_url + "/terminal",
                                         timeout=60) as stranger:
                for pin in ("0000", "0001", "0002"):  # three wrong PINs: the badge locks
                    refused = await stranger.post("/api/signin",
                                                  json={"badge": "B-2", "pin": pin})
                    assert refused.status_code == 403
            clerk = await signed_in(h, "B-9")
            try:
                await clerk.ok("/api/handover/K-EQ/scan", text=F1)
                await clerk.ok("/api/handover/K-EQ/scan", text=F2)
                checklist = dict.fromkeys(h.rt.custody.settings.lawfulness_checklist, True)
                await clerk.ok("/api/handover/K-EQ/commit", checklist=checklist,
                               reason=REASON)
                assert (await clerk.step("/api/store/K-EQ/open")).status_code == 200
                lockout = next(e for e in h.rt.ledger.entries()
                               if e.kind == "alarm.pin_lockout")
                await clerk.ok(f"/api/alarms/{lockout.seq}/ack")
            finally:
                await clerk.client.aclose()
            written.extend((e.seq, e.kind) for e in h.rt.ledger.entries())
            # the entries are on the wire while the daemon still runs (not only at its
            # final feed on the way down)
            assert await asyncio.to_thread(live.wait_for, lambda: len(
                {json.loads(p)["seq"] for p in live.payloads(f"{BASE}/custody")})
                == len(written))

    asyncio.run(main())
    kinds = [k for _, k in written]
    for kind in ("alarm.pin_lockout", "case.handed_over", "item.stored",
                 "alarm.acknowledged"):
        assert kind in kinds
    messages = [json.loads(p) for p in live.payloads(f"{BASE}/custody")]
    assert distinct_in_order([m["seq"] for m in messages]) == [s for s, _ in written]
    by_seq = {m["seq"]: m for m in messages}
    assert [by_seq[s]["kind"] for s, _ in written] == kinds
