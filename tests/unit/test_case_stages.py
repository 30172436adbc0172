"""Recording case stages on the shipped starter catalogue: refusals write nothing, an event id
makes a post idempotent, the complainant hears only of the stages that concern them, and a
late arrest application climbs officer -> supervisor -> legal in Chinese with the next step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custody.domain import Complainant, ItemSpec, RoleError, UnknownCaseError
from custody.errors import LockerError
from custody.labels import make_label
from custody.services import CustodyService
from custody.services.stages import EventConflictError, StageOrderError, UnknownStageError
from custody.sink import MemorySink
from custody.testing import FakeClock, ListNotifier, sample_directory

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def world() -> tuple[CustodyService, FakeClock, ListNotifier, MemorySink]:
    clock, notifier = FakeClock(T0), ListNotifier()
    sink = MemorySink(clock)
    svc = CustodyService(sink, sample_directory(), notifier=notifier, clock=clock)
    svc.register_case("C1", title="入室盗窃", officer="wang",
                      complainant=Complainant("黄女士", "+8613900000000"),
                      items=[ItemSpec(make_label("case_file", 2026, 1).text, "case_file", "卷宗",
                                      1, T0)])
    return svc, clock, notifier, sink


def test_refusals_write_nothing(world: tuple[CustodyService, FakeClock, ListNotifier,
                                             MemorySink]) -> None:
    svc, _, _, sink = world
    size = sink.size
    cases: list[tuple[type[LockerError], dict[str, object]]] = [
        (UnknownStageError, {"stage": "teleported"}),
        (StageOrderError, {"stage": "detained"}),  # before acceptance and filing
        (RoleError, {"stage": "accepted", "role": "clerk"}),
        (RoleError, {"stage": "accepted", "role": "supervisor"}),  # wang is an officer
        (UnknownCaseError, {"case_id": "NOPE"}),
        (LockerError, {"stage": "accepted", "document": "  "}),
        (LockerError, {"stage": "accepted", "effective_at": T0 + timedelta(hours=1)}),
    ]
    for error, change in cases:
        args: dict[str, object] = {"case_id": "C1", "stage": "accepted", "actor": "wang",
                                   "role": "officer", "document": "受案登记表", **change}
        with pytest.raises(error):
            svc.record_stage(**args)  # type: ignore[arg-type]
        assert sink.size == size, change
    svc.record_stage("C1", "accepted", actor="wang", role="officer", document="受案登记表")
    with pytest.raises(StageOrderError):  # never twice
        svc.record_stage("C1", "accepted", actor="wang", role="officer", document="受案登记表")


def test_an_event_id_makes_a_post_idempotent(world: tuple[CustodyService, FakeClock,
                                                          ListNotifier, MemorySink]) -> None:
    svc, _, _, sink = world
    first = svc.record_stage("C1", "accepted", actor="cms", role="case_system",
                             document="受案登记表", number="受字1号", event_id="ev-1")
    size = sink.size
    again = svc.record_stage("C1", "accepted", actor="cms", role="case_system",
                             document="受案登记表", number="受字1号", event_id="ev-1")
    assert again == first and sink.size == size
    with pytest.raises(EventConflictError):
        svc.record_stage("C1", "filed", actor="cms", role="case_system",
                         document="立案决定书", event_id="ev-1")
    assert sink.size == size


def test_the_complainant_hears_of_their_stages_only(world: tuple[CustodyService, FakeClock,
                                                                 ListNotifier, MemorySink]
                                                    ) -> None:
    svc, _, notifier, _ = world
    svc.record_stage("C1", "accepted", actor="wang", role="officer", document="受案登记表")
    svc.record_stage("C1", "not_filed", actor="wang", role="officer",
                     document="不予立案通知书", number="不立字12号")
    svc.record_stage("C1", "not_filed_served", actor="wang", role="officer", document="送达回执")
    told = [n for n in notifier.sent if n.role == "complainant"]
    # told once of the acceptance (at registration: the accepted stage shares its notice),
    # then of not filing with the notice of the reason; not of the notice being served
    assert [n.refs["stage"] for n in told] == ["received", "not_filed"]
    assert "不予立案通知书" in told[1].text and "不立字12号" in told[1].text
    for notice in told[1:]:  # the stage notices: no internal detail (officer, deadline)
        assert "wang" not in notice.text and "期限" not in notice.text


def test_a_late_arrest_application_climbs_the_ladder_in_chinese(
        world: tuple[CustodyService, FakeClock, ListNotifier, MemorySink]) -> None:
    svc, clock, _, _ = world
    for stage, doc in (("accepted", "受案登记表"), ("filed", "立案决定书"), ("detained", "拘留证")):
        svc.record_stage("C1", stage, actor="wang", role="officer", document=doc)
    order = []
    for _ in range(5):
        clock.advance(timedelta(days=1))
        order += [n for n in svc.tick() if n.refs["rule"] == "detention.arrest_application"]
    assert [n.person for n in order] == ["wang", "zhao", "legal1"]
    for notice in order:
        assert "案件C1" in notice.text and "刑事拘留" in notice.text
        assert "提请批准逮捕书" in notice.text and "2026-03-05 09:00" in notice.text
    # an approved extension to 7 days moves the deadline and starts a fresh ladder
    svc.record_stage("C1", "detention_ext_7", actor="zhao", role="supervisor",
                     document="延长提请批准逮捕期限审批表", number="延字1号")
    (matter,) = [m for m in svc.engine.cases.of("C1")
                 if m.point.id == "detention.arrest_application"]
    assert matter.deadline == T0 + timedelta(days=7)


def test_case_notices_render_as_sms_in_chinese(
        world: tuple[CustodyService, FakeClock, ListNotifier, MemorySink]) -> None:
    from zoneinfo import ZoneInfo

    from custody.services.notices import notice_body
    from notify.texts import Texts, kind_of, values_of

    svc, clock, notifier, _ = world
    for stage, doc in (("accepted", "受案登记表"), ("not_filed", "不予立案通知书")):
        svc.record_stage("C1", stage, actor="wang", role="officer", document=doc, number="12号")
    clock.advance(timedelta(days=3))
    svc.tick()
    texts, zone = Texts.load(), ZoneInfo("Asia/Shanghai")
    rendered = {}
    for notice in notifier.sent:
        body = notice_body(notice)
        kind = kind_of(notice.role, notice.refs)
        rendered[kind] = texts.render(kind, "zh-CN", values_of(body, "zh-CN", zone, "某派出所",
                                                              "+861012345678"))
    assert "不予立案通知书（12号）" in rendered["progress.not_filed"]
    officer = rendered["case.officer"]
    assert "案件C1（决定不予立案）" in officer and "下一步：将不予立案通知书送达控告人" in officer


def test_queries_list_the_overdue_first_and_both_ladders(
        world: tuple[CustodyService, FakeClock, ListNotifier, MemorySink]) -> None:
    from custody.stage_queries import custody_escalations, open_case_deadlines

    svc, clock, _, _ = world
    svc.register_case("C2", title="诈骗", officer="chen",
                      items=[ItemSpec(make_label("case_file", 2026, 2).text, "case_file", "卷宗",
                                      1, T0)])
    svc.record_stage("C1", "accepted", actor="wang", role="officer", document="受案登记表")
    svc.record_stage("C2", "accepted", actor="chen", role="officer", document="受案登记表",
                     effective_at=T0 - timedelta(days=1))
    svc.record_stage("C2", "filing_review_7", actor="sun", role="supervisor",
                     document="延长立案审查期限审批表", effective_at=T0 - timedelta(hours=12))
    clock.advance(timedelta(days=5))
    svc.tick()
    rows = open_case_deadlines(svc.projection, svc.engine, svc.catalogue, clock.now())
    assert [(r.case_id, r.overdue) for r in rows] == [("C1", True), ("C2", False)]
    c2 = rows[1]
    assert c2.extended_by == "filing_review_7" and c2.deadline == T0 + timedelta(days=6)
    assert c2.stage_name == "刑事受案" and "呈请立案报告书" in c2.next_step
    assert rows[0].ladder_step == 3  # officer, supervisor, legal section: all told
    assert [r.case_id for r in open_case_deadlines(svc.projection, svc.engine, svc.catalogue,
                                                   clock.now(), officer="chen")] == ["C2"]
    # the custody ladder beside it: the registered files were never handed over
    custody = custody_escalations(svc.projection, svc.engine)
    assert {c.label for c in custody} == {make_label("case_file", 2026, n).text for n in (1, 2)}
    assert all(c.point == "handover" and c.step >= 2 for c in custody)


def test_a_case_ladder_does_not_wait_on_a_step_nobody_was_given(
        world: tuple[CustodyService, FakeClock, ListNotifier, MemorySink]) -> None:
    svc, clock, _, _ = world
    svc.record_stage("C1", "accepted", actor="wang", role="officer", document="受案登记表")
    clock.advance(timedelta(days=2, hours=1))  # the officer's reminder (1 day before) is due
    (reminder,) = [n for n in svc.tick() if n.refs["rule"] == "filing.filing_decision"]
    svc.record_delivery("notice.failed", {"key": reminder.key, "channel": "modem",
                                          "reason": "unknown subscriber", "final": True,
                                          "attempt": 1, "code": "1"})
    # nobody was given the reminder: the supervisor's step comes at once, not at the deadline
    later = [n for n in svc.tick() if n.refs["rule"] == "filing.filing_decision"]
    assert [(n.role, n.refs["step"]) for n in later] == [("supervisor", "2")]
