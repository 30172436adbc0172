"""custody.queries and the projection's new state (alarms, last compartment, ladder steps,
responsible officer), over the real custody service on the in-memory sink."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custody import queries
from custody.alarms import AlarmKind, alarm_body, alarm_from_entry
from custody.domain import ItemSpec, NotCheckedOutError, UnknownAlarmError
from custody.domain.errors import InvalidInputError
from custody.labels import make_label
from custody.projection import Projection
from custody.queries import ReturnReason, ScanStatus
from custody.rules.catalogue import EMPTY
from custody.services import CustodyService
from custody.sink import MemorySink
from custody.testing import FakeClock, ListNotifier, photo, sample_directory

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 Monday in Shanghai


def F(serial: int) -> str:
    return make_label("case_file", 2026, serial).text


def E(serial: int) -> str:
    return make_label("exhibit", 2026, serial).text


@pytest.fixture
def svc() -> CustodyService:
    clock = FakeClock(T0)
    return CustodyService(MemorySink(clock), sample_directory(), notifier=ListNotifier(),
                          clock=clock, catalogue=EMPTY)


def _case(svc: CustodyService, case_id: str, serials: list[int], officer: str = "wang",
          hours_ago: int = 2) -> list[str]:
    seized = T0 - timedelta(hours=hours_ago)
    specs = [ItemSpec(F(s), "case_file", f"file {s}", 1, seized) for s in serials]
    svc.register_case(case_id, title=case_id, officer=officer, items=specs,
                      officers=["li"] if officer == "wang" else [])
    return [F(s) for s in serials]


def _stored(svc: CustodyService, case_id: str, where: dict[str, str]) -> None:
    checklist = dict.fromkeys(svc.settings.lawfulness_checklist, True)
    svc.handover(case_id, clerk="zhou", scanned=sorted(where), checklist=checklist,
                 photos=[photo("h")])
    for lab, comp in where.items():
        svc.store(lab, compartment=comp, photos=[photo("s")], clerk="zhou")


def test_return_goes_where_it_was_even_when_that_compartment_is_empty(
    svc: CustodyService,
) -> None:
    # the trial's case: a file alone in A/0, its case's other file in A/1: back to A/0
    a, b = _case(svc, "K1", [1, 2])
    _stored(svc, "K1", {a: "A/0", b: "A/1"})
    svc.check_out(a, officer="wang", photos=[photo("o")])
    assert "A/0" not in svc.projection.compartments
    place = queries.return_place(svc.projection, a)
    assert (place.compartment, place.reason) == ("A/0", ReturnReason.WHERE_IT_WAS)
    assert place.previous == "A/0" and "A/0" in place.text
    # the same after the return, for the store step (the rule is on the state, not memory)
    svc.return_item(a, photos=[photo("r")], actor="wang")
    assert queries.return_place(svc.projection, a).compartment == "A/0"
    assert queries.return_place(Projection.rebuild(svc._sink.entries()), a).compartment == "A/0"


def test_return_goes_with_its_case_when_its_compartment_holds_another_case(
    svc: CustodyService,
) -> None:
    a, b, c = _case(svc, "K1", [1, 2, 3])
    _stored(svc, "K1", {a: "A/0", b: "A/10", c: "A/10"})
    (other,) = _case(svc, "K2", [4], officer="chen")
    svc.check_out(a, officer="wang", photos=[photo("o")])
    _stored(svc, "K2", {other: "A/0"})
    place = queries.return_place(svc.projection, a)
    assert (place.compartment, place.reason, place.previous_case) == (
        "A/10", ReturnReason.WITH_ITS_CASE, "K2")
    assert "K2" in place.text and "A/10" in place.text
    # the caller found A/10 unusable: the next answer of the same rule
    again = queries.return_place(svc.projection, a, exclude={"A/10"}, free=["A/0", "B/2"])
    assert (again.compartment, again.reason) == ("B/2", ReturnReason.FREE_COMPARTMENT)
    none = queries.return_place(svc.projection, a, exclude={"A/10"})
    assert none.compartment is None and "none is free" in none.text


def test_return_place_only_for_files_out_or_returned(svc: CustodyService) -> None:
    (a,) = _case(svc, "K1", [1])
    with pytest.raises(NotCheckedOutError):
        queries.return_place(svc.projection, a)


def test_with_its_case_picks_the_compartment_holding_most_then_by_number(
    svc: CustodyService,
) -> None:
    a, b, c, d = _case(svc, "K1", [1, 2, 3, 4])
    _stored(svc, "K1", {a: "B/0", b: "A/10", c: "A/2", d: "A/10"})
    (x,) = _case(svc, "K2", [5], officer="chen")
    svc.check_out(a, officer="wang", photos=[photo("o")])
    _stored(svc, "K2", {x: "B/0"})
    assert queries.return_place(svc.projection, a).compartment == "A/10"
    assert queries.return_place(svc.projection, a, exclude={"A/10"}).compartment == "A/2"
    assert queries.case_compartments(svc.projection, "K1") == ["A/2", "A/10"]


def test_pending_handovers_and_to_store(svc: CustodyService) -> None:
    late = _case(svc, "K1", [1], hours_ago=20)
    early = _case(svc, "K2", [2], hours_ago=2)
    assert [ci.case.case_id for ci in queries.pending_handovers(svc.projection)] == ["K1", "K2"]
    checklist = dict.fromkeys(svc.settings.lawfulness_checklist, True)
    svc.handover("K1", clerk="zhou", scanned=late, checklist=checklist, photos=[photo("h")])
    assert [ci.case.case_id for ci in queries.pending_handovers(svc.projection)] == ["K2"]
    stored = queries.to_store(svc.projection)
    assert [(ci.case.case_id, [i.label for i in ci.items]) for ci in stored] == [("K1", late)]
    assert early


def test_handover_scan_says_already_handed_over(svc: CustodyService) -> None:
    a, b = _case(svc, "K1", [1, 2])
    (other,) = _case(svc, "K2", [3], officer="chen")
    checklist = dict.fromkeys(svc.settings.lawfulness_checklist, True)
    svc.handover("K1", clerk="wu", scanned=[a], checklist=checklist, photos=[photo("h")],
                 reason="one later")
    scan = queries.handover_scan(svc.projection, "K1", a)
    assert scan.status is ScanStatus.HANDED_OVER and not scan.is_extra
    assert scan.handover is not None and scan.handover.clerk == "wu"
    assert queries.handover_scan(svc.projection, "K1", b).status is ScanStatus.ON_MANIFEST
    assert queries.handover_scan(svc.projection, "K1", other).status is ScanStatus.OTHER_CASE
    assert queries.handover_scan(svc.projection, "K1", E(9)).status is ScanStatus.UNKNOWN


def test_officer_day_with_ladder_step_and_return_place(svc: CustodyService) -> None:
    a, b, c = _case(svc, "K1", [1, 2, 3])
    _stored(svc, "K1", {a: "A/0", b: "A/1", c: "A/1"})
    svc.check_out(a, officer="wang", photos=[photo("o")])
    svc.check_out(b, officer="wang", photos=[photo("o")])
    clock = svc._clock
    assert isinstance(clock, FakeClock)
    due = svc.projection.items[a].due_back
    assert due is not None
    clock.set(due + timedelta(hours=2))  # past the supervisor's step
    svc.tick()
    svc.return_item(b, photos=[photo("r")], actor="wang")
    day = queries.officer_day(svc.projection, "wang", clock.now())
    assert [f.item.label for f in day.overdue] == [a] and not day.out
    row = day.overdue[0]
    assert row.goes_back.compartment == "A/0" and row.escalation is not None
    assert (row.escalation.step, row.escalation.role) == (2, "supervisor")
    assert [i.label for i in day.to_take] == [c]
    assert queries.ladder_step(svc.projection, "return", svc.projection.items[a]) == (
        row.escalation)
    # li is on the case too and sees the same file to take; chen has nothing
    assert [i.label for i in queries.officer_day(svc.projection, "li", clock.now()).to_take
            ] == [c]
    assert queries.officer_day(svc.projection, "chen", clock.now()) == queries.OfficerDay(
        (), (), ())


def test_ladder_steps_survive_a_rebuild_and_the_responsible_officer(
    svc: CustodyService,
) -> None:
    (a,) = _case(svc, "K1", [1], hours_ago=30)  # handover 6 h overdue: two steps sent
    svc.tick()
    item = svc.projection.items[a]
    step = queries.ladder_step(svc.projection, "handover", item)
    assert step is not None and (step.step, step.role) == (2, "supervisor")
    assert Projection.rebuild(svc._sink.entries()).ladder == svc.projection.ladder
    assert svc.projection.responsible_officer(item) == "wang"


def test_alarms_raise_acknowledge_and_rebuild(svc: CustodyService) -> None:
    (a,) = _case(svc, "K1", [1])
    _stored(svc, "K1", {a: "A/0"})
    first = svc.raise_alarm(AlarmKind.ITEM_REMOVED, compartment="A/0", items=[a, a],
                            event="item_removed", detail="sensor went empty")
    second = svc.raise_alarm(AlarmKind.CABINET_OFFLINE, cabinet="B", event="offline")
    assert first.items == (a,) and first.cabinet == "A" and first.where == "A/0"
    assert second.where == "B" and second.compartment is None
    assert [x.seq for x in svc.open_alarms()] == [first.seq, second.seq]
    svc.acknowledge_alarm(first.seq, clerk="zhou")
    assert [x.seq for x in svc.open_alarms()] == [second.seq]
    with pytest.raises(UnknownAlarmError):
        svc.acknowledge_alarm(first.seq, clerk="zhou")
    size = svc._sink.size
    with pytest.raises(InvalidInputError):
        svc.raise_alarm("acknowledged")
    assert svc._sink.size == size
    lockout = svc.raise_alarm(AlarmKind.PIN_LOCKOUT, actor="terminal", badge="B-7",
                              person="li", attempts=5)
    assert (lockout.where, lockout.person, lockout.actor) == ("B-7", "li", "terminal")
    assert svc._sink.size == size + 1
    rebuilt = Projection.rebuild(svc._sink.entries())
    assert rebuilt == svc.projection
    assert queries.open_alarms(rebuilt)[-1].kind == "pin_lockout"
    assert queries.alarms_after(rebuilt, second.seq) == queries.open_alarms(rebuilt)[-1:]


def test_alarm_body_is_one_definition_and_old_bodies_still_read() -> None:
    body = alarm_body(compartment="A/3", items=["F2", "F1"], event="tamper", detail="x",
                      badge="B1")
    assert body == {"cabinet": "A", "compartment": "A/3", "items": ["F1", "F2"],
                    "event": "tamper", "detail": "x", "badge": "B1"}
    old = {"kind": "alarm.item_removed", "actor": "terminal", "cabinet": "A",
           "compartment": "A/1", "event": "x", "detail": "", "item": "F1,F2"}
    view = alarm_from_entry(7, T0, old)
    assert view.items == ("F1", "F2") and view.kind == "item_removed"
    wrong = {"kind": "alarm.wrong_compartment", "actor": "li", "flow": "return",
             "step": "occupancy", "item": "F1", "compartment": "A/2", "message": "empty"}
    view = alarm_from_entry(8, T0, wrong)
    assert (view.items, view.event, view.detail, view.cabinet) == (
        ("F1",), "occupancy", "empty", "A")
