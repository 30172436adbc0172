"""Deadlines, durations, the risk-point catalogue and the rules engine's ladders."""

from __future__ import annotations

import ast
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import custody
from custody.domain import ItemSpec, ItemState
from custody.errors import ConfigError
from custody.labels import make_label
from custody.rules import (
    STARTER_PATH,
    ReturnCalendar,
    handover_due,
    load_catalogue,
    parse_catalogue,
    parse_duration_ms,
)
from custody.rules.catalogue import EMPTY
from custody.services import CustodyService
from custody.settings import RulesSettings
from custody.sink import MemorySink
from custody.testing import FakeClock, ListNotifier, photo, sample_directory

SHANGHAI = RulesSettings()


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def test_durations() -> None:
    assert parse_duration_ms("30m") == 1_800_000
    assert parse_duration_ms("-4h") == -14_400_000
    assert parse_duration_ms("+2d") == 172_800_000
    assert parse_duration_ms("0") == 0
    with pytest.raises(ConfigError, match="expected a duration"):
        parse_duration_ms("4 hours")


def test_handover_due_is_24_hours_after_seizure() -> None:
    assert handover_due(utc(2026, 3, 2, 5), SHANGHAI) == utc(2026, 3, 3, 5)
    assert handover_due(utc(2026, 3, 2, 5), RulesSettings(handover_hours=48)) == utc(2026, 3, 4, 5)


def test_daily_return_default_is_18_00_shanghai() -> None:
    cal = ReturnCalendar(SHANGHAI)
    # Monday 09:00 local -> Monday 18:00 local = 10:00 UTC
    assert cal.due_back(utc(2026, 3, 2, 1)) == utc(2026, 3, 2, 10)
    # checked out after the return time (19:00 local): due the next working day's 18:00
    assert cal.due_back(utc(2026, 3, 2, 11)) == utc(2026, 3, 3, 10)


def test_per_weekday_return_times_and_night_shift_past_midnight() -> None:
    settings = RulesSettings(return_times={"sat": "12:00", "fri": "02:00"}, day_start="06:00")
    cal = ReturnCalendar(settings)
    # Saturday 08:00 local -> Saturday 12:00 local
    assert cal.due_back(utc(2026, 3, 7, 0)) == utc(2026, 3, 7, 4)
    # Friday 20:00 local (night shift) -> Saturday 02:00 local = Friday 18:00 UTC
    assert cal.due_back(utc(2026, 3, 6, 12)) == utc(2026, 3, 6, 18)
    # Saturday 01:00 local still belongs to Friday's working day: due 02:00 the same night
    assert cal.due_back(utc(2026, 3, 6, 17)) == utc(2026, 3, 6, 18)
    assert cal.working_day(utc(2026, 3, 6, 17)).isoformat() == "2026-03-06"


def test_other_time_zone_with_daylight_saving() -> None:
    cal = ReturnCalendar(RulesSettings(timezone="Europe/Berlin"))
    # 29 March 2026: clocks go forward; 18:00 CEST = 16:00 UTC
    assert cal.due_back(utc(2026, 3, 29, 8)) == utc(2026, 3, 29, 16)
    assert cal.due_back(utc(2026, 3, 28, 8)) == utc(2026, 3, 28, 17)


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="time zone"):
        RulesSettings(timezone="Mars/Olympus").check()
    with pytest.raises(ConfigError, match="HH:MM"):
        RulesSettings(return_time="6pm").check()
    with pytest.raises(ConfigError, match="weekday"):
        RulesSettings(return_times={"funday": "18:00"}).check()
    with pytest.raises(ConfigError, match="negative"):
        RulesSettings(handover_legal_after_hours=-1).check()


def test_starter_catalogue_loads() -> None:
    catalogue = load_catalogue(STARTER_PATH)
    assert len(catalogue.categories) >= 3
    ids = {p.id for p in catalogue.points}
    assert "exhibits.cash_deposit" in ids and len(ids) >= 5
    for point in catalogue.points:
        assert point.ladder and point.name
        assert [s.at_ms for s in point.ladder] == sorted(s.at_ms for s in point.ladder)


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"state": "stored", "deadline": "1h", "ladder": []}, "non-empty list"),
        ({"state": "lost", "deadline": "1h", "ladder": [{"role": "officer"}]}, "state must be"),
        ({"state": "stored", "deadline": "soon", "ladder": [{"role": "officer"}]}, "duration"),
        ({"state": "stored", "deadline": "1h", "ladder": [{"role": "mayor"}]}, "role 'mayor'"),
        ({"state": "stored", "deadline": "1h", "colour": "red",
          "ladder": [{"role": "officer"}]}, "unknown key"),
        ({"state": "stored", "deadline": "1h", "kinds": ["car"],
          "ladder": [{"role": "officer"}]}, "unknown item kind"),
        ({"state": "stored", "deadline": "1h",
          "ladder": [{"role": "legal", "at": "+1h"}, {"role": "officer", "at": "0"}]},
         "time order"),
    ],
)
def test_catalogue_errors_name_the_point(point: dict[str, object], message: str) -> None:
    data = {"category": [{"id": "c", "name": "C", "point": [{"id": "p", "name": "P", **point}]}]}
    with pytest.raises(ConfigError, match=message):
        parse_catalogue(data, "test.toml")


