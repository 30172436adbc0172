"""Registering a case at the kiosk, in headless Chromium on the simulated station: the
officer opens "Register a case" from their home, fills the form (two item rows, one added on
the screen), a missing description is refused with nothing written, then the case is
registered with the station's case id and labels. Screenshots of the form in both languages
(``register``; ``make screens`` refreshes them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page

from custody.labels import make_label
from lockerd.simkiosk import SimKiosk
from terminal.sessions import TerminalSettings
from tests.integration.test_terminal_support import message, shoot, sign_in


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimKiosk]:
    station = SimKiosk(tmp_path_factory.mktemp("station") / "data",
                       settings=TerminalSettings(idle_lock_s=600)).start()
    yield station
    station.stop()


def fill(page: Page, seized: str, description: str = "现金 (人民币)") -> None:
    """The case, its complainant and two item rows (the second added on the screen)."""
    page.fill("#reg-title", "张某盗窃案")
    page.fill("#reg-complainant", "李华")
    page.fill("#reg-contact", "13800138000")
    if page.locator(".item-row").count() < 2:
        page.click("#add-row")
    first, second = page.locator(".item-row").nth(0), page.locator(".item-row").nth(1)
    first.locator("[data-field=kind]").select_option("exhibit")
    first.locator("[data-field=description]").fill(description)
    first.locator("[data-field=quantity]").fill("2")
    first.locator("[data-field=category]").fill("cash")
    first.locator("[data-field=seized_from]").fill("张某")
    first.locator("[data-field=seized_at]").fill(seized)
    second.locator("[data-field=description]").fill("询问笔录")
    second.locator("[data-field=seized_at]").fill(seized)


def test_officer_registers_a_case_at_the_kiosk(kiosk: SimKiosk, page: Page) -> None:
    url = kiosk.base_url
    zone = kiosk.daemon.rt.custody.settings.zone
    now = kiosk.clock.now().astimezone(zone)
    seized = (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    sign_in(page, url, "P-2001", "5678")
    page.wait_for_url("**/officer")
    page.click("#register-link")
    page.wait_for_url("**/register")
    shots = shoot(page, url, "register", prepare=lambda: fill(page, seized))
    assert len(shots) == 4 and all(p.stat().st_size > 0 for p in shots)

    before = len(kiosk.entries())
    fill(page, seized, description="")
    page.click("#register-send")
    assert "description" in message(page, "description")
    assert len(kiosk.entries()) == before  # refused: nothing written

    fill(page, seized)
    page.click("#register-send")
    case = f"K{now.year}-0001"
    message(page, case)
    e1, f2 = make_label("exhibit", now.year, 1).text, make_label("case_file", now.year, 2).text
    assert page.inner_text("#register-result").count(e1) == 1
    regs = kiosk.entries("case.registered")
    assert len(regs) == 1
    reg = regs[0]
    assert (reg["case"], reg["officer"], reg["title"]) == (case, "wang", "张某盗窃案")
    assert [(i["label"], i["description"], i["quantity"]) for i in reg["items"]] == [
        (e1, "现金 (人民币)", 2), (f2, "询问笔录", 1)]
