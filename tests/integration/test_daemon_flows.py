"""The step service end to end against hw_sim over real Modbus (TCP and RTU), driven as the
console and the demo drive it (open, the door, photo, commit), failure paths included."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from custody.domain.states import ItemState
from lockerd.steps_cabinet import split_where
from terminal.errors import (
    CompartmentEmptyError,
    DoorTimeoutError,
    ItemNotRemovedError,
    NotYoursError,
    WrongCompartmentError,
)
from terminal.sessions import LockedOutError, UnknownBadgeError, WrongPinError
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


def test_store_puts_the_item_in_with_its_photo_and_the_sensor_confirms(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-1", "off1", [1])
        step = await h.store("clerk", "K-1")
        item = h.rt.custody.projection.items[lb]
        assert item.state is ItemState.STORED and item.compartment == step.compartment
        entry = h.rt.ledger.entry(item.state_seq).body
        assert entry["kind"] == "item.stored" and entry["actor"] == "clerk"
        [photo] = entry["photos"]
        assert h.rt.photos.meta(photo["sha256"])["compartment"] == step.compartment
        _, idx = split_where(step.compartment)
        comp = h.sim.world.cabinet(1).comp(idx)
        assert comp.occupied and comp.door_closed and not comp.led
        await h.until("the claim let go", lambda: not h.rt.alarms.claimed("A", idx))
        assert not any(k.startswith("alarm") for k in h.kinds())  # every edge explained

    run(tmp_path, body)


def test_a_door_never_opened_is_reported_and_recorded(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-2", "off1", [2])
        h.person.plan("walk_away")
        step = await h.steps.open_store("clerk", "K-2")
        with pytest.raises(DoorTimeoutError) as exc:
            await h.steps.finish("clerk")
        failed = h.rt.ledger.entry(exc.value.seq).body
        assert failed["kind"] == "flow.failed" and failed["step"] == "not_opened"
        assert failed["item"] == lb and failed["compartment"] == step.compartment
        assert h.rt.custody.projection.items[lb].state is ItemState.HANDED_OVER
        assert h.steps.step("clerk") is None  # the step ended with its failure

    run(tmp_path, body, door_open_timeout_s=1)


def test_a_compartment_still_empty_is_reported_and_recorded(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-3", "off1", [3])
        h.person.plan("forget")
        with pytest.raises(CompartmentEmptyError) as exc:
            await h.store("clerk", "K-3")
        failed = h.rt.ledger.entry(exc.value.seq).body
        assert failed["kind"] == "flow.failed"
        assert failed["step"] == "occupancy" and failed["item"] == lb
        assert h.rt.custody.projection.items[lb].state is ItemState.HANDED_OVER
        # the clerk tries again and it works: the same item into a compartment
        step = await h.store("clerk", "K-3")
        assert h.rt.custody.projection.items[lb].compartment == step.compartment

    run(tmp_path, body)


def test_check_out_return_and_store_over_rtu(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        # two cases: cases are never mixed, so the second one goes to cabinet B (RTU)
        [f1] = await h.register_and_hand_over("K-4", "off1", [4])
        [f2] = await h.register_and_hand_over("K-5", "off1", [5])
        first = await h.store("clerk", "K-4")
        second = await h.store("clerk", "K-5")
        assert {first.compartment[0], second.compartment[0]} == {"A", "B"}
        officer = await h.steps.sign_in("b-1", "2468")  # badge text is case-insensitive
        assert officer.person.id == "off1"
        for lb in (f1, f2):
            await h.check_out("off1", lb)
            item = h.rt.custody.projection.items[lb]
            assert item.state is ItemState.CHECKED_OUT and item.holder == "off1"
        for lb, home in ((f1, first.compartment), (f2, second.compartment)):
            back = await h.return_file("off1", lb)
            assert back.compartment == home and back.reason == "where_it_was"
            item = h.rt.custody.projection.items[lb]
            assert item.state is ItemState.RETURNED and item.compartment == home
            returned = h.rt.ledger.entry(item.state_seq).body
            assert returned["compartment"] == home and len(returned["photos"]) == 2
        for case_id, home in (("K-4", first.compartment), ("K-5", second.compartment)):
            stored = await h.store("clerk", case_id)
            assert stored.compartment == home and stored.reason == "returned_here"
        for lb in (f1, f2):
            assert h.rt.custody.projection.items[lb].state is ItemState.STORED
        kinds = h.kinds()
        assert kinds.count("item.returned") == 2 and kinds.count("item.stored") == 4
        assert not any(k.startswith("alarm") or k == "flow.failed" for k in kinds)

    run(tmp_path, body, compartments=1, rtu=True)


def test_check_out_item_not_taken_is_recorded(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-5", "off1", [6])
        await h.store("clerk", "K-5")
        h.person.plan("forget")
        with pytest.raises(ItemNotRemovedError) as exc:
            await h.check_out("off1", lb)
        assert h.rt.ledger.entry(exc.value.seq).body["step"] == "occupancy"
        assert h.rt.custody.projection.items[lb].state is ItemState.STORED

    run(tmp_path, body)


def test_check_out_by_an_officer_not_on_the_case_opens_nothing(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-6", "off1", [7])
        await h.store("clerk", "K-6")
        size = h.rt.ledger.size
        releases = h.sim.world.cabinet(1).releases
        with pytest.raises(NotYoursError):
            await h.steps.open_check_out("off2", lb)
        assert h.rt.ledger.size == size
        assert h.sim.world.cabinet(1).releases == releases

    run(tmp_path, body)


def test_file_put_back_in_the_wrong_compartment_is_caught(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [f1] = await h.register_and_hand_over("K-7", "off1", [8])
        step = await h.store("clerk", "K-7")
        await h.check_out("off1", f1)
        h.person.plan("forget")  # the door of A/n opened and shut: the file went elsewhere
        with pytest.raises(WrongCompartmentError) as exc:
            await h.return_file("off1", f1)
        alarm = h.rt.ledger.entry(exc.value.seq).body
        assert alarm["kind"] == "alarm.wrong_compartment"
        assert alarm["items"] == [f1] and alarm["compartment"] == step.compartment
        item = h.rt.custody.projection.items[f1]
        assert item.state is ItemState.CHECKED_OUT  # the misplaced file is not booked back

    run(tmp_path, body)


def test_forced_door_and_unexplained_removal_raise_alarms(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        [lb] = await h.register_and_hand_over("K-8", "off1", [10], kind="exhibit")
        step = await h.store("clerk", "K-8")
        cab, idx = split_where(step.compartment)
        await h.until("the claim let go", lambda: not h.rt.alarms.claimed(cab, idx))
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
        with pytest.raises(UnknownBadgeError):
            await h.steps.sign_in("B-404", "2468")
        for left in (2, 1):
            with pytest.raises(WrongPinError) as exc:
                await h.steps.sign_in("B-1", "0000")
            assert exc.value.params["left"] == left
        with pytest.raises(LockedOutError):
            await h.steps.sign_in("B-1", "0000")
        with pytest.raises(LockedOutError):  # even the right PIN, while locked
            await h.steps.sign_in("B-1", "2468")
        lockouts = [e.body for e in h.rt.ledger.entries() if e.kind == "alarm.pin_lockout"]
        assert [(b["person"], b["attempts"]) for b in lockouts] == [("off1", 3)]
        h.clock.advance(timedelta(seconds=h.rt.cfg.terminal.pin_lockout_s + 1))
        assert (await h.steps.sign_in("B-1", "2468")).person.id == "off1"

    run(tmp_path, body)
