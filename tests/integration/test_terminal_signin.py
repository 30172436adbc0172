"""Bad input at the kiosk, in headless Chromium: wrong PINs and the lockout, the idle lock,
the network to the daemon lost and back (a retried action is recorded once), the language.

Each case gives a clear message on the screen, and the ledger records nothing false.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import BrowserContext, Page, Route

from custody.labels import make_label
from lockerd.simkiosk import SimKiosk
from terminal.sessions import TerminalSettings
from tests.integration.conftest import wait_until
from tests.integration.test_terminal_support import (
    door,
    message,
    scan,
    shoot,
    sign_in,
    stock,
)

IDLE_S = 300
LOCKOUT_S = 600


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimKiosk]:
    station = SimKiosk(
        tmp_path_factory.mktemp("station") / "data",
        settings=TerminalSettings(
            idle_lock_s=IDLE_S,
            pin_max_attempts=3,
            pin_lockout_s=LOCKOUT_S,
        ),  # written to [terminal] of the station's config
        # the lock stays released while the test walks to the door: the page's load after
        # the release can take longer than a real 0.5 s pulse on a busy machine
        unlock_pulse_ms=120_000,
    ).start()
    yield station
    station.stop()


def tap_pin(page: Page, pin: str) -> None:
    page.click(".keypad [data-key='clear']")
    for digit in pin:
        page.click(f".keypad [data-digit='{digit}']")
    page.click(".keypad [data-key='ok']")


def test_wrong_pin_then_lockout(kiosk: SimKiosk, page: Page) -> None:
    url = kiosk.base_url
    page.goto(f"{url}/signin")
    shoot(page, url, "signin")

    def badge_step() -> None:
        page.locator("#badge").focus()
        scan(page, "C-1001")
        page.locator("#step-pin").wait_for(state="visible")

    shoot(page, url, "signin-pin", prepare=badge_step)

    page.locator("#badge").focus()
    scan(page, "X-0000")  # a badge nobody carries
    assert "未在本站登记" in message(page, "未在本站登记")

    before = len(kiosk.entries())
    page.fill("#badge", "")
    badge_step()
    assert "周燕" in page.inner_text("#pin-prompt")
    tap_pin(page, "0000")
    assert "2" in message(page, "密码错误")
    tap_pin(page, "9999")
    message(page, "再错 1 次")
    tap_pin(page, "1111")  # third wrong PIN: the badge locks
    assert "已锁定" in message(page, "分钟")
    assert page.locator("#step-badge").is_visible()
    # even the right PIN is refused while locked: the badge step says so
    badge = page.locator("#badge")
    badge.fill("")
    badge.focus()
    page.evaluate("() => { document.querySelector('#message').textContent = ''; }")
    scan(page, "C-1001")
    message(page, "分钟")
    assert page.locator("#step-pin").is_hidden()
    assert "/signin" in page.url
    new = kiosk.entries()[before:]
    assert [(b["kind"], b["person"], b["attempts"]) for b in new] == [
        ("alarm.pin_lockout", "zhou", 3)
    ]  # the lockout, truthfully; no sign-in, nothing else

    kiosk.clock.advance(timedelta(seconds=LOCKOUT_S + 1))
    # a physical keyboard types the PIN as well as the on-screen pad
    page.goto(f"{url}/signin")
    badge_step()
    page.keyboard.type("1239")
    page.locator("#pin-dots[data-length='4']").wait_for()
    page.keyboard.press("Backspace")
    page.locator("#pin-dots[data-length='3']").wait_for()
    page.keyboard.type("4")
    assert page.input_value("#scanbox") == ""  # the digits went to the PIN, nowhere else
    page.keyboard.press("Enter")
    page.wait_for_url("**/home")
    banner = page.locator("#alarm-banner")
    banner.wait_for(state="visible")  # the lockout is an alarm a clerk acknowledges
    assert "C-1001" in banner.inner_text()
    page.click("#alarm-link")
    page.wait_for_url("**/alarms")
    page.click("[data-alarm] .ack")
    page.locator("#no-alarms").wait_for()
    banner.wait_for(state="hidden")
    assert kiosk.entries("alarm.acknowledged")[-1]["actor"] == "zhou"


def test_idle_lock_and_language(kiosk: SimKiosk, page: Page) -> None:
    url = kiosk.base_url
    sign_in(page, url, "C-1001", "1234")
    page.wait_for_url("**/home")
    page.click("button.lang[data-lang='en']")
    page.wait_for_function("() => document.querySelector('h1').textContent.includes('Handovers')")
    assert page.inner_text("#signout") == "Sign out"
    page.click("button.lang[data-lang='zh_CN']")
    page.wait_for_function("() => document.querySelector('h1').textContent.includes('待移交')")
    before = len(kiosk.entries())
    kiosk.clock.advance(timedelta(seconds=IDLE_S + 1))  # nobody touches the screen
    page.wait_for_url("**/signin?why=idle")
    assert "自动锁定" in page.inner_text("#signin-notice")
    page.goto(f"{url}/home")  # the session is gone, not just hidden
    page.wait_for_url("**/signin?why=idle")
    assert len(kiosk.entries()) == before


def test_network_lost_and_back(kiosk: SimKiosk, context: BrowserContext, page: Page) -> None:
    url = kiosk.base_url
    f1 = make_label("case_file", 2026, 501).text
    kiosk.register("2026-XS-0500", "wang", [(f1, "讯问笔录", 1)])
    sign_in(page, url, "C-1001", "1234")
    page.wait_for_url("**/home")
    page.goto(f"{url}/handover/2026-XS-0500")
    kiosk.camera.show(f1)

    def offline() -> None:
        context.set_offline(True)
        page.locator("#net-banner").wait_for(state="visible")

    def online() -> None:
        context.set_offline(False)
        page.locator("#net-banner").wait_for(state="hidden")

    shoot(page, url, "network-lost", prepare=offline, after=online)

    before = len(kiosk.entries())
    kiosk.camera.vanish()  # the camera unplugged: no step without its photo
    page.click("#scan")
    message(page, "摄像头无响应")
    kiosk.camera.restore()
    assert page.locator("tr.line.ticked").count() == 0
    offline()
    assert "断开" in page.inner_text("#net-banner")
    page.click("#scan")
    message(page, "没有应答")
    assert page.locator("tr.line.ticked").count() == 0
    online()
    message(page, "请再按一次")
    page.click("#scan")
    page.locator(f"tr.line.ticked[data-label='{f1}']").wait_for()

    # the commit reaches the daemon, but its answer is lost on the way back
    for box in page.locator(".checklist input").all():
        box.check()
    lost: list[int] = []
    answers: list[dict[str, object]] = []

    def lose_answer(route: Route) -> None:
        response = route.fetch()  # the daemon does the work ...
        if not lost:
            lost.append(response.status)
            route.abort("internetdisconnected")  # ... and the page never hears of it
        else:
            answers.append(response.json())
            route.fulfill(response=response)

    page.route("**/api/handover/*/commit", lose_answer)
    page.click("#commit")
    message(page, "请再按一次")  # no answer; once the status poll is through: press again
    assert lost == [200]
    handed = [b for b in kiosk.entries("case.handed_over") if b["case"] == "2026-XS-0500"]
    assert len(handed) == 1  # it was recorded: the page said it could not tell
    page.click("#commit")  # the clerk presses again: same action id
    page.wait_for_url("**/storage/2026-XS-0500")
    assert len(answers) == 1 and answers[0]["replayed"] is True
    again = [b for b in kiosk.entries("case.handed_over") if b["case"] == "2026-XS-0500"]
    assert again == handed  # recorded once
    assert [b["kind"] for b in kiosk.entries()[before:]] == [
        "case.handed_over",
        "notice.sent",
    ]  # the handover and the complainant's notice
    page.unroute("**/api/handover/*/commit")


def test_every_action_needs_the_right_person(kiosk: SimKiosk, context: BrowserContext,
                                             page: Page) -> None:
    url = kiosk.base_url
    context.clear_cookies()
    before = len(kiosk.entries())
    body = {"action_id": "attempt-0001", "checklist": {}, "reason": "x"}
    anonymous = page.request.post(f"{url}/api/handover/2026-XS-0500/commit", data=body)
    assert anonymous.status == 401 and anonymous.json()["signed_in"] is False
    sign_in(page, url, "P-2001", "5678")  # an officer
    page.wait_for_url("**/officer")
    officer = page.request.post(f"{url}/api/handover/2026-XS-0500/commit", data=body)
    assert officer.status == 403 and "无权" in officer.json()["message"]
    missing_id = page.request.post(f"{url}/api/checkout/open", data={"label": "x"})
    assert missing_id.status == 400
    assert len(kiosk.entries()) == before  # nothing recorded by any of them
    # the read API the terminal is mounted on still answers beside it
    assert page.request.get(f"{kiosk.api_url}/v1/health").status == 200


def test_a_step_left_half_done_is_not_passed_over(kiosk: SimKiosk, page: Page) -> None:
    url = kiosk.base_url
    f1 = make_label("case_file", 2026, 601).text
    f2 = make_label("case_file", 2026, 602).text
    f3 = make_label("case_file", 2026, 603).text
    stock(kiosk, "2026-XS-0600", "li", [(f1, "卷宗(甲)", 2), (f2, "卷宗(乙)", 3),
                                        (f3, "卷宗(丙)", 4)])
    sign_in(page, url, "P-2002", "2468")
    page.wait_for_url("**/officer")

    # opened, nothing taken, cancelled: nothing recorded at all
    before = len(kiosk.entries())
    page.click(f"[data-take='{f1}']")
    page.wait_for_url("**/bay")
    kiosk.world.open_door(1, 2)
    door(page, closed=False)
    page.click("#cancel")
    message(page, "关上")  # the door is open: close it first
    kiosk.world.close_door(1, 2)
    door(page, closed=True)
    page.click("#cancel")
    page.wait_for_url("**/officer")
    kiosk.call(kiosk.drain_alarms())
    assert len(kiosk.entries()) == before

    # opened, the file taken, the door shut, then cancelled instead of confirmed: an alarm
    page.click(f"[data-take='{f2}']")
    page.wait_for_url("**/bay")
    kiosk.world.open_door(1, 3)
    kiosk.world.take_item(1, 3)
    kiosk.world.close_door(1, 3)
    door(page, closed=True)
    page.click("#cancel")
    page.wait_for_url("**/officer")
    banner = page.locator("#alarm-banner")
    banner.wait_for(state="visible")
    assert "A/3" in banner.inner_text()
    removed = [b for b in kiosk.entries("alarm.item_removed") if b["compartment"] == "A/3"]
    assert len(removed) == 1 and removed[0]["items"] == [f2]
    assert not [b for b in kiosk.entries("item.checked_out") if b["case"] == "2026-XS-0600"]

    # opened, the file taken, and the officer walks away: the idle lock abandons the step
    page.click(f"[data-take='{f3}']")
    page.wait_for_url("**/bay")
    assert kiosk.world.cabinet(1).comp(4).led
    kiosk.world.open_door(1, 4)
    kiosk.world.take_item(1, 4)
    kiosk.world.close_door(1, 4)
    kiosk.clock.advance(timedelta(seconds=IDLE_S + 1))
    page.wait_for_url("**/signin?why=idle")
    page.wait_for_function(  # the banner needs no session: the next person sees it
        "() => document.querySelector('#alarm-latest').textContent.includes('A/4')")
    gone = [b for b in kiosk.entries("alarm.item_removed") if b["compartment"] == "A/4"]
    assert len(gone) == 1 and gone[0]["event"] == "abandoned" and gone[0]["items"] == [f3]
    # the abandoned step switches the LED off just after writing the alarm, in its own task
    assert wait_until(lambda: not kiosk.world.cabinet(1).comp(4).led), "LED of A/4 still on"
    assert not [b for b in kiosk.entries("item.checked_out") if b["case"] == "2026-XS-0600"]
