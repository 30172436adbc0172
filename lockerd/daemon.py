"""The edge daemon: the station's tasks, started and stopped together.

Tasks on one asyncio loop:

- ``poller``: the bridge's :meth:`~locker_firmware_bridge.poller.Poller.run` reads every
  cabinet, events to the alarm desk (:mod:`lockerd.alarms`);
- ``alarms``: writes alarm entries for events no flow explains;
- ``feeder``: feeds new ledger entries (and the latest checkpoint) to the MQTT outbox;
- ``rules``: the custody rules tick (deadline ladders, notices) every ``rules_tick_seconds``;
- ``checkpoints``: signs a checkpoint when one is due (``[ledger]`` every N entries / T s);
- ``cosign``: submits each new checkpoint to the ``[[witness]]`` list and keeps their
  cosignatures (:mod:`witness.station`; only when witnesses are configured);
- ``outbox-prune``: hourly, drops acknowledged outbox rows beyond the newest 100,000;
- ``log-publish``: brings ``DATA/tiles/`` up to date after each checkpoint
  (:mod:`lockerd.logpublish`);
- ``sms`` and ``sms-status`` (``[sms] backend`` set): notices out as SMS
  (:mod:`lockerd.sms`, docs/notify.md), and the modem's signal and registration in
  ``/v1/health`` and on the retained MQTT topic ``status/sms``;
- ``api``: the read API under uvicorn (``[api] enabled``), with the kiosk screens of the
  ``terminal`` package under ``/terminal/`` (``[terminal] kiosk``);
- the MQTT outbox publisher runs in its own thread (``[mqtt] enabled``).

Blocking work (SQLite, camera, barcode reading) runs off the loop. A task that dies takes
the daemon down with it (logged), rather than leaving a station half-alive. SIGTERM and
SIGINT stop everything cleanly: tasks cancelled, the outbox flushed as far as the broker
allows, ``offline`` published, the ledger closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from datetime import datetime
from typing import Any

import uvicorn
from fastapi import FastAPI

from custody.ports import Cabinet, Camera, Clock
from lockerd import settings as conv
from lockerd.clockfaults import clock_check
from lockerd.config import StationConfig
from lockerd.exitcodes import FAILED
from lockerd.logpublish import run_log_publisher
from lockerd.runtime import Runtime
from lockerd.sms import build_sms, publish_sms_status
from lockerd.steps import StepService
from lockerd.tasklog import log_retry
from notify.service import SmsService
from witness.station import CosignTask

log = logging.getLogger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class LiveCabinets:
    """The API's view of the cabinets (``api.cabinets.CabinetStateSource``)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._read_at: dict[str, datetime] = {}

    def snapshot(self) -> Sequence[Any]:
        from api.cabinets import LiveCabinet

        out = []
        for cab in self.rt.cabinets:
            status = self.rt.poller.last_status(cab)
            out.append(
                LiveCabinet(
                    cabinet_id=cab,
                    online=self.rt.poller.is_online(cab),
                    status=status,
                    read_at=self.rt.clock.now() if status is not None else None,
                )
            )
        return out


