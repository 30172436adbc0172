"""The poller's state machine, driven through the in-memory fake cabinet (no wire)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import pytest

from custody.ports import CabinetEvent, CabinetEventKind, CabinetStatus
from custody.testing import FakeClock
from hw_sim.cabinet_world import ManualTime, World
from hw_sim.fake_cabinet import FakeCabinet
from locker_firmware_bridge.errors import CabinetConfigError, CabinetOfflineError
from locker_firmware_bridge.poller import Poller

K = CabinetEventKind


START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)  # the custody clock, moved only by hand


def setup(**kw: Any) -> tuple[World, ManualTime, FakeClock, Poller, list[CabinetEvent]]:
    t = ManualTime()
    world = World(2, 4, now=t)
    clock = FakeClock(START)
    sink: list[CabinetEvent] = []

    async def collect(ev: CabinetEvent) -> None:
        sink.append(ev)

    poller = Poller(
        [FakeCabinet(world, 1, "A"), FakeCabinet(world, 2, "B")], collect, clock=clock, **kw
    )
    return world, t, clock, poller, sink


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


def ks(events: list[CabinetEvent]) -> list[tuple[CabinetEventKind, int | None]]:
    return [(e.kind, e.compartment) for e in events]


def test_full_custody_cycle_events_in_order() -> None:
    async def main() -> None:
        world, t, clock, poller, sink = setup()
        assert await poller.poll_all() == []  # baseline: no events
        poller.expect_open("A", 1)
        world.release(1, 1)
        assert ks(await poller.poll_once("A")) == [(K.LOCK_RELEASED, 1)]
        world.open_door(1, 1)
        world.put_item(1, 1)
        clock.advance(3)
        events = await poller.poll_once("A")
        assert ks(events) == [(K.DOOR_OPENED, 1), (K.ITEM_PLACED, 1)]
        assert all(e.at == clock.now() and e.cabinet_id == "A" for e in events)
        t.advance(1)
        world.close_door(1, 1)
        assert ks(await poller.poll_once("A")) == [(K.DOOR_CLOSED, 1), (K.LOCK_ENGAGED, 1)]
        # the expectation was used up: a second opening is a tamper
        world.force_door(1, 1)
        world.take_item(1, 1)
        assert ks(await poller.poll_once("A")) == [
            (K.DOOR_OPENED, 1),
            (K.TAMPER, 1),
            (K.ITEM_REMOVED, 1),
        ]
        assert [e.kind for e in sink].count(K.DOOR_OPENED) == 2

    run(main)


def test_queue_sink_receives_events() -> None:
    async def main() -> None:
        world = World(1, 2)
        q: asyncio.Queue[CabinetEvent] = asyncio.Queue()
        poller = Poller([FakeCabinet(world, 1)], q, clock=FakeClock(START))
        await poller.poll_once("1")
        world.force_door(1, 0)
        await poller.poll_once("1")
        assert [q.get_nowait().kind, q.get_nowait().kind] == [K.DOOR_OPENED, K.TAMPER]
        assert q.empty()

    run(main)


def test_edge_seen_before_counted_is_not_missed() -> None:
    async def main() -> None:
        world, _t, _clock, poller, _sink = setup()
        await poller.poll_once("A")
        cab = world.cabinet(1)
        # the door changes after the driver read the counter but before it read the doors
        cab.comp(2).door_closed = False
        events = await poller.poll_once("A")
        assert ks(events) == [(K.DOOR_OPENED, 2), (K.TAMPER, 2)]
        cab.door_counter += 1  # ... and is counted by the next read
        assert await poller.poll_once("A") == []
        # a later, really missed pair is still reported
        world.slam(1, 3)
        assert ks(await poller.poll_once("A")) == [(K.MISSED_EDGE, None)]

    run(main)


def test_counter_wraps_at_16_bits() -> None:
    async def main() -> None:
        world, _t, _clock, poller, _sink = setup()
        world.cabinet(1).door_counter = 65535
        await poller.poll_once("A")
        world.force_door(1, 0)  # counter wraps to 0
        assert ks(await poller.poll_once("A")) == [(K.DOOR_OPENED, 0), (K.TAMPER, 0)]
        assert world.cabinet(1).door_counter == 0

    run(main)


def test_changes_during_an_outage_are_reported_on_recovery() -> None:
    async def main() -> None:
        world, _t, _clock, poller, _sink = setup(offline_after=2)
        await poller.poll_once("B")
        world.drop_unit(2)
        assert await poller.poll_once("B") == []
        assert ks(await poller.poll_once("B")) == [(K.OFFLINE, None)]
        world.force_door(2, 3)
        world.slam(2, 0)
        world.restore_unit(2)
        events = await poller.poll_once("B")
        assert ks(events) == [
            (K.ONLINE, None),
            (K.DOOR_OPENED, 3),
            (K.TAMPER, 3),
            (K.MISSED_EDGE, None),
        ]

    run(main)


def test_failure_logs_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        world, _t, clock, poller, _sink = setup(log_interval_s=60)
        world.drop_unit(1)
        for _ in range(10):
            await poller.poll_once("A")
            clock.advance(1)
        clock.advance(60)
        await poller.poll_once("A")

    with caplog.at_level(logging.WARNING, logger="locker_firmware_bridge.poller"):
        run(main)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "9 more failures not logged" in lines[1]


def test_bad_configuration_is_refused() -> None:
    world = World(1, 1)
    q: asyncio.Queue[CabinetEvent] = asyncio.Queue()
    with pytest.raises(CabinetConfigError, match="duplicate"):
        Poller([FakeCabinet(world, 1, "X"), FakeCabinet(world, 1, "X")], q)
    with pytest.raises(CabinetConfigError):
        Poller([FakeCabinet(world, 1)], q, period_s=0)
    poller = Poller([FakeCabinet(world, 1)], q)
    with pytest.raises(CabinetConfigError, match="no cabinet"):
        poller.expect_open("nope", 0)


def test_counter_going_back_is_a_restart_not_thousands_of_missed_edges() -> None:
    async def main() -> None:
        world, _t, _clock, poller, _sink = setup()
        world.cabinet(1).door_counter = 500
        await poller.poll_once("A")
        world.cabinet(1).door_counter = 0  # the controller rebooted
        events = await poller.poll_once("A")
        assert ks(events) == [(K.MISSED_EDGE, None)]
        assert "went back from 500 to 0" in events[0].detail
        world.force_door(1, 1)
        assert ks(await poller.poll_once("A")) == [(K.DOOR_OPENED, 1), (K.TAMPER, 1)]

    run(main)


class _BuggyDriver(FakeCabinet):
    """A driver with a bug: it raises something that is not a LockerError."""

    async def read_status(self) -> CabinetStatus:
        raise KeyError("register 7")


def test_unexpected_driver_exception_counts_as_a_failed_poll() -> None:
    async def main() -> None:
        world = World(1, 2)
        q: asyncio.Queue[CabinetEvent] = asyncio.Queue()
        poller = Poller([_BuggyDriver(world, 1)], q, clock=FakeClock(START), offline_after=2)
        assert await poller.poll_once("1") == []
        assert ks(await poller.poll_once("1")) == [(K.OFFLINE, None)]
        assert "register 7" in q.get_nowait().detail

    run(main)


def test_release_through_the_poller_is_not_tamper_and_a_failed_one_is_withdrawn() -> None:
    async def main() -> None:
        world, _t, _clock, poller, _sink = setup()
        await poller.poll_once("A")
        await poller.release("A", 2)
        world.open_door(1, 2)
        assert ks(await poller.poll_once("A")) == [(K.LOCK_RELEASED, 2), (K.DOOR_OPENED, 2)]
        world.drop_unit(1)
        with pytest.raises(CabinetOfflineError):
            await poller.release("A", 3)
        world.restore_unit(1)
        world.force_door(1, 3)
        assert (K.TAMPER, 3) in ks(await poller.poll_once("A"))

    run(main)


def test_has_read_answers_from_the_last_read_not_the_world() -> None:
    async def main() -> None:
        world, _t, _clock, poller, _sink = setup()
        assert not poller.has_read("A", 1)  # nothing read yet
        await poller.poll_once("A")
        assert poller.has_read("A", 1, door_closed=True, occupied=False)
        world.force_door(1, 1)
        world.put_item(1, 1)
        assert poller.has_read("A", 1, door_closed=True)  # changed, but not read yet
        await poller.poll_once("A")
        assert poller.has_read("A", 1, door_closed=False, occupied=True)
        assert not poller.has_read("A", 1, door_closed=False, occupied=False)
        assert not poller.has_read("A", 99) and poller.has_read("A", 1)
        assert not poller.has_read("B", 1)  # B has never been read

    run(main)
