"""Custody services on the in-memory sink: the happy path, and every refusal writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from custody.domain import (
    AlreadyAcknowledgedError,
    AlreadyDisposedError,
    AlreadyHandedOverError,
    AlreadyStoredError,
    ChecklistIncompleteError,
    CompartmentInUseError,
    Complainant,
    DiscrepancyReasonRequiredError,
    DuplicateCaseError,
    DuplicateItemError,
    IllegalTransitionError,
    InvalidInputError,
    ItemSpec,
    ItemState,
    ManifestLine,
    NotCheckedOutError,
    NothingToHandOverError,
    NotOnCaseError,
    NotRecipientError,
    PhotoRequiredError,
    RoleError,
    UnknownCaseError,
    UnknownItemError,
    UnknownNoticeError,
    UnknownPersonError,
)
from custody.errors import LockerError
from custody.labels import LabelError, make_label
from custody.projection import Projection
from custody.rules.catalogue import EMPTY
from custody.services import CustodyService
from custody.sink import MemorySink
from custody.testing import FakeClock, ListNotifier, photo, sample_directory

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 Monday in Shanghai


def label(serial: int, kind: str = "exhibit") -> str:
    return make_label(kind, 2026, serial).text


@dataclass
class World:
    clock: FakeClock
    sink: MemorySink
    notifier: ListNotifier
    svc: CustodyService

    def checklist(self) -> dict[str, bool]:
        return {name: True for name in self.svc.settings.lawfulness_checklist}

    def register(self, case: str = "C1", serials: tuple[int, ...] = (1, 2)) -> None:
        self.svc.register_case(
            case,
            title="Burglary at No. 5",
            officer="wang",
            officers=["li"],
            complainant=Complainant("Ms Huang", "+8613900000000"),
            items=[
                ItemSpec(label(s), "exhibit", f"item {s}", 1, self.clock.now() - timedelta(hours=1),
                         "suspect A")
                for s in serials
            ],
        )

    def hand_over(self, case: str = "C1", serials: tuple[int, ...] = (1, 2)) -> None:
        self.svc.handover(case, clerk="zhou", scanned=[label(s) for s in serials],
                          checklist=self.checklist(), photos=[photo("h")])

    def stored(self, serial: int = 1, compartment: str = "A/1") -> None:
        self.svc.store(label(serial), compartment=compartment, photos=[photo("s")], clerk="zhou")


@pytest.fixture
def world() -> World:
    clock = FakeClock(T0)
    sink = MemorySink(clock)
    notifier = ListNotifier()
    svc = CustodyService(sink, sample_directory(), notifier=notifier, clock=clock,
                         catalogue=EMPTY)
    return World(clock, sink, notifier, svc)


def test_full_lifecycle_and_rebuild_equals_live(world: World) -> None:
    world.register()
    world.hand_over()
    world.stored(1)
    world.stored(2)
    world.svc.check_out(label(1), officer="li", photos=[photo("o")])
    item = world.svc.projection.items[label(1)]
    assert item.state is ItemState.CHECKED_OUT and item.holder == "li"
    assert item.due_back == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 18:00 Shanghai
    world.svc.return_item(label(1), photos=[photo("r")], actor="li")
    world.stored(1)
    world.svc.dispose(label(2), disposal="returned_to_owner", approved_by="zhao", actor="zhou")
    assert world.svc.projection.items[label(2)].state is ItemState.DISPOSED
    assert Projection.rebuild(world.sink.entries()) == world.svc.projection
    stages = [n.refs["stage"] for n in world.notifier.sent if n.role == "complainant"]
    assert stages == ["received", "handed_over", "disposed"]


def test_every_step_entry_carries_its_photos(world: World) -> None:
    world.register()
    world.hand_over()
    world.stored(1)
    world.svc.check_out(label(1), officer="wang", photos=[photo("o1"), photo("o2")])
    world.svc.return_item(label(1), photos=[photo("r")], actor="zhou")
    kinds = {"case.handed_over", "item.stored", "item.checked_out", "item.returned"}
    bodies = [e.body for e in world.sink.entries() if e.body["kind"] in kinds]
    assert len(bodies) == 4
    for body in bodies:
        assert body["photos"] and all(len(p["sha256"]) == 64 for p in body["photos"])
    assert bodies[2]["photos"] == [photo("o1").to_json(), photo("o2").to_json()]


def refused(world: World, error: type[LockerError], call: Callable[[], object],
            match: str) -> None:
    """The call is refused with ``error`` and a message matching ``match``; nothing written."""
    before = world.sink.size
    sent = len(world.notifier.sent)
    snapshot = Projection.rebuild(world.sink.entries())
    with pytest.raises(error, match=match):
        call()
    assert world.sink.size == before
    assert len(world.notifier.sent) == sent
    assert world.svc.projection == snapshot


def test_unknown_label_is_refused(world: World) -> None:
    world.register()
    refused(world, UnknownItemError, lambda: world.stored(99), "no item with label")


def test_wrong_check_character_is_refused(world: World) -> None:
    world.register()
    good = label(1)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    refused(world, LabelError, lambda: world.svc.store(
        bad, compartment="A/1", photos=[photo("s")], clerk="zhou"), "wrong check character")
    refused(world, LabelError, lambda: world.svc.handover(
        "C1", clerk="zhou", scanned=[bad], checklist=world.checklist(), photos=[photo("h")]),
        "wrong check character")


def test_item_already_stored_is_refused(world: World) -> None:
    world.register()
    world.hand_over()
    world.stored(1)
    refused(world, AlreadyStoredError, lambda: world.stored(1, "A/2"),
            "already stored in compartment A/1")


def test_check_out_by_officer_not_on_case_is_refused(world: World) -> None:
    world.register()
    world.hand_over()
    world.stored(1)
    refused(world, NotOnCaseError, lambda: world.svc.check_out(
        label(1), officer="chen", photos=[photo("o")]), "'chen' is not on case 'C1'")
    refused(world, RoleError, lambda: world.svc.check_out(
        label(1), officer="zhou", photos=[photo("o")]), "needs a officer")


def test_return_of_item_not_out_is_refused(world: World) -> None:
    world.register()
    world.hand_over()
    world.stored(1)
    refused(world, NotCheckedOutError, lambda: world.svc.return_item(
        label(1), photos=[photo("r")], actor="wang"), "is not checked out")


def test_second_handover_is_refused(world: World) -> None:
    world.register()
    world.hand_over()
    refused(world, AlreadyHandedOverError, lambda: world.hand_over(), "already handed over")


def test_photos_are_required(world: World) -> None:
    world.register()
    refused(world, PhotoRequiredError, lambda: world.svc.handover(
        "C1", clerk="zhou", scanned=[label(1), label(2)], checklist=world.checklist(),
        photos=[]), "needs at least one photo")
    world.hand_over()
    refused(world, PhotoRequiredError, lambda: world.svc.store(
        label(1), compartment="A/1", photos=[], clerk="zhou"), "photo")
    world.stored(1)
    refused(world, PhotoRequiredError, lambda: world.svc.check_out(
        label(1), officer="wang", photos=[]), "photo")
    world.svc.check_out(label(1), officer="wang", photos=[photo("o")])
    refused(world, PhotoRequiredError, lambda: world.svc.return_item(
        label(1), photos=[], actor="wang"), "photo")


def test_handover_checks(world: World) -> None:
    world.register()
    partial = dict(world.checklist())
    partial["two_officers_present"] = False
    refused(world, ChecklistIncompleteError, lambda: world.svc.handover(
        "C1", clerk="zhou", scanned=[label(1), label(2)], checklist=partial,
        photos=[photo("h")]), "two_officers_present")
    refused(world, DiscrepancyReasonRequiredError, lambda: world.svc.handover(
        "C1", clerk="zhou", scanned=[label(1)], checklist=world.checklist(),
        photos=[photo("h")]), f"missing {label(2)}")
    refused(world, NothingToHandOverError, lambda: world.svc.handover(
        "C1", clerk="zhou", scanned=[label(50)], checklist=world.checklist(),
        photos=[photo("h")], reason="wrong bag"), "none of the scanned labels")
    refused(world, RoleError, lambda: world.svc.handover(
        "C1", clerk="wang", scanned=[label(1), label(2)], checklist=world.checklist(),
        photos=[photo("h")]), "needs a clerk")
    refused(world, UnknownCaseError, lambda: world.hand_over("C9"), "no case 'C9'")


def test_handover_lists_missing_and_extra_and_flags_supervisor(world: World) -> None:
    world.register(serials=(1, 2, 3))
    result = world.svc.handover(
        "C1", clerk="zhou", scanned=[label(1), label(3), label(77)],
        checklist=world.checklist(), photos=[photo("h")], reason="item 2 at the lab")
    assert result.items == (label(1), label(3))
    assert result.missing == (label(2),) and result.extra == (label(77),)
    flags = [n for n in world.notifier.sent if n.key.startswith("discrepancy:")]
    assert [(n.person, n.role) for n in flags] == [("zhao", "supervisor")]
    assert label(2) in flags[0].text and "item 2 at the lab" in flags[0].text
    assert world.svc.projection.items[label(2)].state is ItemState.REGISTERED
    # the missing item can be handed over later, on its own
    later = world.svc.handover("C1", clerk="wu", scanned=[label(2)],
                               checklist=world.checklist(), photos=[photo("h2")])
    assert later.items == (label(2),) and not later.flagged


def test_the_station_numbers_a_new_case_and_its_labels(world: World) -> None:
    world.register("C1", (1, 7))  # labels given by hand: the station's go on after them
    seized = T0 - timedelta(hours=1)
    lines = [ManifestLine("exhibit", "a phone", 1, seized, seized_from="Li"),
             ManifestLine("case_file", "statement", 2, seized, category="doc")]
    first = world.svc.register_new_case(title="t", officer="wang", lines=lines)
    second = world.svc.register_new_case(title="u", officer="wang", lines=lines[:1])
    assert (first.case_id, first.items) == ("K2026-0001", [label(8), label(9, "case_file")])
    assert (second.case_id, second.items) == ("K2026-0002", [label(10)])
    item = world.svc.projection.items[label(9, "case_file")]
    assert (item.description, item.quantity, item.category) == ("statement", 2, "doc")
    refused(world, InvalidInputError, lambda: world.svc.register_new_case(
        title="t", officer="wang", lines=[ManifestLine("weapon", "x", 1, seized)]), "kind")
    refused(world, InvalidInputError, lambda: world.svc.register_new_case(
        title="t", officer="wang", lines=[ManifestLine("exhibit", "", 1, seized)]),
        "description must not be empty")


def test_registration_refusals(world: World) -> None:
    world.register()
    refused(world, DuplicateCaseError, lambda: world.register(), "already registered")
    refused(world, DuplicateItemError, lambda: world.register("C2", (1,)), "already registered")
    spec = ItemSpec(label(5), "case_file", "x", 1, T0)
    refused(world, InvalidInputError, lambda: world.svc.register_case(
        "C3", title="t", officer="wang", items=[spec]), "does not match its label")
    future = ItemSpec(label(5), "exhibit", "x", 1, T0 + timedelta(hours=1))
    refused(world, InvalidInputError, lambda: world.svc.register_case(
        "C3", title="t", officer="wang", items=[future]), "in the future")
    zero = ItemSpec(label(5), "exhibit", "x", 0, T0)
    refused(world, InvalidInputError, lambda: world.svc.register_case(
        "C3", title="t", officer="wang", items=[zero]), "quantity")
    refused(world, InvalidInputError, lambda: world.svc.register_case(
        "C3", title="t", officer="wang", items=[]), "at least one item")
    refused(world, UnknownPersonError, lambda: world.svc.register_case(
        "C3", title="t", officer="nobody", items=[ItemSpec(label(5), "exhibit", "x", 1, T0)]),
        "no person 'nobody'")
    refused(world, InvalidInputError, lambda: world.svc.register_case(
        "bad id!", title="t", officer="wang", items=[ItemSpec(label(5), "exhibit", "x", 1, T0)]),
        "case id")


def test_storage_and_disposal_refusals(world: World) -> None:
    world.register()
    world.register("C2", (3,))
    world.hand_over()
    world.hand_over("C2", (3,))
    world.stored(1, "A/1")
    refused(world, CompartmentInUseError, lambda: world.stored(3, "A/1"), "never mixed")
    refused(world, InvalidInputError, lambda: world.stored(3, "A-1"), "cabinet/n")
    refused(world, RoleError, lambda: world.svc.dispose(
        label(1), disposal="destroyed", approved_by="wang", actor="zhou"), "needs a supervisor")
    refused(world, InvalidInputError, lambda: world.svc.dispose(
        label(1), disposal="sold", approved_by="zhao", actor="zhou"), "not one of")
    refused(world, IllegalTransitionError, lambda: world.svc.dispose(
        label(3), disposal="destroyed", approved_by="zhao", actor="zhou"), "it is handed_over")
    world.svc.dispose(label(1), disposal="to_court", approved_by="zhao", actor="zhou",
                      reference="court order 17")
    refused(world, AlreadyDisposedError, lambda: world.svc.check_out(
        label(1), officer="wang", photos=[photo("o")]), "custody is closed")


def test_acknowledgements(world: World) -> None:
    world.register()
    key = "progress:C1:received"
    refused(world, UnknownNoticeError, lambda: world.svc.acknowledge("nope", person="zhao"),
            "no notice")
    refused(world, NotRecipientError, lambda: world.svc.acknowledge(key, person="zhao"),
            "cannot acknowledge")
    record = world.svc.acknowledge(key, person="+8613900000000")
    assert record.acknowledged_seq == world.sink.size - 1
    refused(world, AlreadyAcknowledgedError,
            lambda: world.svc.acknowledge(key, person="+8613900000000"), "already acknowledged")


def test_late_return_is_recorded(world: World) -> None:
    world.register()
    world.hand_over()
    world.stored(1)
    world.svc.check_out(label(1), officer="wang", photos=[photo("o")])
    world.clock.advance(timedelta(hours=12))  # 21:00 local, past 18:00
    world.svc.return_item(label(1), photos=[photo("r")], actor="wang")
    last = list(world.sink.entries())[-1].body
    assert last["kind"] == "item.returned" and last["late"] is True


def test_restart_rebuilds_projection_and_sends_nothing_twice(world: World) -> None:
    world.register()
    world.clock.advance(timedelta(hours=20))  # reminder due at seizure + 20 h
    first = world.svc.tick()
    assert {n.person for n in first} == {"wang"}
    again = CustodyService(world.sink, sample_directory(), notifier=world.notifier,
                           clock=world.clock, catalogue=EMPTY)
    assert again.projection == world.svc.projection
    assert again.tick() == []


def test_add_items_to_a_case(world: World) -> None:
    world.register()
    spec = ItemSpec(label(3), "exhibit", "knife", 1, T0, seizing_officer="li")
    refused(world, NotOnCaseError, lambda: world.svc.add_items("C1", [spec], officer="chen"),
            "not on case")
    world.svc.add_items("C1", [spec], officer="li")
    item = world.svc.projection.items[label(3)]
    assert item.state is ItemState.REGISTERED and item.seizing_officer == "li"
    assert world.svc.projection.cases["C1"].items == [label(1), label(2), label(3)]
    assert Projection.rebuild(world.sink.entries()) == world.svc.projection


def test_second_check_out_names_the_holder(world: World) -> None:
    world.register()
    world.hand_over()
    world.stored(1)
    world.svc.check_out(label(1), officer="li", photos=[photo("o")])
    refused(world, IllegalTransitionError, lambda: world.svc.check_out(
        label(1), officer="wang", photos=[photo("o")]), "already checked out to li")


class BrokenNotifier:
    """A notifier whose delivery always fails (a full disk under the outbox, say)."""

    def send(self, notice: object) -> None:
        raise OSError("outbox is full")


def test_notifier_failure_keeps_the_command_and_the_record() -> None:
    clock = FakeClock(T0)
    sink = MemorySink(clock)
    svc = CustodyService(sink, sample_directory(), notifier=BrokenNotifier(), clock=clock,
                         catalogue=EMPTY)
    svc.register_case("C1", title="t", officer="wang",
                      complainant=Complainant("Ms Huang", "+86139"),
                      items=[ItemSpec(label(1), "exhibit", "x", 1, T0)])
    assert svc.undelivered == ["progress:C1:received"]
    assert "progress:C1:received" in svc.projection.notices
    assert [e.body["kind"] for e in sink.entries()] == ["case.registered", "notice.sent"]


def test_projection_refuses_entries_out_of_order(world: World) -> None:
    world.register()
    entries = list(world.sink.entries())
    projection = Projection()
    with pytest.raises(LockerError, match="out of order"):
        projection.apply(entries[1].body)
    stray = {**entries[0].body, "kind": "item.stored", "item": "E2026-999999-X"}
    with pytest.raises(LockerError, match=r"entry 0 \(item.stored\) does not fit"):
        projection.apply(stray)


def test_reconciliation_lists_what_is_not_where_it_should_be(world: World) -> None:
    world.register(serials=(1, 2, 3))
    world.svc.handover("C1", clerk="zhou", scanned=[label(1), label(2)],
                       checklist=world.checklist(), photos=[photo("h")], reason="3 at lab")
    world.stored(1, "A/1")
    world.stored(2, "A/2")
    world.svc.check_out(label(2), officer="wang", photos=[photo("o")])
    world.clock.advance(timedelta(hours=14))  # 23:00 local
    record = world.svc.reconcile(occupancy={"A/1": False, "A/2": False})
    assert record.checked_out_not_back == (label(2),)
    assert record.registered_not_handed_over == (label(3),)
    assert record.stored_but_empty == ((label(1), "A/1"),)
    assert record.day == "2026-03-02" and not record.clean
    kinds = [e.body["kind"] for e in world.sink.entries()][-3:]
    assert kinds == ["reconciliation", "notice.sent", "notice.sent"]
    told = [n for n in world.notifier.sent if n.key.startswith("reconciliation:")]
    assert sorted(n.person for n in told) == ["sun", "zhao"]
    assert label(1) in told[0].text and "(A/1)" in told[0].text
    again = world.svc.reconcile(occupancy={"A/1": False, "A/2": False})
    assert again.seq > record.seq  # a second run the same day is recorded...
    assert len([n for n in world.notifier.sent if n.key.startswith("reconciliation:")]) == 2
    refused(world, InvalidInputError, lambda: world.svc.reconcile(occupancy={"A1": True}),
            "cabinet/n")