class Daemon:
    """The station daemon. ``await start()``, then ``await stop()`` (or
    :meth:`run_until_signal`)."""

    def __init__(
        self,
        cfg: StationConfig,
        *,
        clock: Clock | None = None,
        camera: Camera | None = None,
        cabinets: list[Cabinet] | None = None,
        api: bool | None = None,
    ) -> None:
        self.cfg = cfg
        self._clock = clock
        self._camera = camera
        self._cabinets = cabinets
        self._api_enabled = cfg.api.enabled if api is None else api
        self.rt: Runtime
        self.steps: StepService  # the one write path of the kiosk, the console, the demo
        self._tasks: list[asyncio.Task[None]] = []
        self._server: _EmbeddedServer | None = None
        self.sms: SmsService | None = None
        self.api_url: str | None = None
        self.kiosk_path: str | None = None
        self.failed = asyncio.Event()  # set when a task died: the daemon must stop
        self._stopping = False

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Open the station and start every task."""
        self.rt = await Runtime.open(
            self.cfg, clock=self._clock, camera=self._camera, cabinets=self._cabinets
        )
        self.steps = StepService(self.rt)
        rt = self.rt
        self._clock_check = clock_check(rt, self.cfg.station.clock_jump_alarm_s)
        await rt.feed()  # catch up: entries written before a crash are not lost to MQTT
        if rt.publisher is not None:
            rt.publisher.start()
        if rt.cabinets:  # (Poller.run returns at once without cabinets)
            self._spawn("poller", rt.poller.run())
        self._spawn("alarms", rt.alarms.run(rt.write_alarm))
        self._spawn("feeder", rt.feeder())
        self._spawn("rules", self._every(self.cfg.station.rules_tick_seconds, self.rules_tick))
        self._spawn(
            "checkpoints", self._every(self.cfg.station.checkpoint_tick_seconds, self._checkpoint)
        )
        self._spawn("outbox-prune", self._every(3600, self._prune))
        self._spawn("log-publish", run_log_publisher(rt.data_dir))
        self.cosign = CosignTask(rt.data_dir, conv.cosign_settings(self.cfg), rt.record,
                                 clock=rt.clock)
        if self.cfg.witness:
            self._spawn("cosign", self.cosign.run())
        self.sms = build_sms(rt)  # None unless [sms] backend is set
        if self.sms is not None:
            self._spawn("sms", self.sms.run())
            self._spawn("sms-status", self._every(self.cfg.sms.status_every_s,
                                                  lambda: publish_sms_status(rt, self.sms)))
        if self._api_enabled:
            await self._start_api()
        log.info("lockerd started: station %s, %d cabinet(s), api %s, mqtt %s",
                 self.cfg.station.station_id, len(rt.cabinets), self.api_url or "off",
                 "on" if rt.publisher else "off")

    async def stop(self) -> None:
        """Stop every task, flush what can be flushed, close the station."""
        self._stopping = True
        if self._server is not None:
            self._server.should_exit = True
            for task in [t for t in self._tasks if t.get_name() == "api"]:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(task), 5.0)
        # the poller first, then let the alarms it raised reach the ledger
        pollers = [t for t in self._tasks if t.get_name() == "poller"]
        for task in pollers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = [t for t in self._tasks if t not in pollers]
        if hasattr(self, "rt") and any(t.get_name() == "alarms" for t in self._tasks):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.rt.alarms.drain(), 5.0)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if hasattr(self, "steps"):
            await self.steps.close()
        if hasattr(self, "rt"):
            try:
                await self.rt.feed()
            except Exception:
                log.exception("final outbox feed failed")
            await self.rt.close()
        log.info("lockerd stopped")

    async def run_until_signal(self) -> int:
        """Start, serve until SIGTERM/SIGINT (or a task failure), stop. Exit code."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(self.failed.wait())]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
        finally:
            await self.stop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        return FAILED if self.failed.is_set() else 0  # docs/reliability.md

    # ------------------------------------------------------------------ tasks

    def _spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stopping:
            return
        exc = task.exception()
        if exc is not None:
            log.error("task %s died: %r", task.get_name(), exc, exc_info=exc)
        else:
            log.error("task %s ended unexpectedly", task.get_name())
        self.failed.set()

    async def _every(self, seconds: float, fn: Callable[[], Awaitable[object]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await fn()
            except Exception as exc:
                log_retry(log, f"periodic task {getattr(fn, '__name__', fn)}", exc)

    async def rules_tick(self) -> int:
        """One rules tick now; returns how many notices went out."""
        jumped = await self.rt.call(self._clock_check)  # a clock jump is recorded first
        sent = await self.rt.call(self.rt.custody.tick)
        if sent or jumped:
            self.rt.ledger_changed()
        return len(sent)

    async def _prune(self) -> None:
        """Keep the outbox from growing without end: old acknowledged rows go."""
        removed = await asyncio.to_thread(self.rt.outbox.prune, 100_000)
        if removed:
            log.info("outbox: pruned %d acknowledged messages", removed)

    async def _checkpoint(self) -> None:
        note = await self.rt.call(self.rt.ledger.maybe_checkpoint)
        if note is not None:
            self.rt.ledger_changed()
            self.cosign.wake()

    def _mount_kiosk(self, app: FastAPI) -> None:
        """Serve the kiosk (package ``terminal``) under ``/terminal`` on the API's server,
        handed the step service and its other parts (:func:`lockerd.kiosk.terminal_station`).
        A kiosk that cannot start is logged; the station goes on without it."""
        try:
            from lockerd.kiosk import terminal_station
            from terminal.mount import mount_terminal

            sms = self.sms.last_status if self.sms is not None else None
            mount_terminal(app, terminal_station(self.rt, self.steps, sms))
            self.kiosk_path = "/terminal/"
        except Exception:
            log.exception("the kiosk could not be mounted; serving the API without it")

    async def _start_api(self) -> None:
        from api.app import create_app
        from lockerd.report_setup import RuntimeRecorder, report_setup

        app = create_app(
            self.rt.data_dir,
            cabinet_state=LiveCabinets(self.rt),
            clock=self.rt.clock,
            rules=conv.rules_settings(self.cfg),
            report_setup=report_setup(self.cfg),
            report_recorder=RuntimeRecorder(self.rt),
        )
        if self.cfg.terminal.kiosk:
            self._mount_kiosk(app)
        if self.sms is not None:
            app.state.sms_status = self.sms.last_status  # /v1/health shows it
            if self.cfg.sms.callback_token:
                from notify.callback import callback_router

                app.include_router(callback_router(self.cfg.sms.callback_token,
                                                   self.sms.take_report))
        config = uvicorn.Config(
            app,
            host=self.cfg.api.host,
            port=self.cfg.api.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
        server = _EmbeddedServer(config)
        self._server = server
        self._spawn("api", server.serve())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not server.started:
            if self.failed.is_set() or loop.time() > deadline:
                raise RuntimeError("the API server did not start")
            await asyncio.sleep(0.02)
        sock = server.servers[0].sockets[0].getsockname()
        self.api_url = f"http://{sock[0]}:{sock[1]}"
