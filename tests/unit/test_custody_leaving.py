"""Items leaving custody, in the custody core: every kind's three steps, the refusals (each
writing nothing), holds, two clerks, a temporary leave's ladder and its return, the
projection's saved state, and the kinds file's checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custody.domain import Complainant, ItemSpec, ItemState, NotOnCaseError, RoleError
from custody.domain.errors import InvalidInputError
from custody.errors import ConfigError, LockerError
from custody.labels import make_label
from custody.leaving import (
    LeaveStatusError,
    Recipient,
    SelfApprovalError,
    UnderHoldError,
    UnknownLeaveError,
    WrongPersonError,
)
from custody.projection import Projection
from custody.rules.catalogue import EMPTY
from custody.rules.leaving import load_leaving, parse_leaving
from custody.services import CustodyService
from custody.sink import MemorySink
from custody.testing import FakeClock, ListNotifier, photo, sample_directory
from custody.transfers import transfers
from notify.texts import Texts, kind_of

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DOCS = {"decision_no": "公(刑)决字[2026]18号", "receiving_unit": "市检察院"}
WHO = Recipient("马先生", "110101199001011234", "")


def label(serial: int) -> str:
    return make_label("exhibit", 2026, serial).text


class World:
    def __init__(self) -> None:
        self.clock = FakeClock(T0)
        self.sink = MemorySink(self.clock)
        self.notifier = ListNotifier()
        self.svc = CustodyService(self.sink, sample_directory(), notifier=self.notifier,
                                  clock=self.clock, catalogue=EMPTY)
        checklist = dict.fromkeys(self.svc.settings.lawfulness_checklist, True)
        self.svc.register_case(
            "C1", title="Burglary", officer="wang", officers=["li"],
            complainant=Complainant("黄女士", "+8613900000000"),
            items=[ItemSpec(label(s), "exhibit", f"item {s}", 1, T0 - timedelta(hours=1),
                            "suspect", category="cash" if s == 9 else "")
                   for s in (1, 2, 3, 4, 5, 6, 9)])
        serials = (1, 2, 3, 4, 5, 6, 9)
        self.svc.handover("C1", clerk="zhou", scanned=[label(s) for s in serials],
                          checklist=checklist, photos=[photo("h")])
        for s in serials:
            self.svc.store(label(s), compartment="A/1", photos=[photo("s")], clerk="zhou")

    def approved(self, serial: int, kind: str) -> int:
        request = self.svc.request_leave(label(serial), kind=kind, officer="wang",
                                         reason="the case says so", documents=DOCS).request
        self.svc.decide_leave(request, supervisor="zhao", approve=True, reason="ok")
        return request

    def carry(self, request: int, clerk: str = "wu", **kw: Any) -> None:
        self.svc.carry_out_leave(request, clerk=clerk, recipient=WHO, photos=[photo("out")],
                                 receipt=photo("receipt"), **kw)


@pytest.fixture
def world() -> World:
    return World()


def refused(world: World, error: type[LockerError], call: Callable[[], object]) -> None:
    before, sent = world.sink.size, len(world.notifier.sent)
    with pytest.raises(error):
        call()
    assert world.sink.size == before and len(world.notifier.sent) == sent


@pytest.mark.parametrize(("serial", "kind", "state"), [
    (1, "release_to_owner", ItemState.DISPOSED),
    (2, "transfer_with_case", ItemState.DISPOSED),
    (3, "destruction", ItemState.DISPOSED),
    (4, "confiscation", ItemState.DISPOSED),
    (5, "examination", ItemState.OUT_ON_LEAVE),
    (6, "court_production", ItemState.OUT_ON_LEAVE),
])
def test_each_kind_request_approve_carry_out(world: World, serial: int, kind: str,
                                             state: ItemState) -> None:
    request = world.approved(serial, kind)
    world.carry(request)
    item = world.svc.projection.items[label(serial)]
    record = world.svc.projection.leaves[request]
    assert item.state is state
    assert record.requested_by == "wang" and record.decided_by == "zhao"
    assert record.carried_out_by == ("wu",) and record.recipient is not None
    assert record.recipient.name == "马先生" and record.receipt == photo("receipt")
    kinds = [e.body["kind"] for e in world.sink.entries()][-4:]
    assert "leave.requested" in kinds and kinds.count("leave.carried_out") == 1
    if state is ItemState.DISPOSED:
        assert item.disposal == kind and item.approved_by == "zhao"
        assert record.status == "done"
    else:
        assert record.due is not None and item.due_back == record.due
        assert record.status == "out" and item.leave == request
    told = [n for n in world.notifier.sent if n.role == "complainant"
            and n.refs["stage"] == "released"]
    assert len(told) == (1 if kind == "release_to_owner" else 0)
    for notice in told:  # the SMS the complainant gets says the property was released
        assert kind_of(notice.role, notice.refs) == "progress.released"
        sms = Texts.load().render("progress.released", "zh_CN", {"case": "C1",
                                                                  "stage": "财物发还"})
        assert "发还" in sms and "C1" in sms
    assert Projection.rebuild(world.sink.entries()) == world.svc.projection
    assert Projection.from_state(world.svc.projection.to_state()) == world.svc.projection
    # the chain of custody shows the leave with its approval and its recipient
    leave = [t for t in transfers([e.body for e in world.sink.entries()], [label(serial)])
             if t.purpose == "leave"]
    assert len(leave) == 1 and leave[0].giver.ref == "A/1"
    assert leave[0].receiver.ref.startswith("马先生")
    detail = dict(leave[0].detail)
    assert detail["approved_by"] == "zhao" and detail["requested_by"] == "wang"
    assert detail["leave"] == kind and detail["recipient_id"] == WHO.id_number


def test_self_approval_and_wrong_people_are_refused(world: World) -> None:
    request = world.svc.request_leave(label(1), kind="examination", officer="wang",
                                      reason="lab", documents=DOCS).request
    refused(world, RoleError, lambda: world.svc.decide_leave(
        request, supervisor="wang", approve=True, reason=""))
    refused(world, InvalidInputError, lambda: world.svc.decide_leave(
        request, supervisor="zhao", approve=False, reason=" "))
    refused(world, NotOnCaseError, lambda: world.svc.request_leave(
        label(2), kind="examination", officer="chen", reason="x", documents=DOCS))
    refused(world, LeaveStatusError, lambda: world.svc.request_leave(
        label(1), kind="destruction", officer="li", reason="x", documents=DOCS))
    refused(world, LeaveStatusError, lambda: world.carry(request))  # not approved yet
    world.svc.decide_leave(request, supervisor="zhao", approve=True, reason="")
    refused(world, LeaveStatusError, lambda: world.svc.decide_leave(
        request, supervisor="sun", approve=False, reason="changed my mind"))
    refused(world, RoleError, lambda: world.carry(request, clerk="li"))  # not a clerk
    refused(world, RoleError, lambda: world.carry(request, clerk="zhao"))


def test_a_supervisor_never_approves_their_own_request(world: World) -> None:
    request = world.svc.request_leave(label(1), kind="destruction", officer="zhao",
                                      reason="spoiled", documents=DOCS).request
    refused(world, SelfApprovalError, lambda: world.svc.decide_leave(
        request, supervisor="zhao", approve=True, reason="mine"))
    world.svc.decide_leave(request, supervisor="sun", approve=False, reason="keep it")
    assert world.svc.projection.leaves[request].status == "refused"
    world.svc.place_hold("C1", actor="zhao", reason="under investigation", item=label(3))
    refused(world, SelfApprovalError, lambda: world.svc.lift_hold(
        "C1", item=label(3), requested_by="zhao", approved_by="zhao", reason="done"))


def test_a_clerk_who_asked_or_decided_does_not_carry_out(world: World) -> None:
    # a clerk cannot ask; but the approver and the requester cannot carry out either
    request = world.approved(1, "examination")
    refused(world, RoleError, lambda: world.carry(request, clerk="wang"))
    world.carry(request, clerk="zhou")
    assert world.svc.projection.leaves[request].status == "out"


def test_hold_refuses_release_and_destruction_until_lifted(world: World) -> None:
    world.svc.place_hold("C1", actor="li", reason="still under investigation")
    refused(world, UnderHoldError, lambda: world.svc.request_leave(
        label(1), kind="release_to_owner", officer="wang", reason="owner", documents=DOCS))
    refused(world, UnderHoldError, lambda: world.svc.dispose(
        label(1), disposal="destroyed", approved_by="zhao", actor="zhou"))
    # a transfer with the case and an examination are not refused by a hold
    world.approved(2, "transfer_with_case")
    world.approved(5, "examination")
    # a request made before the hold is refused at its approval and at the cabinet
    world.svc.lift_hold("C1", requested_by="li", approved_by="zhao", reason="charged")
    early = world.svc.request_leave(label(3), kind="destruction", officer="wang",
                                    reason="drugs", documents=DOCS).request
    world.svc.place_hold("C1", item=label(3), actor="wang", reason="evidence for trial")
    refused(world, UnderHoldError, lambda: world.svc.decide_leave(
        early, supervisor="zhao", approve=True, reason=""))
    refused(world, SelfApprovalError, lambda: world.svc.lift_hold(
        "C1", item=label(3), requested_by="zhao", approved_by="zhao", reason="verdict"))
    world.svc.lift_hold("C1", item=label(3), requested_by="wang", approved_by="sun",
                        reason="verdict final")
    lifted = [e.body for e in world.sink.entries() if e.body["kind"] == "hold.lifted"]
    assert lifted[-1]["actor"] == "sun" and lifted[-1]["requested_by"] == "wang"
    world.svc.decide_leave(early, supervisor="zhao", approve=True, reason="")
    world.carry(early)
    assert world.svc.projection.items[label(3)].state is ItemState.DISPOSED


def test_cash_needs_two_clerks(world: World) -> None:
    request = world.approved(9, "release_to_owner")
    refused(world, WrongPersonError, lambda: world.carry(request))
    refused(world, WrongPersonError, lambda: world.carry(request, second_clerk="wu"))
    world.carry(request, second_clerk="zhou")
    assert world.svc.projection.leaves[request].carried_out_by == ("wu", "zhou")


def test_temporary_leave_overdue_escalates_and_its_return_closes_it(world: World) -> None:
    request = world.approved(5, "examination")
    world.carry(request)
    due = world.svc.projection.leaves[request].due
    assert due is not None and due == T0 + timedelta(days=14)
    assert not world.svc.tick()
    world.clock.advance(timedelta(days=14, hours=1))
    first = world.svc.tick()
    assert [(n.role, n.person, n.refs["rule"]) for n in first] == [("officer", "wang", "leave")]
    world.clock.advance(timedelta(days=1))
    assert [n.role for n in world.svc.tick()] == ["supervisor"]
    refused(world, UnknownLeaveError, lambda: world.svc.return_from_leave(
        request + 1, actor="zhou", photos=[photo("b")]))
    world.svc.return_from_leave(request, actor="zhou", photos=[photo("b")])
    record = world.svc.projection.leaves[request]
    assert record.status == "back" and record.late
    item = world.svc.projection.items[label(5)]
    assert item.state is ItemState.RETURNED and item.leave is None
    assert not list(world.svc.engine.matters_of(label(5))) or all(
        m.point.id != "leave" for m in world.svc.engine.matters_of(label(5)))
    world.clock.advance(timedelta(days=5))
    assert all(n.refs.get("rule") != "leave" for n in world.svc.tick())
    world.svc.store(label(5), compartment="A/1", photos=[photo("s2")], clerk="zhou")
    assert Projection.rebuild(world.sink.entries()) == world.svc.projection


def test_documents_and_due_dates_are_checked(world: World) -> None:
    refused(world, InvalidInputError, lambda: world.svc.request_leave(
        label(1), kind="destruction", officer="wang", reason="x", documents={}))
    refused(world, InvalidInputError, lambda: world.svc.request_leave(
        label(1), kind="lost", officer="wang", reason="x", documents=DOCS))
    refused(world, InvalidInputError, lambda: world.svc.request_leave(
        label(1), kind="examination", officer="wang", reason="x", documents=DOCS,
        due=T0 - timedelta(hours=1)))
    refused(world, InvalidInputError, lambda: world.svc.request_leave(
        label(1), kind="destruction", officer="wang", reason="x", documents=DOCS,
        due=T0 + timedelta(days=1)))
    request = world.approved(1, "release_to_owner")
    refused(world, InvalidInputError, lambda: world.svc.carry_out_leave(
        request, clerk="wu", recipient=Recipient("马先生"), photos=[photo("o")],
        receipt=photo("r")))  # no ID number


def test_the_kinds_file() -> None:
    shipped = load_leaving()
    assert {k.id for k in shipped.kinds} >= {"release_to_owner", "transfer_with_case",
                                             "destruction", "confiscation", "examination",
                                             "court_production"}
    assert shipped.kind("release_to_owner") is not None
    assert shipped.kinds[0].name("zh-CN") == "发还"
    kind: dict[str, Any] = {"id": "x", "name_zh": "x", "name_en": "x", "final": False,
                            "due": "1d"}
    base: dict[str, Any] = {"ladder": [{"role": "officer", "at": "0"}], "kind": [kind]}
    assert parse_leaving(base).kinds[0].due_ms == 86_400_000
    for bad in (
        {**base, "kind": [{**kind, "due": "0"}]},
        {**base, "kind": [{**kind, "final": True}]},
        {**base, "kind": [{**kind, "documents": ["passport"]}]},
        {**base, "colour": "red"},
        {**base, "ladder": []},
    ):
        with pytest.raises(ConfigError):
            parse_leaving(bad)
