"""The running station: every part the step service and the daemon's tasks share.

:class:`Runtime` opens the ledger, the custody service, the photo store, the camera and the
label reader, the cabinet drivers and their poller, the MQTT outbox (and its publisher when
``[mqtt] enabled``), and the alarm desk. All ledger and custody work runs on ONE worker
thread (:meth:`Runtime.call`): the ledger has a single writer, and SQLite, OpenCV and
pyzbar must stay off the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from custody.alarms import is_alarm
from custody.ledger.ledger import Ledger
from custody.ports import Cabinet, CabinetEvent, Camera, Clock, PhotoRef, SystemClock
from custody.services import CustodyService
from locker_firmware_bridge.factory import build_cabinets
from locker_firmware_bridge.poller import Poller
from lockerd import settings as conv
from lockerd.alarms import DAEMON_ACTOR, AlarmDesk, AlarmRecord
from lockerd.config import StationConfig
from lockerd.mqtt import MqttNotifier, checkpoint_message, compartment_message, feed_ledger
from lockerd.outbox import OutboxPublisher, OutboxStore
from lockerd.tasklog import log_retry
from scanner.photostore import FilePhotoStore
from scanner.pipeline import LabelReader

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_camera(cfg: StationConfig, clock: Clock) -> Camera:
    """The configured camera; ``source = "sim"`` is the simulated camera of ``hw_sim``."""
    if cfg.camera.source == "sim":
        from hw_sim.camera_sim import SimulatedCamera, Trouble  # only the simulator needs it

        return SimulatedCamera(
            width=cfg.camera.width,
            height=cfg.camera.height,
            camera_id="sim-camera",
            trouble=Trouble.clean(),
            clock=clock,
        )
    from scanner.camera import open_camera

    return open_camera(
        cfg.camera.source,
        clock=clock,
        width=cfg.camera.width,
        height=cfg.camera.height,
        settle_s=cfg.camera.settle_ms / 1000.0,
        retries=cfg.camera.retries,
    )


def checkpoint_size(note: str) -> int:
    """The tree size of a checkpoint note (its second line)."""
    return int(note.splitlines()[1])


class Runtime:
    """An open station. Create with :meth:`open` (inside the event loop), end with
    :meth:`close`."""

    def __init__(self, cfg: StationConfig, clock: Clock) -> None:
        self.cfg = cfg
        self.clock = clock
        self.data_dir = Path(cfg.station.data_dir)
        self.topics = conv.topics(cfg)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="custody")
        self.ledger: Ledger
        self.custody: CustodyService
        self.photos = FilePhotoStore(self.data_dir)
        self.reader = LabelReader()
        self.camera: Camera
        self.cabinets: dict[str, Cabinet] = {}
        self.poller: Poller
        self.outbox = OutboxStore(self.data_dir / "outbox.db")
        self.publisher: OutboxPublisher | None = None
        self.notifier = MqttNotifier(self.outbox, self.topics, wake=self._wake_publisher)
        self.alarms = AlarmDesk(items_at=self._items_at)
        self._last_checkpoint_size = -1
        self._feed_event = asyncio.Event()

    @classmethod
    async def open(
        cls,
        cfg: StationConfig,
        *,
        clock: Clock | None = None,
        camera: Camera | None = None,
        cabinets: list[Cabinet] | None = None,
    ) -> Runtime:
        """Open everything the config names (the camera and cabinets can be injected)."""
        rt = cls(cfg, clock or SystemClock())
        try:
            await rt.call(rt._open_custody)
            rt.camera = camera if camera is not None else make_camera(cfg, rt.clock)
            built = cabinets if cabinets is not None else build_cabinets(
                conv.cabinet_settings(cfg)
            )
            rt.cabinets = {c.cabinet_id: c for c in built}
            rt.poller = Poller(
                built,
                rt.alarms.on_event,
                clock=rt.clock,
                period_s=cfg.station.poll_interval_ms / 1000.0,
                offline_after=cfg.station.offline_after_failures,
                door_open_alarm_s=float(cfg.terminal.door_close_timeout_s),
            )
            rt.alarms.state_hooks.append(rt._publish_compartment)
            if cfg.mqtt.enabled:
                rt.publisher = OutboxPublisher(rt.outbox, conv.broker_settings(cfg))
        except BaseException:
            await rt.close()
            raise
        return rt

    def _open_custody(self) -> None:
        self.ledger = Ledger.open(self.data_dir, clock=self.clock, check=True)
        self.custody = CustodyService(
            self.ledger,
            conv.directory(self.cfg),
            conv.rules_settings(self.cfg),
            notifier=self.notifier,
            clock=self.clock,
        )

    async def close(self) -> None:
        """Stop the publisher, close cabinets, the ledger and the outbox."""
        if self.publisher is not None:
            await asyncio.to_thread(self.publisher.stop)
        for cab in self.cabinets.values():
            try:
                await cab.close()
            except Exception:
                log.exception("closing cabinet %s", cab.cabinet_id)
        if hasattr(self, "ledger"):
            await self.call(self.ledger.close)
        self._pool.shutdown(wait=True)
        self.outbox.close()

    # ------------------------------------------------------------------ helpers

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking custody/ledger work on the single custody thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def _wake_publisher(self) -> None:
        if self.publisher is not None:
            self.publisher.wake()

    def _items_at(self, compartment: str) -> list[str]:
        # a copy taken in one C call (under the GIL) while the custody thread may fold on
        return sorted(self.custody.projection.compartments.get(compartment, ()))

    def _item_at(self, compartment: str) -> str | None:
        # the MQTT compartment state's "item" field (docs/mqtt.md): the labels, joined
        held = self._items_at(compartment)
        return ",".join(held) if held else None

    def ledger_changed(self) -> None:
        """New entries: feed them to the outbox soon."""
        self._feed_event.set()

    def feed_now(self) -> int:
        """(custody thread) Enqueue new ledger entries and a newer checkpoint."""
        fed = feed_ledger(self.outbox, self.ledger, self.topics)
        note = self.ledger.latest_checkpoint()
        if note is not None:
            size = checkpoint_size(note)
            if size != self._last_checkpoint_size:
                self.outbox.enqueue(checkpoint_message(self.topics, note, size))
                self._last_checkpoint_size = size
        if fed:
            self._wake_publisher()
        return fed

    async def feed(self) -> int:
        """Enqueue new ledger entries (on the custody thread)."""
        return await self.call(self.feed_now)

    async def record(self, kind: str, body: dict[str, Any], actor: str = DAEMON_ACTOR) -> int:
        """Append a lockerd entry (alarms, failed steps, lockouts, acknowledgements) through
        the one writer and feed it; returns its seq."""
        entry = await self.call(self.ledger.append, kind, body, actor=actor)
        self.ledger_changed()
        return entry.seq

    async def write_alarm(self, record: AlarmRecord) -> int:
        """The alarm desk's writer: alarms through the custody service (so its projection
        holds them at once), ``cabinet.online`` as a plain station entry."""
        if not is_alarm(record.kind):
            return await self.record(record.kind, record.body)
        alarm = await self.call(self.custody.raise_alarm, record.kind, actor=DAEMON_ACTOR,
                                **record.body)
        self.ledger_changed()
        return alarm.seq

    def _publish_compartment(self, ev: CabinetEvent) -> None:
        if ev.compartment is None:
            return
        status = self.poller.last_status(ev.cabinet_id)
        if status is None or ev.compartment >= len(status.compartments):
            return
        c = status.compartments[ev.compartment]
        where = f"{ev.cabinet_id}/{ev.compartment}"
        msg = compartment_message(
            self.topics,
            ev.cabinet_id,
            ev.compartment,
            door_closed=c.door_closed,
            occupied=c.occupied,
            locked=c.locked,
            ts=ev.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            item=self._item_at(where),
        )

        def enqueue() -> None:
            self.outbox.enqueue(msg)
            self._wake_publisher()

        # the durable write (an fsync) stays off the loop; the one custody thread keeps
        # the states of a compartment in order
        self._pool.submit(enqueue)

    async def feeder(self) -> None:
        """Task: feed the outbox whenever the ledger changed (and every second anyway)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._feed_event.wait(), 1.0)
            self._feed_event.clear()
            try:
                await self.feed()
            except Exception as exc:
                log_retry(log, "feeding the outbox from the ledger", exc)

    def store_photo(self, data: bytes, meta: dict[str, object]) -> PhotoRef:
        """(any thread) Put a photo in the content-addressed store."""
        return self.photos.put(data, meta)
