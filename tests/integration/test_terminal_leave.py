"""Items leaving custody at the kiosk, in headless Chromium on the simulated station: the
officer asks, the supervisor (own badge and PIN) approves, and refuses to approve their own
request (nothing written), the clerk carries it out at the cabinet (door, sensor, the
recipient, the signed receipt's photo). Screenshots of the three screens in both languages
(``leave-request``, ``leave-approve``, ``leave-carry``; ``make screens`` refreshes them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from custody.labels import make_label
from lockerd.simkiosk import DEFAULT_PEOPLE, SimKiosk
from lockerd.simpeople import StaffRecord
from terminal.sessions import TerminalSettings
from tests.integration.test_terminal_support import (
    door,
    message,
    shoot,
    sign_in,
    sign_out,
    stock,
)

E1 = make_label("exhibit", 2026, 301).text
E2 = make_label("exhibit", 2026, 302).text
CASE = "2026-XS-0300"


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimKiosk]:
    station = SimKiosk(
        tmp_path_factory.mktemp("station") / "data",
        people=(*DEFAULT_PEOPLE, StaffRecord("sun", "孙敏", "supervisor", "S-3002", "2580")),
        settings=TerminalSettings(idle_lock_s=600, pin_max_attempts=3),
        unlock_pulse_ms=120_000,
    ).start()
    yield station
    station.stop()


def fill_request(page: Page, label: str, kind: str) -> None:
    page.fill("#ask-label", label)
    page.select_option("#ask-kind", kind)
    page.fill("#ask-reason", "送市公安局物证鉴定所检验")
    page.fill("#ask-decision", "鉴定委托书 [2026] 31 号")
    page.fill("#ask-unit", "市公安局物证鉴定所")


def test_ask_approve_carry_out_at_the_kiosk(kiosk: SimKiosk, page: Page) -> None:
    url = kiosk.base_url
    stock(kiosk, CASE, "wang", [(E1, "手机 (iPhone 15)", 2), (E2, "匕首", 3)])

    # the officer in charge asks
    sign_in(page, url, "P-2001", "5678")
    page.wait_for_url("**/officer")
    page.click("#leave-link")
    page.wait_for_url("**/leave")
    shoot(page, url, "leave-request", prepare=lambda: fill_request(page, E1, "examination"))
    fill_request(page, E1, "examination")
    page.click("#ask-send")
    message(page, E1)
    asked = kiosk.entries("leave.requested")
    assert [(b["item"], b["leave"], b["actor"]) for b in asked] == [(E1, "examination", "wang")]
    request = asked[0]["seq"]
    sign_out(page)

    # the supervisor, with their own badge and PIN, approves; and cannot approve their own
    sign_in(page, url, "S-3001", "1357")
    page.wait_for_url("**/home")
    page.click("#leave-link")
    page.wait_for_url("**/leave")
    page.fill(f"[data-reason='{request}']", "同意送检")
    shoot(page, url, "leave-approve",
          prepare=lambda: page.fill(f"[data-reason='{request}']", "同意送检"))
    page.fill(f"[data-reason='{request}']", "同意送检")
    page.click(f"[data-approve='{request}']")
    message(page, E1)  # the answer: written by then
    decided = kiosk.entries("leave.decided")
    assert [(b["request"], b["approved"], b["actor"]) for b in decided] == [
        (request, True, "zhao")]
    fill_request(page, E2, "destruction")
    page.click("#ask-send")
    message(page, E2)
    own = kiosk.entries("leave.requested")[-1]
    assert own["actor"] == "zhao"
    size = len(kiosk.entries())
    page.click(f"[data-approve='{own['seq']}']")
    message(page, "zhao")  # refused: someone else decides it
    assert len(kiosk.entries()) == size
    sign_out(page)

    # the clerk carries it out at the cabinet
    sign_in(page, url, "C-1001", "1234")
    page.wait_for_url("**/home")
    page.goto(f"{url}/leave")
    page.click(f"[data-carry='{request}']")
    page.wait_for_url("**/leave/carry")
    page.locator("#compartment-name").filter(has_text="A/2").wait_for()
    assert kiosk.world.cabinet(1).comp(2).led
    kiosk.world.open_door(1, 2)
    door(page, closed=False)
    kiosk.world.take_item(1, 2)
    kiosk.world.close_door(1, 2)
    door(page, closed=True)

    def recipient() -> None:
        page.fill("#r-name", "刘鉴定")
        page.fill("#r-id", "110101198001011234")

    recipient()
    kiosk.camera.show(E1)
    page.click("#receipt")
    page.locator("#receipt-photo[src*='/api/photo/']").wait_for()
    page.click("#photo")
    page.locator("#step-photo[src*='/api/photo/']").wait_for()
    shoot(page, url, "leave-carry", prepare=recipient)
    recipient()
    page.click("#receipt")
    page.locator("#receipt-photo[src*='/api/photo/']").wait_for()
    page.click("#photo")
    page.locator("#step-photo[src*='/api/photo/']").wait_for()
    page.click("#commit")
    message(page, E1)
    page.wait_for_url("**/leave")
    out = kiosk.entries("leave.carried_out")
    assert len(out) == 1
    body = out[0]
    assert body["actor"] == "zhou" and body["item"] == E1
    assert body["recipient"] == {"name": "刘鉴定", "id_number": "110101198001011234",
                                 "unit": "市公安局物证鉴定所"}
    assert body["receipt"]["sha256"] and body["photos"]
    assert kiosk.custody.projection.items[E1].state.value == "out_on_leave"
