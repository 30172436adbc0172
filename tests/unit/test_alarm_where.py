"""How the kiosk names a failed notice's alarm: staff by name and role, a complainant
(recorded by phone number) by role only; the notifier's reason as the alarm's detail."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from custody.alarms import AlarmKind, alarm_from_entry
from terminal.pages import alarm_json

AT = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")


def _alarm(role: str, person: str) -> dict[str, object]:
    return {"kind": AlarmKind.NOTICE_FAILED.entry_kind, "actor": "sms", "key": "ladder:x",
            "role": role, "person": person, "reason": "gave up after 3 attempts: no network"}


def test_a_staff_member_is_named_with_role_and_reason() -> None:
    alarm = alarm_from_entry(7, AT, _alarm("officer", "off1"))
    assert (alarm.kind, alarm.person, alarm.role) == ("notice_failed", "off1", "officer")
    assert alarm.detail == "gave up after 3 attempts: no network"
    assert alarm.what_to_do.startswith("The person was not told by SMS")
    shown = alarm_json(alarm, "zh_CN", ZONE, {"off1": "民警一"})
    assert shown["where"] == "民警一 (办案民警)"
    assert shown["text"] == ("发给民警一 (办案民警)的短信通知未能送达："
                             "gave up after 3 attempts: no network")
    assert shown["time"] == "12-06 17:30"
    en = alarm_json(alarm, "en", ZONE, {"off1": "Officer One"})
    assert en["text"] == ("SMS notice to Officer One (Officer) could not be delivered: "
                          "gave up after 3 attempts: no network")


def test_a_complainant_is_shown_by_role_only() -> None:
    alarm = alarm_from_entry(8, AT, _alarm("complainant", "+8613812345678"))
    shown = alarm_json(alarm, "en", ZONE, {"off1": "Officer One"})
    assert shown["where"] == "Complainant"
    assert "+8613812345678" not in str(shown)


def test_other_alarms_keep_their_place() -> None:
    lockout = alarm_from_entry(9, AT, {"kind": "alarm.pin_lockout", "badge": "B-1",
                                       "person": "off1", "attempts": 3})
    assert alarm_json(lockout, "en", ZONE, {"off1": "Officer One"})["where"] == "B-1"
