"""Shared helpers of the terminal's browser tests (this module holds no tests itself).

Debian's Chromium (``/usr/bin/chromium``) is driven by Playwright for Python; no browser is
ever downloaded. A test module launches one browser for all its tests, with a fresh profile
directory, and drives it like a person at the kiosk: the touchscreen (clicks), the scanner
(a keyboard wedge: typed text plus Enter). Screenshots of each screen are saved under
``docs/screens/`` at 1280x800 and 1920x1080, in Simplified Chinese and in English.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from custody.ports import PhotoRef
from lockerd.simkiosk import SimKiosk

CHROMIUM = Path("/usr/bin/chromium")
# Screenshots go to a scratch directory, so a test run leaves the work tree as it was;
# `make screens` sets EVIDENCE_LOCKER_SCREENS=docs/screens to refresh the documentation's.
SCREENS = Path(
    os.environ.get("EVIDENCE_LOCKER_SCREENS") or tempfile.mkdtemp(prefix="kiosk-screens-")
)
SIZES = ((1280, 800), (1920, 1080))
LANGS = ("zh_CN", "en")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000


def require_chromium() -> None:
    """Fail (not skip) with the fix when Debian's Chromium is missing."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the terminal's browser tests need Debian's chromium "
            "(`make test` installs it; by hand: apt-get install -y --no-install-recommends "
            "chromium fonts-noto-cjk). Playwright never downloads a browser here."
        )


@contextmanager
def browser() -> Iterator[BrowserContext]:
    """One headless Chromium with a fresh profile, at 1280x800, in Chinese."""
    require_chromium()
    with tempfile.TemporaryDirectory(prefix="kiosk-profile-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 800},
            locale="zh-CN",
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


def set_language(page: Page, base_url: str, lang: str) -> None:
    """Choose the screen language as the language buttons do (a cookie)."""
    page.context.add_cookies([{"name": "locker_lang", "value": lang, "url": base_url}])


def shoot(
    page: Page,
    base_url: str,
    name: str,
    prepare: Callable[[], None] | None = None,
    after: Callable[[], None] | None = None,
) -> list[Path]:
    """Save the current screen at both sizes in both languages; returns the files.

    The page is reloaded in each language (then ``prepare`` runs, e.g. to reach a step the
    reload left) and resized (the layout follows the viewport without a reload).
    """
    SCREENS.mkdir(parents=True, exist_ok=True)
    out = []
    for lang in LANGS:
        set_language(page, base_url, lang)
        page.reload()
        page.wait_for_load_state("load")
        if prepare is not None:
            prepare()
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            cam = page.locator("img#camera")
            if cam.count():
                page.wait_for_function(
                    "() => document.querySelector('img#camera').naturalWidth > 0"
                )
            page.evaluate("() => window.scrollTo(0, 0)")
            path = SCREENS / f"{name}-{lang}-{width}x{height}.png"
            page.screenshot(path=str(path))
            out.append(path)
        if after is not None:
            after()
    set_language(page, base_url, "zh_CN")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.reload()
    page.wait_for_load_state("load")
    return out


def scan(page: Page, text: str) -> None:
    """The scanner (a keyboard wedge) reads ``text``: it types it and presses Enter."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def sign_in(page: Page, base_url: str, badge: str, pin: str) -> None:
    """Scan a badge at the sign-in screen and tap the PIN on the keypad."""
    page.goto(f"{base_url}/signin")
    page.locator("#badge").focus()
    scan(page, badge)
    page.locator("#step-pin").wait_for(state="visible")
    for digit in pin:
        page.click(f".keypad [data-digit='{digit}']")
    page.click(".keypad [data-key='ok']")


def sign_out(page: Page) -> None:
    """Tap the sign-out button in the header."""
    page.click("#signout")
    page.wait_for_url("**/signin?why=signout")


def message(page: Page, expect: str) -> str:
    """The message line's text, once it shows ``expect`` (a message may replace another)."""
    page.wait_for_function(
        "(want) => { const m = document.querySelector('#message');"
        " return !m.hidden && m.textContent.includes(want); }", arg=expect)
    return page.inner_text("#message")


def stock(kiosk: SimKiosk, case_id: str, officer: str, files: list[tuple[str, str, int]]) -> None:
    """A case already handed over and stored by a clerk, its files in the cabinet."""
    kiosk.register(case_id, officer, [(lb, desc, 1) for lb, desc, _ in files])
    kiosk.camera.show(*(lb for lb, _, _ in files))
    shot = kiosk.camera.capture()
    ref: PhotoRef = kiosk.photos.put(shot.data, {})
    kiosk.custody.handover(
        case_id,
        clerk="zhou",
        scanned=[lb for lb, _, _ in files],
        checklist=dict.fromkeys(kiosk.custody.settings.lawfulness_checklist, True),
        photos=[ref],
    )
    for label, _, index in files:
        kiosk.custody.store(label, compartment=f"A/{index}", photos=[ref], clerk="zhou")
        place_quietly(kiosk, index)
    kiosk.camera.clear()


def place_quietly(kiosk: SimKiosk, index: int) -> None:
    """Put a file into compartment ``index`` as the clerk's storage did (claimed: no alarm)."""
    kiosk.alarm_desk.claim("A", index, "test set-up")
    kiosk.world.cabinet(1).comp(index).occupied = True

    async def seen() -> None:
        while not kiosk.poller.has_read("A", index, occupied=True):
            await asyncio.sleep(0.02)
        await asyncio.sleep(2 * kiosk.poll_period_s)  # the event is judged under the claim

    kiosk.call(seen())
    kiosk.alarm_desk.unclaim("A", index)


def door(page: Page, closed: bool) -> None:
    page.locator(f"#door-state[data-closed='{'yes' if closed else 'no'}']").wait_for()

