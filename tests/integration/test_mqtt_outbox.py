"""The durable outbox against a real Mosquitto: order, acknowledgement, broker restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

from custody.ports import Notice
from lockerd.broker import MosquittoBroker
from lockerd.mqtt import MqttNotifier, Topics
from lockerd.outbox import BrokerSettings, OutboxPublisher, OutboxStore, OutMessage
from tests.integration.conftest import BROKER_START_S, Subscriber, distinct_in_order

TOPICS = Topics("st1")


def _publisher(store: OutboxStore, broker: MosquittoBroker, cid: str = "st1") -> OutboxPublisher:
    pub = OutboxPublisher(
        store,
        BrokerSettings(
            "127.0.0.1", broker.port, client_id=cid, status_topic=TOPICS.status, window=20
        ),
    )
    pub.start()
    return pub


def _msg(seq: int) -> OutMessage:
    return OutMessage(TOPICS.custody, json.dumps({"seq": seq}).encode(), dedupe=f"c:{seq}")


def _seqs(sub: Subscriber) -> list[int]:
    return [json.loads(p)["seq"] for p in sub.payloads(TOPICS.custody)]


def test_every_message_arrives_in_order_and_is_marked_sent(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    sub = mqtt_subscriber(mosquitto.port, [TOPICS.custody])
    store = OutboxStore(tmp_path / "outbox.db")
    store.enqueue_many([_msg(i) for i in range(300)])
    assert store.counts() == (300, 0)
    pub = _publisher(store, mosquitto)
    try:
        assert pub.wait_drained(30)
        assert sub.wait_for(lambda: len(set(_seqs(sub))) == 300)
        assert distinct_in_order(_seqs(sub)) == list(range(300))
        assert store.counts() == (0, 300)
    finally:
        pub.stop()
        store.close()


def test_broker_restart_in_a_busy_minute_loses_and_reorders_nothing(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    total = 800
    sub = mqtt_subscriber(mosquitto.port, [TOPICS.custody])
    store = OutboxStore(tmp_path / "outbox.db")
    pub = _publisher(store, mosquitto)
    produced = threading.Event()
    broker_down = threading.Event()

    def produce() -> None:
        for i in range(total):
            if i == total // 2:  # the second half goes in during the outage, whatever the pace
                broker_down.wait(60)
            store.enqueue(_msg(i))
            pub.wake()
            if i % 50 == 0:
                time.sleep(0.01)
        produced.set()

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        # stop the broker while messages are flowing and more are being enqueued
        assert sub.wait_for(lambda: len(_seqs(sub)) >= 200)
        mosquitto.stop()
        sessions = pub.sessions
        broker_down.set()
        time.sleep(0.3)  # an outage, with the producer still enqueuing
        # nothing can be acknowledged while the broker is down
        assert sub.wait_for(lambda: store.counts()[0] > 0)
        mosquitto.start(BROKER_START_S)
        producer.join(60)
        assert produced.is_set()
        assert pub.wait_drained(60)
        assert sub.wait_for(lambda: len(set(_seqs(sub))) == total, timeout=60)
        assert pub.sessions > sessions  # it really reconnected
        arrived = _seqs(sub)
        assert distinct_in_order(arrived) == list(range(total))  # none lost, none reordered
        assert store.counts() == (0, total)
    finally:
        broker_down.set()  # a failed wait above must not leave the producer waiting
        producer.join(60)
        pub.stop()
        store.close()


def test_outbox_keeps_messages_while_no_broker_and_across_processes(
    tmp_path: Path, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    broker = MosquittoBroker(tmp_path / "mosq")  # configured but not started yet
    store = OutboxStore(tmp_path / "outbox.db")
    pub = _publisher(store, broker)
    store.enqueue_many([_msg(i) for i in range(50)])
    pub.wake()
    time.sleep(0.2)
    assert store.counts() == (50, 0)  # no broker: nothing marked sent
    pub.stop()
    store.close()
    broker.start(BROKER_START_S)
    try:
        sub = mqtt_subscriber(broker.port, [TOPICS.custody])
        store2 = OutboxStore(tmp_path / "outbox.db")  # a restarted daemon
        pub2 = _publisher(store2, broker)
        try:
            assert pub2.wait_drained(30)
            assert sub.wait_for(lambda: len(set(_seqs(sub))) == 50)
            assert distinct_in_order(_seqs(sub)) == list(range(50))
        finally:
            pub2.stop()
            store2.close()
    finally:
        broker.stop()


def test_status_retained_online_then_offline_on_clean_stop(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    store = OutboxStore(tmp_path / "outbox.db")
    pub = _publisher(store, mosquitto)
    assert pub.wait_online(30)
    first = mqtt_subscriber(mosquitto.port, [TOPICS.status], persistent=False)
    assert first.wait_for(lambda: first.payloads(TOPICS.status) == [b"online"])
    assert first.messages[0][2] is True  # retained
    pub.stop()
    store.close()
    later = mqtt_subscriber(mosquitto.port, [TOPICS.status], persistent=False)
    assert later.wait_for(lambda: later.payloads(TOPICS.status) == [b"offline"])


def test_last_will_offline_when_the_daemon_is_killed(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from lockerd.outbox import BrokerSettings, OutboxPublisher, OutboxStore
        store = OutboxStore(Path({str(tmp_path / "outbox.db")!r}))
        pub = OutboxPublisher(store, BrokerSettings("127.0.0.1", {mosquitto.port},
                              client_id="st1", status_topic={TOPICS.status!r}))
        pub.start()
        while not pub.connected:
            time.sleep(0.02)
        print("up", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "up"
        sub = mqtt_subscriber(mosquitto.port, [TOPICS.status], persistent=False)
        assert sub.wait_for(lambda: b"online" in sub.payloads(TOPICS.status))
        os.kill(proc.pid, signal.SIGKILL)
        assert sub.wait_for(lambda: sub.payloads(TOPICS.status)[-1:] == [b"offline"])
    finally:
        proc.kill()
        proc.wait()


def test_notifier_goes_through_outbox_once_per_key(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    topic = TOPICS.notify("officer", "off1")
    sub = mqtt_subscriber(mosquitto.port, [f"{TOPICS.base}/notify/+/+"])
    store = OutboxStore(tmp_path / "outbox.db")
    pub = _publisher(store, mosquitto)
    notifier = MqttNotifier(store, TOPICS, wake=pub.wake)
    notice = Notice("return:F1:step1", "officer", "off1", "File overdue", "Return file F1")
    try:
        notifier.send(notice)
        notifier.send(notice)  # a restarted rules engine re-sending: not delivered twice
        assert pub.wait_drained(30)
        assert sub.wait_for(lambda: len(sub.payloads(topic)) >= 1)
        time.sleep(0.2)
        got = [json.loads(p) for p in sub.payloads(topic)]
        assert [g["key"] for g in got] == ["return:F1:step1"]
        assert got[0]["subject"] == "File overdue"
    finally:
        pub.stop()
        store.close()
