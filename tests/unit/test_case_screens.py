"""The kiosk's case screens as templates: a supervisor sees the case ladder beside the
custody ladder (the overdue case first), an officer the case list alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from custody.domain import ItemSpec
from custody.labels import make_label
from custody.services import CustodyService
from custody.settings import TerminalSettings
from custody.sink import MemorySink
from custody.stage_queries import custody_escalations, open_case_deadlines
from custody.testing import FakeClock, ListNotifier, sample_directory
from terminal.app import HERE
from terminal.i18n import LANGUAGES, translate

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def render(role: str, rows: object, custody: object) -> str:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                      autoescape=select_autoescape(("html",)))
    env.globals["station_zone"] = ZoneInfo("Asia/Shanghai")
    person = SimpleNamespace(id="zhao", name="赵", role=role)
    return env.get_template("case_home.html").render(
        t=lambda key, **p: translate(key, "zh_CN", **p), lang="zh_CN", languages=LANGUAGES,
        base="/terminal", session=None, person=person, settings=TerminalSettings(),
        station_name="", screen="cases", rows=rows, custody=custody)


def test_the_supervisor_sees_both_ladders_and_the_officer_the_cases() -> None:
    clock = FakeClock(T0)
    svc = CustodyService(MemorySink(clock), sample_directory(), notifier=ListNotifier(),
                         clock=clock)
    for n, case in enumerate(("C1", "C2"), start=1):
        svc.register_case(case, title="t", officer="wang", items=[ItemSpec(
            make_label("case_file", 2026, n).text, "case_file", "卷宗", 1, T0)])
    svc.record_stage("C1", "accepted", actor="wang", role="officer", document="受案登记表",
                     effective_at=T0 - timedelta(days=4))
    svc.record_stage("C2", "accepted", actor="wang", role="officer", document="受案登记表")
    clock.advance(timedelta(days=1, hours=1))
    svc.tick()
    rows = open_case_deadlines(svc.projection, svc.engine, svc.catalogue, clock.now())
    custody = custody_escalations(svc.projection, svc.engine)
    page = render("supervisor", rows, custody)
    assert 'id="custody-ladder"' in page and 'id="case-deadlines"' in page
    assert page.index('data-case="C1"') < page.index('data-case="C2"')  # overdue first
    assert 'data-overdue-case="C1"' in page and 'data-overdue-case="C2"' not in page
    assert "案件督办:第" in page and "下一步:审查受案材料" in page
    assert f'data-item="{make_label("case_file", 2026, 1).text}"' in page
    officer = render("officer", rows, [])
    assert 'id="custody-ladder"' not in officer and "我的案件期限" in officer
