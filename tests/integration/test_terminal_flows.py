"""The kiosk end to end in headless Chromium, on the simulated station (real Modbus TCP).

A whole handover with a discrepancy (a missing item, an item not on the manifest, a label
with a wrong check character) and its storage; a morning check-out of two files one by one
and an evening return with the overdue file and its escalation step on top; a forced door
alarmed on every screen until a clerk acknowledges it. Each step asserts on the screen and
on the ledger. The screenshots of docs/screens/ are taken here and in test_terminal_signin.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page

from custody.labels import make_label
from lockerd.simkiosk import SimKiosk
from terminal.sessions import TerminalSettings
from tests.integration.test_terminal_support import (
    door,
    message,
    scan,
    shoot,
    sign_in,
    stock,
)

ZONE = ZoneInfo("Asia/Shanghai")
CHECKLIST_PREFIX = ".checklist input"


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimKiosk]:
    station = SimKiosk(
        tmp_path_factory.mktemp("station") / "data",
        settings=TerminalSettings(idle_lock_s=600, pin_max_attempts=3),  # -> [terminal]
        unlock_pulse_ms=120_000,  # the lock stays released while the test walks to the door
    ).start()
    # a working morning, 08:30 local, tomorrow (the clock only moves forward)
    day = (station.clock.now().astimezone(ZONE) + timedelta(days=1)).date()
    station.clock.jump_to(datetime.combine(day, time(8, 30), ZONE))
    yield station
    station.stop()


def kinds(kiosk: SimKiosk) -> list[str]:
    return [str(b["kind"]) for b in kiosk.entries()]


def test_handover_with_discrepancy_then_storage(kiosk: SimKiosk, page: Page) -> None:
    url = kiosk.base_url
    f1 = make_label("case_file", 2026, 11).text
    e2 = make_label("exhibit", 2026, 12).text
    e3 = make_label("exhibit", 2026, 13).text  # on the manifest, never brought
    stray = make_label("exhibit", 2025, 999).text  # a real label, not on this manifest
    kiosk.register(
        "2026-XS-0100",
        "wang",
        [(f1, "询问笔录", 1), (e2, "手机 (iPhone 15)", 1), (e3, "现金 5000 元", 1)],
        title="盗窃案",
    )

    sign_in(page, url, "C-1001", "1234")
    page.wait_for_url("**/home")
    assert "2026-XS-0100" in page.inner_text("main")
    shoot(page, url, "home-clerk")

    page.click("[data-case='2026-XS-0100']")
    page.wait_for_url("**/handover/2026-XS-0100")
    assert page.locator("tr.line.pending").count() == 3

    # the clerk holds the case file to the camera and taps Scan
    kiosk.camera.show(f1)
    page.click("#scan")
    page.locator(f"tr.line.ticked[data-label='{f1}']").wait_for()
    message(page, f1)
    assert page.locator(f"tr[data-label='{f1}'] img.thumb").count() == 1  # its photo, shown

    # the handheld scanner reads the phone's label
    kiosk.camera.show(e2)
    scan(page, e2)
    page.locator(f"tr.line.ticked[data-label='{e2}']").wait_for()

    # a misread label (wrong check character): a clear message, nothing ticked or listed
    bad = e2[:-1] + ("A" if e2[-1] != "A" else "B")
    scan(page, bad)
    assert bad in message(page, "校验位")
    assert page.locator("tr.line.ticked").count() == 2
    assert page.locator("#extra").is_hidden()

    # an item that is not on the manifest, held to the camera: listed as extra, plainly
    kiosk.camera.show(stray)
    page.click("#scan")
    page.locator(f"#extra li[data-extra='{stray}']").wait_for()
    assert stray in message(page, "不在本清单")
    assert e3 in page.inner_text("#missing")
    shoot(page, url, "handover")

    before = kinds(kiosk)
    page.click("#commit")  # checklist not signed
    message(page, "合法性审查")
    for box in page.locator(CHECKLIST_PREFIX).all():
        box.check()
    page.click("#commit")  # discrepancy without a reason
    message(page, "原因")
    assert kinds(kiosk) == before  # nothing recorded by either refusal

    page.fill("#reason", "现金未随案移交,已电话通知办案民警补交;多出手机为同案另一部。")
    page.click("#commit")
    page.wait_for_url("**/storage/2026-XS-0100")
    handed = kiosk.entries("case.handed_over")[-1]
    assert handed["actor"] == "zhou" and handed["clerk"] == "zhou"
    assert handed["items"] == sorted([f1, e2])
    assert handed["missing"] == [e3] and handed["extra"] == [stray]
    assert handed["reason"].startswith("现金未随案移交")
    assert len(handed["photos"]) >= 2
    for ref in handed["photos"]:
        assert kiosk.photos.get(ref["sha256"])  # the very photos shown on screen
    flagged = [n for n in kiosk.entries("notice.sent") if n["person"] == "zhao"]
    assert any("2026-XS-0100" in n["subject"] for n in flagged)
    shoot(page, url, "storage")

    # storage: the compartment named and lit, the door state live, the photo before commit
    page.click("#store-open")
    page.wait_for_url("**/bay")
    where = page.inner_text("#compartment-name").strip()
    index = int(where.split("/")[1])
    assert kiosk.world.cabinet(1).comp(index).led
    door(page, closed=True)
    kiosk.world.open_door(1, index)
    door(page, closed=False)
    shoot(page, url, "bay-store")
    kiosk.world.put_item(1, index)
    assert page.locator("#commit").is_disabled()  # no commit before the photo is shown
    kiosk.world.close_door(1, index)
    door(page, closed=True)
    kiosk.camera.show(f1, e2)
    page.click("#photo")
    page.locator("#step-photo[src*='/api/photo/']").wait_for()
    page.click("#commit")
    page.wait_for_url("**/home")
    message(page, where)
    stored = [b for b in kiosk.entries("item.stored") if b["case"] == "2026-XS-0100"]
    assert sorted(b["item"] for b in stored) == sorted([f1, e2])
    assert all(b["compartment"] == where and b["actor"] == "zhou" for b in stored)
    assert not kiosk.world.cabinet(1).comp(index).led
    kiosk.call(kiosk.drain_alarms())
    assert not [k for k in kinds(kiosk) if k.startswith("alarm.")]  # the opened door was ours


def test_morning_check_out_and_evening_return(kiosk: SimKiosk, page: Page) -> None:
    url = kiosk.base_url
    f21 = make_label("case_file", 2026, 21).text
    f22 = make_label("case_file", 2026, 22).text
    stock(kiosk, "2026-XS-0200", "li", [(f21, "卷宗(一)", 4), (f22, "卷宗(二)", 5)])

    sign_in(page, url, "P-2002", "2468")
    page.wait_for_url("**/officer")
    assert page.locator("[data-take]").count() == 2
    assert page.get_attribute(f"[data-take='{f21}']", "class") is not None
    assert "next" in (page.get_attribute(f"[data-take='{f21}']", "class") or "")
    shoot(page, url, "officer-morning")

    page.click("#take-all")  # opened one by one: each confirmation opens the next
    for label, index in ((f21, 4), (f22, 5)):
        page.wait_for_url("**/bay")
        page.locator("#compartment-name").filter(has_text=f"A/{index}").wait_for()
        assert kiosk.world.cabinet(1).comp(index).led
        kiosk.world.open_door(1, index)
        door(page, closed=False)
        kiosk.world.take_item(1, index)
        kiosk.world.close_door(1, index)
        door(page, closed=True)
        kiosk.camera.show(label)
        page.click("#photo")
        page.locator("#step-photo[src*='/api/photo/']").wait_for()
        page.click("#commit")
        message(page, label)
    page.wait_for_url("**/officer")
    out = [b for b in kiosk.entries("item.checked_out") if b["case"] == "2026-XS-0200"]
    assert [b["item"] for b in out] == [f21, f22]
    assert all(b["officer"] == "li" and b["actor"] == "li" and b["photos"] for b in out)
    assert page.locator("[data-take]").count() == 0

    # evening, past the return time and the supervisor's step: overdue on top
    day = kiosk.clock.now().astimezone(ZONE).date()
    kiosk.clock.jump_to(datetime.combine(day, time(19, 30), ZONE))
    kiosk.custody.tick()
    page.wait_for_url("**/signin?why=idle")  # the morning's session locks itself
    assert "自动锁定" in page.inner_text("#signin-notice")
    sign_in(page, url, "P-2002", "2468")
    page.wait_for_url("**/officer")
    overdue = page.locator("#overdue")
    overdue.wait_for()
    assert overdue.locator(f"[data-overdue='{f21}']").count() == 1
    assert "第 2 级" in overdue.inner_text() and "带班领导" in overdue.inner_text()
    shoot(page, url, "officer-evening")

    kiosk.camera.show(f21)
    scan(page, f21)  # the officer scans the file he brings back
    page.wait_for_url("**/bay")
    assert page.inner_text("#compartment-name").strip() == "A/4"  # where it came from
    kiosk.world.open_door(1, 4)
    kiosk.world.put_item(1, 4)
    kiosk.world.close_door(1, 4)
    door(page, closed=True)
    shoot(page, url, "bay-return")
    page.click("#photo")
    page.locator("#step-photo[src*='/api/photo/']").wait_for()
    page.click("#commit")
    page.wait_for_url("**/officer")
    returned = [b for b in kiosk.entries("item.returned") if b["item"] == f21]
    assert len(returned) == 1 and returned[0]["late"] is True and returned[0]["actor"] == "li"
    assert page.locator(f"[data-overdue='{f21}']").count() == 0
    assert page.locator(f"[data-overdue='{f22}']").count() == 1  # still out, still on top


def test_forced_door_alarm_until_a_clerk_acknowledges(kiosk: SimKiosk, page: Page) -> None:
    url = kiosk.base_url
    sign_in(page, url, "P-2001", "5678")
    page.wait_for_url("**/officer")
    kiosk.world.force_door(1, 7)  # someone pries compartment 7 open
    banner = page.locator("#alarm-banner")
    banner.wait_for(state="visible")
    assert "A/7" in banner.inner_text() and "强行打开" in banner.inner_text()
    assert banner.locator(".ack").count() == 0  # an officer cannot acknowledge
    alarm = kiosk.entries("alarm.door_forced")[-1]
    assert alarm["compartment"] == "A/7"
    # the intruder lets it shut: left open, it would raise door_left_open after the close
    # timeout (120 s of real time), which a slow run of this test could reach
    kiosk.world.close_door(1, 7)

    sign_in(page, url, "C-1001", "1234")
    page.wait_for_url("**/home")
    banner.wait_for(state="visible")
    shoot(page, url, "alarm")
    banner.wait_for(state="visible")
    page.click(f"[data-alarm='{alarm['seq']}'] .ack")
    banner.wait_for(state="hidden")
    acks = kiosk.entries("alarm.acknowledged")
    assert [(a["alarm"], a["actor"]) for a in acks] == [(alarm["seq"], "zhou")]
    assert not [k for k in kinds(kiosk) if k.startswith("alarm.") and k not in (
        "alarm.door_forced", "alarm.acknowledged")]  # nothing else was alarmed all day

    # the cabinet's controller drops off the line: alarmed too, until acknowledged
    kiosk.world.drop_unit(1)
    banner.wait_for(state="visible")
    assert "柜体 A 离线" in banner.inner_text()
    offline = kiosk.entries("alarm.cabinet_offline")[-1]
    kiosk.world.restore_unit(1)
    page.click(f"[data-alarm='{offline['seq']}'] .ack")
    banner.wait_for(state="hidden")
    assert kiosk.entries("alarm.acknowledged")[-1]["alarm"] == offline["seq"]
    page.goto(f"{url}/alarms")
    assert page.locator("#no-alarms").is_visible()
    assert Path(__file__).resolve().parents[2].joinpath("docs", "screens").is_dir()
