"""The SMS channel on the kiosk (issue #15): its state on the status line (``/api/status``
``sms``), handed over by lockerd from the daemon's SMS service, and an
``alarm.notice_failed`` shown with who was not told and why, with the daemon on the
simulated modem (a real pty) and the kiosk over real HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from hw_sim.modem_sim import Behaviour, SimModem
from tests.integration.sms_support import COMPLAINANT, register, sms_station


def test_status_line_shows_the_modem_and_a_failed_notice_alarm(tmp_path: Path) -> None:
    async def main() -> None:
        sim = SimModem(Behaviour(rssi=21))
        sim.start()
        try:
            async with sms_station(tmp_path / "st", sim.path, api=True,
                                   sms={"status_every_s": 0.1}) as daemon:
                assert daemon.api_url is not None and daemon.kiosk_path is not None
                base = daemon.api_url + daemon.kiosk_path.rstrip("/")
                async with httpx.AsyncClient(base_url=base, timeout=30) as kiosk:
                    seen: dict[str, Any] = {}

                    async def status(lang: str = "zh_CN") -> dict[str, Any]:
                        kiosk.cookies.set("locker_lang", lang)
                        r = await kiosk.get("/api/status")
                        assert r.status_code == 200, r.text
                        data: dict[str, Any] = r.json()
                        seen.update(data)
                        return data

                    async def wait(what: str, check: Any, lang: str = "zh_CN") -> None:
                        for _ in range(1500):
                            if check(await status(lang)):
                                return
                            await asyncio.sleep(0.02)
                        raise AssertionError(f"{what}: not seen; last {seen}")

                    await wait("registered", lambda d: d["sms"]["registered"] is True)
                    sms = seen["sms"]
                    assert (sms["dbm"], sms["rssi"], sms["ok"]) == (-71, 21, True)
                    assert sms["text"] == "短信：已注册 -71 dBm"
                    assert (await status("en"))["sms"]["text"] == "SMS: registered -71 dBm"

                    # a notice the network refuses for good: its alarm on every screen
                    sim.behaviour.refuse = 21
                    await register(daemon, "K-1")
                    await wait("the alarm", lambda d: any(
                        a["kind"] == "notice_failed" for a in d["alarms"]), "en")
                    [alarm] = seen["alarms"]
                    assert alarm["text"].startswith("SMS notice to Complainant could not be")
                    assert "short message transfer rejected" in alarm["text"]
                    assert alarm["todo"].startswith("The person was not told by SMS")
                    assert COMPLAINANT not in str(seen)  # no phone number on the kiosk
                    zh = (await status())["alarms"][0]
                    assert zh["text"].startswith("发给报案人的短信通知未能送达")

                    # the network drops the modem: said on the status line
                    sim.behaviour.registered = False
                    await wait("not registered", lambda d: d["sms"]["registered"] is False,
                               "en")
                    assert seen["sms"]["text"].startswith("SMS: not registered (")
                    assert seen["sms"]["ok"] is False
        finally:
            sim.close()

    asyncio.run(main())
