"""Ledger entries to MQTT: every custody entry, in seq order, across a broker restart."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from custody.ledger.ledger import Ledger
from custody.ledger.station import init_station
from lockerd.broker import MosquittoBroker
from lockerd.mqtt import Topics, feed_ledger
from lockerd.outbox import BrokerSettings, OutboxPublisher, OutboxStore
from tests.integration.conftest import BROKER_START_S, Subscriber, distinct_in_order

TOPICS = Topics("st-ledger")


def _start(store: OutboxStore, port: int) -> OutboxPublisher:
    pub = OutboxPublisher(
        store,
        BrokerSettings(
            "127.0.0.1", port, client_id="st-ledger", status_topic=TOPICS.status, window=50
        ),
    )
    pub.start()
    return pub


def _custody(sub: Subscriber) -> list[dict[str, object]]:
    return [json.loads(p) for p in sub.payloads(TOPICS.custody)]


def test_subscriber_gets_every_entry_with_its_leaf_hash_in_seq_order(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    paths = init_station(tmp_path / "st", "test.example/st")
    sub = mqtt_subscriber(mosquitto.port, [TOPICS.custody, TOPICS.alarm])
    store = OutboxStore(paths.root / "outbox.db")
    pub = _start(store, mosquitto.port)
    try:
        with Ledger.open(paths.root) as ledger:
            for i in range(40):
                kind = "alarm.door_forced" if i == 17 else "test.event"
                ledger.append(kind, {"n": i}, actor="tester")
                if i % 7 == 0:
                    feed_ledger(store, ledger, TOPICS)
                    pub.wake()
            feed_ledger(store, ledger, TOPICS)
            assert feed_ledger(store, ledger, TOPICS) == 0  # nothing fed twice
            pub.wake()
            assert sub.wait_for(lambda: len({m["seq"] for m in _custody(sub)}) == 40)
            got = _custody(sub)
            assert distinct_in_order([int(str(m["seq"])) for m in got]) == list(range(40))
            by_seq = {int(str(m["seq"])): m for m in got}
            for entry in ledger.entries():
                m = by_seq[entry.seq]
                assert base64.b64decode(str(m["leaf_hash"])) == entry.leaf_hash
                assert base64.b64decode(str(m["raw"])) == entry.raw
            alarms = [json.loads(p) for p in sub.payloads(TOPICS.alarm)]
            assert [a["seq"] for a in alarms] == [17]
    finally:
        pub.stop()
        store.close()


def test_broker_stopped_in_a_busy_minute_subscriber_still_gets_every_entry(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    total = 600
    paths = init_station(tmp_path / "st", "test.example/st")
    sub = mqtt_subscriber(mosquitto.port, [TOPICS.custody])
    store = OutboxStore(paths.root / "outbox.db")
    pub = _start(store, mosquitto.port)
    ledger = Ledger.open(paths.root)
    done = threading.Event()

    def busy() -> None:  # custody entries arriving all through the outage
        for i in range(total):
            ledger.append("test.event", {"n": i}, actor="tester")
            feed_ledger(store, ledger, TOPICS)
            pub.wake()
        done.set()

    writer = threading.Thread(target=busy)
    writer.start()
    try:
        assert sub.wait_for(lambda: len(_custody(sub)) >= 50)
        mosquitto.stop()
        sessions = pub.sessions
        time.sleep(0.5)
        mosquitto.start(BROKER_START_S)
        writer.join(120)
        assert done.is_set()
        assert pub.wait_drained(60)
        assert sub.wait_for(lambda: len({m["seq"] for m in _custody(sub)}) == total, 60)
        assert pub.sessions > sessions
        seqs = [int(str(m["seq"])) for m in _custody(sub)]
        assert distinct_in_order(seqs) == list(range(total))
    finally:
        writer.join(120)
        pub.stop()
        store.close()
        ledger.close()
