"""End-to-end flows against hw_sim over real Modbus (TCP and RTU), failure paths included."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from custody.domain.errors import NotOnCaseError
from custody.domain.states import ItemState
from lockerd.flows import (
    AuthError,
    CompartmentEmptyError,
    DoorTimeoutError,
    ItemNotRemovedError,
    LockedOutError,
    WrongCompartmentError,
    split_where,
)
from tests.integration.daemon_harness import Harness, running_station


def run(tmp_path: Path, body: Callable[[Harness], Awaitable[None]], **kw: object) -> None:
    async def main() -> None:
        async with running_station(tmp_path, **kw) as h:  # type: ignore[arg-type]
            await body(h)

    asyncio.run(main())


async def _wait_kinds(h: Harness, kind: str, n: int = 1) -> None:
    try:
        await h.until(f"{kind} entry", lambda: h.kinds().count(kind) >= n)
    except AssertionError:
        raise AssertionError(f"no {kind} entry; ledger has {h.kinds()}") from None


def test_check_in_stores_the_item_with_photos_and_the_sensor_confirms(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-1", "off1", [1])
        scan = await h.scan(lb, "clerk", "check_in")
        step = await h.flows.check_in("clerk", scan)
        item = h.rt.custody.projection.items[lb]
        assert item.state is ItemState.STORED and item.compartment == step.compartment
        entry = h.rt.ledger.entry(step.seqs[0]).body
        assert entry["kind"] == "item.stored" and len(entry["photos"]) == 2
        for p in entry["photos"]:
            assert h.rt.photos.exists(p["sha256"])
        _, idx = split_where(step.compartment)
        comp = h.sim.world.cabinet(1).comp(idx)
        assert comp.occupied and comp.door_closed and not comp.led
        assert not any(k.startswith("alarm") for k in h.kinds())  # every edge explained

    run(tmp_path, body)


def test_check_in_door_never_opened_is_reported_and_recorded(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-2", "off1", [2])
        h.person.plan("walk_away")
        with pytest.raises(DoorTimeoutError) as exc:
            await h.flows.check_in("clerk", await h.scan(lb, "clerk"))
        failed = h.rt.ledger.entry(exc.value.seq or 0).body
        assert failed["kind"] == "flow.failed" and failed["step"] == "not_opened"
        assert failed["item"] == lb
        assert h.rt.custody.projection.items[lb].state is ItemState.HANDED_OVER

    run(tmp_path, body, door_open_timeout_s=1)


def test_check_in_compartment_still_empty_is_reported_and_recorded(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-3", "off1", [3])
        h.person.plan("forget")
        with pytest.raises(CompartmentEmptyError) as exc:
            await h.flows.check_in("clerk", await h.scan(lb, "clerk"))
        failed = h.rt.ledger.entry(exc.value.seq or 0).body
        assert failed["step"] == "occupancy" and failed["item"] == lb
        assert h.rt.custody.projection.items[lb].state is ItemState.HANDED_OVER
        # the clerk tries again and it works: the same item into a compartment
        step = await h.flows.check_in("clerk", await h.scan(lb, "clerk"))
        assert h.rt.custody.projection.items[lb].compartment == step.compartment

    run(tmp_path, body)


def test_check_out_and_return_over_rtu(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        labels = await h.register_and_hand_over("K-4", "off1", [4, 5])
        # fill cabinet A so the second item goes to cabinet B on the RTU line
        for lb in labels:
            await h.flows.check_in("clerk", await h.scan(lb, "clerk"))
        places = {h.rt.custody.projection.items[lb].compartment for lb in labels}
        assert {p.split("/")[0] for p in places if p} == {"A", "B"}
        officer = await h.flows.identify("B-1", "2468")
        assert [i.label for i in h.flows.files_for(officer.id)] == sorted(labels)
        report = await h.flows.check_out(officer.id)
        assert report.ok and [s.label for s in report.done] == sorted(labels)
        for lb in labels:
            item = h.rt.custody.projection.items[lb]
            assert item.state is ItemState.CHECKED_OUT and item.holder == "off1"
        scans = [await h.scan(lb, "off1", "return") for lb in labels]
        back = await h.flows.return_files("off1", scans, clerk="clerk")
        assert back.ok, back.failed
        for lb in labels:
            assert h.rt.custody.projection.items[lb].state is ItemState.STORED
        assert not any(k.startswith("alarm") for k in h.kinds())

    run(tmp_path, body, compartments=1, rtu=True)


def test_check_out_item_not_taken_is_recorded(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-5", "off1", [6])
        await h.flows.check_in("clerk", await h.scan(lb, "clerk"))
        h.person.plan("forget")
        report = await h.flows.check_out("off1")
        assert not report.done and isinstance(report.failed[0], ItemNotRemovedError)
        assert h.rt.ledger.entry(report.failed[0].seq or 0).body["step"] == "occupancy"
        assert h.rt.custody.projection.items[lb].state is ItemState.STORED

    run(tmp_path, body)


def test_check_out_by_an_officer_not_on_the_case_opens_nothing(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-6", "off1", [7])
        await h.flows.check_in("clerk", await h.scan(lb, "clerk"))
        size = h.rt.ledger.size
        releases = h.sim.world.cabinet(1).releases
        with pytest.raises(NotOnCaseError):
            await h.flows.check_out("off2", [lb])
        assert h.rt.ledger.size == size
        assert h.sim.world.cabinet(1).releases == releases

    run(tmp_path, body)


def test_file_put_back_in_the_wrong_compartment_is_caught(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        labels = await h.register_and_hand_over("K-7", "off1", [8, 9])
        for lb in labels:
            await h.flows.check_in("clerk", await h.scan(lb, "clerk"))
        assert (await h.flows.check_out("off1")).ok
        scans = [await h.scan(lb, "off1", "return") for lb in labels]
        h.person.plan("wrong")  # the first door opened gets nothing; its file goes next door
        report = await h.flows.return_files("off1", scans, clerk="clerk")
        assert len(report.failed) == 1 and isinstance(report.failed[0], WrongCompartmentError)
        alarm = h.rt.ledger.entry(report.failed[0].seq or 0).body
        assert alarm["kind"] == "alarm.wrong_compartment"
        states = sorted(h.rt.custody.projection.items[lb].state.value for lb in labels)
        assert states == ["checked_out", "stored"]  # the misplaced file is not booked back

    run(tmp_path, body)


def test_forced_door_and_unexplained_removal_raise_alarms(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-8", "off1", [10], kind="exhibit")
        step = await h.flows.check_in("clerk", await h.scan(lb, "clerk"))
        cab, idx = split_where(step.compartment)
        w = h.sim.world
        # each change is made once the poller has read the one before it: a poll that came
        # late would otherwise see only the door shut on an empty compartment (no tamper)
        w.force_door(1, idx)
        await h.polled(cab, idx, door_closed=False)
        w.take_item(1, idx)
        await h.polled(cab, idx, occupied=False)
        w.close_door(1, idx)
        await _wait_kinds(h, "alarm.door_forced")
        await _wait_kinds(h, "alarm.item_removed")
        entries = [e.body for e in h.rt.ledger.entries() if e.kind.startswith("alarm")]
        assert {e["compartment"] for e in entries} == {step.compartment}
        assert all(e["items"] == [lb] for e in entries)  # the one alarm body: a list
        open_ = await h.rt.call(h.rt.custody.open_alarms)
        assert [a.kind for a in open_] == ["door_forced", "item_removed"]

    run(tmp_path, body)


def test_wrong_pins_lock_the_badge_and_are_recorded(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        with pytest.raises(AuthError):
            await h.flows.identify("B-404", "2468")
        for _ in range(2):
            with pytest.raises(AuthError) as exc:
                await h.flows.identify("B-1", "0000")
            assert not isinstance(exc.value, LockedOutError)
        with pytest.raises(LockedOutError):
            await h.flows.identify("B-1", "0000")
        with pytest.raises(LockedOutError):  # even the right PIN, until a clerk unlocks
            await h.flows.identify("B-1", "2468")
        assert h.kinds().count("alarm.pin_lockout") == 1
        h.flows.unlock_badge("B-1")
        assert (await h.flows.identify("B-1", "2468")).id == "off1"

    run(tmp_path, body)
