"""The catalogue's case stages and case points: what the loader refuses (naming the file and
the point), and what the shipped starter holds (every point cites its source)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from custody.errors import ConfigError
from custody.rules import load_catalogue
from custody.rules.case_points import Span, parse_span

STAGES = """
version = 1
[[stage]]
id = "accepted"
name = "受案"
name_en = "accepted"
first = true
next = ["filed", "ext"]
roles = ["officer"]

[[stage]]
id = "ext"
name = "延长"
name_en = "extended"
next = ["filed"]
roles = ["officer"]

[[stage]]
id = "filed"
name = "立案"
name_en = "filed"
next = []
roles = ["officer", "case_system"]
"""

POINT = """
[[category]]
id = "filing"
name = "受案与立案"
  [[category.point]]
  id = "decide"
  name = "立案决定"
  stage = "{stage}"
  resolved_by = [{resolved}]
  deadline = "{deadline}"
  extensions = [{{ stage = "{ext}", deadline = "7d", approval = "负责人批准" }}]
  next_step = "报批"
  article = "某规定第一条"
  ladder = [{{ role = "officer", at = "0" }}]
"""


def write(tmp: Path, stages: str = STAGES, **point: str) -> Path:
    values = {"stage": "accepted", "resolved": '"filed"', "deadline": "3d", "ext": "ext"}
    values.update(point)
    path = tmp / "cat.toml"
    path.write_text(stages + POINT.format(**values), encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_catalogue(path)
    return str(info.value)


def test_a_good_catalogue_loads(tmp_path: Path) -> None:
    cat = load_catalogue(write(tmp_path))
    (point,) = cat.case_points
    assert point.id == "filing.decide" and point.span == Span(ms=3 * 86_400_000)
    assert point.extensions[0].stage == "ext" and point.resolved_by == ("filed",)
    assert cat.stages.may_follow([], "accepted") and not cat.stages.may_follow([], "filed")
    assert cat.stages.may_follow(["accepted"], "filed")
    assert not cat.stages.may_follow(["accepted", "filed"], "filed")  # never twice


@pytest.mark.parametrize("field", ["stage", "resolved", "ext"])
def test_unknown_stage_ids_are_refused_naming_file_and_point(tmp_path: Path, field: str) -> None:
    value = '"nosuch"' if field == "resolved" else "nosuch"
    path = write(tmp_path, **{field: value})
    message = refused(path)
    assert str(path) in message and "filing.decide" in message and "'nosuch'" in message


@pytest.mark.parametrize("deadline", ["0", "-3d", "3 days", "3w", "0mo", "+3d", ""])
def test_bad_durations_are_refused_naming_file_and_point(tmp_path: Path, deadline: str) -> None:
    path = write(tmp_path, deadline=deadline)
    message = refused(path)
    assert str(path) in message and "filing.decide" in message and "deadline" in message


def test_a_cycle_of_stages_is_refused_naming_the_file(tmp_path: Path) -> None:
    cyclic = STAGES.replace('next = []\nroles = ["officer", "case_system"]',
                            'next = ["accepted"]\nroles = ["officer"]')
    path = write(tmp_path, stages=cyclic)
    message = refused(path)
    assert str(path) in message and "cycle" in message and "accepted -> " in message


def test_a_stage_that_starts_and_resolves_is_refused(tmp_path: Path) -> None:
    message = refused(write(tmp_path, resolved='"accepted"'))
    assert "filing.decide" in message and "both start and resolve" in message


def test_next_naming_an_unknown_stage_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, stages=STAGES.replace('next = ["filed"]', 'next = ["nowhere"]'))
    message = refused(path)
    assert str(path) in message and "'nowhere'" in message


def test_an_unknown_role_is_refused(tmp_path: Path) -> None:
    message = refused(write(tmp_path, stages=STAGES.replace('["officer"]', '["janitor"]', 1)))
    assert "roles" in message and "accepted" in message


def test_includes_are_read_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path)
    main = tmp_path / "main.toml"
    main.write_text('version = 1\ninclude = ["cat.toml"]\n', encoding="utf-8")
    assert [p.id for p in load_catalogue(main).case_points] == ["filing.decide"]


def test_months_count_on_the_station_calendar() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 1, 30, 16, 0, tzinfo=UTC)  # 31 Jan 00:00 in Shanghai
    due = parse_span("1mo").after(start, zone)
    assert due.astimezone(zone) == datetime(2026, 2, 28, 0, 0, tzinfo=zone)
    assert parse_span("12mo").after(start, zone).astimezone(zone).year == 2027


# ------------------------------------------------------------------ the shipped starter

def test_the_starter_is_broad_and_every_point_cites_its_source() -> None:
    cat = load_catalogue()
    points = cat.case_points
    assert len({p.category for p in points}) >= 12 and len(points) >= 25
    law = re.compile(r"《[^》]+》")
    for point in points:
        assert law.search(point.article), point.id
        # an article number, or the honest mark that it is still to be confirmed
        assert "第" in point.article or "待确认" in point.article, point.id
        assert point.next_step.strip() and point.ladder
        for ext in point.extensions:
            assert ext.approval.strip(), (point.id, ext.stage)


def test_the_starter_names_the_statutory_examples() -> None:
    by_id = {p.id: p for p in load_catalogue().case_points}
    arrest = by_id["detention.arrest_application"]
    assert arrest.span == Span(ms=3 * 86_400_000) and "第九十一条" in arrest.article
    assert [e.span for e in arrest.extensions] == [Span(ms=7 * 86_400_000),
                                                   Span(ms=30 * 86_400_000)]
    assert by_id["detention.family_notice"].span == Span(ms=24 * 3_600_000)
    assert by_id["bail.bail_limit"].span == Span(months=12)
    assert by_id["surveillance.surveillance_limit"].span == Span(months=6)
    admin = by_id["admin_term.admin_case_term"]
    assert admin.span == Span(ms=30 * 86_400_000) and "第一百六十五条" in admin.article
    assert by_id["property.property_handover"].span == Span(ms=24 * 3_600_000)
    filing = by_id["filing.filing_decision"]
    assert [filing.span, *(e.span for e in filing.extensions)] == [
        Span(ms=d * 86_400_000) for d in (3, 7, 30)
    ]


def test_the_starter_header_marks_it_a_draft() -> None:
    from custody.rules.catalogue import STARTER_PATH

    text = (STARTER_PATH.parent / "stages.toml").read_text(encoding="utf-8")
    assert "DRAFT FOR THE STATION'S LEGAL SECTION TO CONFIRM" in text.splitlines()[2]


def test_docs_catalogue_lists_exactly_the_shipped_points() -> None:
    from custody.rules.catalogue_doc import render_markdown
    from tests.conftest import REPO_ROOT

    page = (REPO_ROOT / "docs" / "catalogue.md").read_text(encoding="utf-8")
    assert page == render_markdown(load_catalogue()), (
        "docs/catalogue.md is stale: python -m custody.rules.catalogue_doc > docs/catalogue.md")
    for point in load_catalogue().case_points:
        assert f"(`{point.id}`)" in page and point.article in page