def test_catalogue_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_catalogue(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[category]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_catalogue(bad)


def _service(catalogue_text: str | None = None, tmp: Path | None = None) -> tuple[
    CustodyService, FakeClock, ListNotifier
]:
    clock = FakeClock(utc(2026, 3, 2, 1))
    notifier = ListNotifier()
    catalogue = EMPTY
    if catalogue_text is not None and tmp is not None:
        path = tmp / "cat.toml"
        path.write_text(catalogue_text)
        catalogue = load_catalogue(path)
    svc = CustodyService(MemorySink(clock), sample_directory(), notifier=notifier, clock=clock,
                         catalogue=catalogue)
    return svc, clock, notifier


def test_catalogue_point_ladder_runs_and_stops_when_resolved(tmp_path: Path) -> None:
    text = """
    [[category]]
    id = "exhibits"
    name = "Exhibits"
      [[category.point]]
      id = "cash"
      name = "Deposit seized cash"
      state = "stored"
      categories = ["cash"]
      deadline = "2d"
      ladder = [{role = "officer", at = "-1d"}, {role = "supervisor", at = "0"},
                {role = "legal", at = "+1d"}]
    """
    svc, clock, notifier = _service(text, tmp_path)
    cash, phone = make_label("exhibit", 2026, 1).text, make_label("exhibit", 2026, 2).text
    svc.register_case("C1", title="t", officer="wang", items=[
        ItemSpec(cash, "exhibit", "RMB 5000", 1, clock.now(), category="Cash"),
        ItemSpec(phone, "exhibit", "phone", 1, clock.now()),
    ])
    svc.handover("C1", clerk="zhou", scanned=[cash, phone], photos=[photo("h")],
                 checklist=dict.fromkeys(svc.settings.lawfulness_checklist, True))
    svc.store(cash, compartment="A/1", photos=[photo("s")], clerk="zhou")
    svc.store(phone, compartment="A/1", photos=[photo("s")], clerk="zhou")
    clock.advance(timedelta(days=1, minutes=1))
    sent = svc.tick()
    assert [(n.person, n.refs["rule"], n.refs["item"]) for n in sent] == [
        ("wang", "exhibits.cash", cash)
    ]
    clock.advance(timedelta(days=1))
    assert [n.person for n in svc.tick()] == ["zhao"]
    svc.dispose(cash, disposal="to_prosecutor", approved_by="zhao", actor="zhou")
    clock.advance(timedelta(days=5))
    assert svc.tick() == []  # resolved: the legal step never goes out
    assert not any(n.person == "legal1" for n in notifier.sent)


def test_engine_tracks_only_open_matters() -> None:
    svc, clock, _ = _service()
    labels = [make_label("case_file", 2026, i).text for i in range(3)]
    svc.register_case("C1", title="t", officer="wang", items=[
        ItemSpec(lab, "case_file", "file", 1, clock.now()) for lab in labels
    ])
    assert len(svc.engine) == 3  # three handover matters
    svc.handover("C1", clerk="zhou", scanned=labels, photos=[photo("h")],
                 checklist=dict.fromkeys(svc.settings.lawfulness_checklist, True))
    assert len(svc.engine) == 0
    svc.store(labels[0], compartment="B/2", photos=[photo("s")], clerk="zhou")
    svc.check_out(labels[0], officer="wang", photos=[photo("o")])
    (matter,) = list(svc.engine.matters())
    assert matter.point.id == "return" and matter.label == labels[0]
    assert svc.projection.items[labels[0]].state is ItemState.CHECKED_OUT


@given(
    moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                        timezones=st.just(UTC)),
    zone=st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York"]),
    fri=st.sampled_from(["18:00", "02:00", "23:30"]),
)
@settings(max_examples=200, deadline=None)
def test_due_back_is_the_next_return_time(moment: datetime, zone: str, fri: str) -> None:
    rules = RulesSettings(timezone=zone, return_times={"fri": fri})
    cal = ReturnCalendar(rules)
    due = cal.due_back(moment)
    assert moment < due <= moment + timedelta(days=2)
    local = due.astimezone(rules.zone)
    day = cal.working_day(due - timedelta(minutes=1))
    hh, mm = rules.return_time_for(day.weekday())
    assert (local.hour, local.minute) == (hh, mm)  # none of these times is in a DST gap


def test_custody_domain_imports_only_the_standard_library() -> None:
    """The domain, rules, services and projection import nothing but stdlib and custody."""
    root = Path(custody.__file__).resolve().parent
    mine = [root / "domain", root / "rules", root / "services", root / "catalogue"]
    files = [p for d in mine for p in d.rglob("*.py")] + [
        root / n for n in ("projection.py", "queries.py", "settings.py", "sink.py", "testing.py")
    ]
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top == "custody" or top in sys.stdlib_module_names, (path, name)
                assert not name.startswith("custody.ledger"), (path, name)
