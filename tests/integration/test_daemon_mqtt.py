"""The daemon's MQTT topics against a real Mosquitto: custody entries in seq order, the
retained compartment states, checkpoint and status, alarms and notices."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from lockerd.broker import MosquittoBroker
from lockerd.steps_cabinet import split_where
from tests.integration.conftest import Subscriber, distinct_in_order
from tests.integration.daemon_harness import Harness, running_station

BASE = "locker/t1"


def test_daemon_publishes_every_topic(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    live = mqtt_subscriber(mosquitto.port, [f"{BASE}/custody", f"{BASE}/alarm",
                                            f"{BASE}/cabinet/+/compartment/+"])
    size = 0
    where = ""
    signed = ""

    async def body(h: Harness) -> None:
        nonlocal size, where, signed
        await h.register_and_hand_over("M-1", "off1", [41], kind="exhibit")
        step = await h.store("clerk", "M-1")
        where = step.compartment
        cab, idx = split_where(where)
        state_topic = f"{BASE}/cabinet/{cab}/compartment/{idx}"

        def stored() -> bool:  # the check-in's last state: door shut on the item
            states = [json.loads(p) for p in live.payloads(state_topic)]
            return bool(states) and states[-1]["door"] == "closed" and states[-1]["occupied"]

        assert await asyncio.to_thread(live.wait_for, stored)
        before = len(live.payloads(state_topic))
        h.sim.world.force_door(1, idx)  # an alarm, on `alarm` too
        # shut it once the poller has seen it open (its tamper judged in that same turn),
        # not after a fixed time: a slow poll must not miss the opening altogether
        await h.polled(cab, idx, door_closed=False)
        h.sim.world.close_door(1, idx)
        await h.until("alarm.door_forced in the ledger", lambda: "alarm.door_forced" in h.kinds())

        # the poller sees the door open and shut in its own time: wait for both states on
        # the wire before stopping the daemon, or the retained state may still say "open"
        def opened_then_shut() -> bool:
            doors = [json.loads(p)["door"] for p in live.payloads(state_topic)[before:]]
            return "open" in doors and doors[-1] == "closed"

        assert await asyncio.to_thread(live.wait_for, opened_then_shut)
        signed = await h.rt.call(h.rt.ledger.checkpoint)
        await h.rt.feed()
        size = h.rt.ledger.size
        assert h.rt.publisher is not None
        assert await asyncio.to_thread(h.rt.publisher.wait_drained, 30)

    asyncio.run(_run(tmp_path, mosquitto.port, body))
    assert live.wait_for(lambda: len({json.loads(p)["seq"] for p in
                                      live.payloads(f"{BASE}/custody")}) == size)
    seqs = [json.loads(p)["seq"] for p in live.payloads(f"{BASE}/custody")]
    assert distinct_in_order(seqs) == list(range(size))
    # the alarm's own message follows its custody message: it may still be on its way
    assert live.wait_for(lambda: bool(live.payloads(f"{BASE}/alarm")))
    alarms = [json.loads(p) for p in live.payloads(f"{BASE}/alarm")]
    assert [a["kind"] for a in alarms] == ["alarm.door_forced"]

    late = mqtt_subscriber(mosquitto.port, [f"{BASE}/#"], persistent=False)  # retained only
    cab, idx = split_where(where)
    topic = f"{BASE}/cabinet/{cab}/compartment/{idx}"
    assert late.wait_for(lambda: bool(late.payloads(topic))
                         and bool(late.payloads(f"{BASE}/checkpoint"))
                         and bool(late.payloads(f"{BASE}/status")))
    state = json.loads(late.payloads(topic)[-1])
    assert state["door"] == "closed" and state["occupied"] is True and state["item"]
    assert late.payloads(f"{BASE}/checkpoint")[-1].decode() == signed  # the latest one
    assert late.payloads(f"{BASE}/status")[-1] == b"offline"  # the daemon has stopped
    assert all(retained for _, _, retained in late.messages)


async def _run(
    tmp_path: Path, port: int, body: Callable[[Harness], Awaitable[None]]
) -> None:
    async with running_station(tmp_path, mqtt_port=port) as h:
        await body(h)
