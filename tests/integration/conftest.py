"""Integration fixtures: a REAL Mosquitto broker on a free port, and MQTT subscribers.

``mosquitto`` starts ``/usr/sbin/mosquitto`` with a generated config (persistence on) in a
tmp folder; the test can ``stop()``, ``start()`` or ``restart()`` it on the same port.
``mqtt_subscriber`` makes paho subscribers with a persistent session (clean_session=False,
QoS 1) that reconnect by themselves, so a broker restart loses nothing queued for them.
``context`` and ``page``: the kiosk browser tests' browser (one per test module) and its tab.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from lockerd.broker import MosquittoBroker

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page


# How long a test lets Mosquitto take to listen (MosquittoBroker.start's default is 10 s):
# it is up in a blink, but a loaded machine may be slow to start a process.
BROKER_START_S = 30.0


@pytest.fixture()
def mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """A running Mosquitto on 127.0.0.1:<free port>, stopped at the end of the test."""
    broker = MosquittoBroker(tmp_path / "mosquitto")
    broker.start(BROKER_START_S)
    try:
        yield broker
    finally:
        broker.stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Whether ``predicate()`` comes true within ``timeout`` seconds (checked every 20 ms),
    for what another thread or process does in its own time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Subscriber:
    """Collects (topic, payload, retain) of every message on its topic filters."""

    def __init__(self, port: int, topics: list[str], persistent: bool = True) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.topics = topics
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"test-sub-{uuid.uuid4().hex[:8]}",
            clean_session=not persistent,
            protocol=mqtt.MQTTv311,
        )
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self._subscribed.wait(30):
            raise RuntimeError("subscriber never subscribed")

    def _on_connect(self, c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        c.subscribe([(t, 1) for t in self.topics])

    def _on_subscribe(self, c: Any, u: Any, mid: int, codes: Any, props: Any) -> None:
        self._subscribed.set()

    def _on_message(self, c: Any, u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def payloads(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        return wait_until(predicate, timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture()
def mqtt_subscriber() -> Iterator[Callable[..., Subscriber]]:
    """A factory of subscribers, all closed at the end of the test."""
    made: list[Subscriber] = []

    def make(port: int, topics: list[str], persistent: bool = True) -> Subscriber:
        sub = Subscriber(port, topics, persistent)
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.close()


def distinct_in_order(seqs: list[int]) -> list[int]:
    """Arrival order with QoS-1 repeats dropped: a repeat is a seq already seen."""
    seen: set[int] = set()
    out: list[int] = []
    for s in seqs:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


@pytest.fixture(scope="module")
def context() -> Iterator[BrowserContext]:
    """One browser (Debian's Chromium, fresh profile) for all of a test module's tests."""
    # imported here so only the browser tests load Playwright
    from tests.integration.test_terminal_support import browser

    with browser() as ctx:
        yield ctx


@pytest.fixture(scope="module")
def page(context: BrowserContext) -> Page:
    """A tab in the module's browser."""
    return context.new_page()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One real PostgreSQL for the whole session (the district's tests), on a free port in
    a temporary folder (district/pgserver.py; as the postgres user when run as root)."""
    from district.pgserver import PgServer
    from lockerd.broker import free_port

    server = PgServer(free_port()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def district_dsn(pg_server: Any) -> str:
    """A fresh database with the district schema, in the session's PostgreSQL."""
    from district.db import create_schema

    dsn: str = pg_server.create_database(f"district_{uuid.uuid4().hex[:12]}")
    create_schema(dsn)
    return dsn
