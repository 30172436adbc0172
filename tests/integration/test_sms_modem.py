"""Notices as SMS through the simulated modem on a real pty, end to end in the daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from hw_sim.modem_sim import Behaviour, SimModem
from notify.pdu import DCS_UCS2
from tests.integration.sms_support import (
    COMPLAINANT,
    delivery_kinds,
    entries,
    register,
    sms_station,
    until,
)

LONG_RECEIVED = (
    'version = 1\n[zh]\n"progress.received" = '
    '"【{station}】您好！您报案的案件{case}已由我所正式受理，'
    '当前办理环节为：{stage}。我们将依法及时办理，并在移交、处置等每个环节以短信告知您进展。'
    '如有疑问，请拨打咨询电话{station_phone}。"\n'
)


def test_two_part_chinese_notice_arrives_intact_and_is_delivered(tmp_path: Path) -> None:
    async def main() -> None:
        texts = tmp_path / "texts.toml"
        texts.write_text(LONG_RECEIVED, encoding="utf-8")
        sim = SimModem(Behaviour(reports="now"))
        sim.start()
        try:
            async with sms_station(tmp_path / "st", sim.path,
                                   sms={"templates": str(texts)}) as daemon:
                await register(daemon, "K-2026-001")
                [msg] = await sim.wait_messages(1)
                key = "progress:K-2026-001:received"
                await until("notice.delivered", lambda: "notice.delivered" in delivery_kinds(
                    tmp_path / "st", key))
        finally:
            sim.close()
        expected = (
            "【城东派出所】您好！您报案的案件K-2026-001已由我所正式受理，当前办理环节为：已受理。"
            "我们将依法及时办理，并在移交、处置等每个环节以短信告知您进展。"
            "如有疑问，请拨打咨询电话+862088888888。"
        )
        assert msg.number == COMPLAINANT
        assert msg.text == expected
        assert (msg.parts, msg.dcs, msg.status_report) == (2, DCS_UCS2, True)
        # the ledger: sent with both parts' message references, then delivered
        assert delivery_kinds(tmp_path / "st", key) == ["notice.sms_sent", "notice.delivered"]
        [sent] = [e for e in entries(tmp_path / "st", "notice.sms_sent")]
        assert sent["references"] == [str(r) for r in msg.references]
        assert sent["parts"] == 2 and sent["channel"] == "modem" and sent["number"] == COMPLAINANT
        # never an officer's name or the items in a complainant's text
        assert "off1" not in msg.text and "民警一" not in msg.text and "CF" not in msg.text

    asyncio.run(main())


def test_late_reports_become_delivered_entries(tmp_path: Path) -> None:
    async def main() -> None:
        sim = SimModem(Behaviour(reports="manual"))
        sim.start()
        root = tmp_path / "st"
        try:
            async with sms_station(root, sim.path, api=True) as daemon:
                await register(daemon, "K-1")
                await register(daemon, "K-2")
                await sim.wait_messages(2)
                keys = ["progress:K-1:received", "progress:K-2:received"]
                await until("both sent", lambda: all(
                    delivery_kinds(root, k) == ["notice.sms_sent"] for k in keys))
                assert sim.release_reports() == 2
                await until("both delivered", lambda: all(
                    delivery_kinds(root, k) == ["notice.sms_sent", "notice.delivered"]
                    for k in keys))
                status = await daemon.sms.refresh_status() if daemon.sms else {}
                async with httpx.AsyncClient(timeout=30) as client:
                    health = (await client.get(f"{daemon.api_url}/v1/health")).json()
        finally:
            sim.close()
        assert status["registered"] is True and status["dbm"] == -113 + 2 * 21
        assert status["queue"] == {"delivered": 2}
        assert health["sms"]["registered"] is True and health["sms"]["rssi"] == 21
        delivered = {e["key"]: e for e in entries(root, "notice.delivered")}
        assert set(delivered) == set(keys)

    asyncio.run(main())


def test_permanent_error_fails_once_with_an_alarm_and_no_retry(tmp_path: Path) -> None:
    async def main() -> None:
        sim = SimModem(Behaviour(refuse=21))  # short message transfer rejected: permanent
        sim.start()
        root = tmp_path / "st"
        try:
            async with sms_station(root, sim.path) as daemon:
                await register(daemon, "K-1")
                key = "progress:K-1:received"
                await until("the alarm", lambda: bool(entries(root, "alarm.notice_failed")))
                # a later notice goes out normally: the failed one was not tried again meanwhile
                sim.behaviour.refuse = None
                await register(daemon, "K-2")
                await sim.wait_messages(1)
                await until("K-2 delivered", lambda: "notice.delivered" in delivery_kinds(
                    root, "progress:K-2:received"))
                failed_state = daemon.sms.queue.get(key) if daemon.sms else None
        finally:
            sim.close()
        assert sim.stats.cmgs_attempts == 2  # one refused send of K-1, one of K-2
        assert [m.text for m in sim.messages if "K-1" in m.text] == []
        assert delivery_kinds(root, key) == ["notice.failed"]
        [failed] = entries(root, "notice.failed")
        assert failed["final"] is True and failed["code"] == 21
        assert "short message transfer rejected" in failed["reason"]
        [alarm] = entries(root, "alarm.notice_failed")
        assert alarm["key"] == key and alarm["person"] == COMPLAINANT
        assert failed_state is not None and failed_state.state == "failed"

    asyncio.run(main())


def test_a_modem_that_stops_answering_is_retried_then_reported(tmp_path: Path) -> None:
    async def main() -> None:
        sim = SimModem()
        sim.start()
        root = tmp_path / "st"
        try:
            async with sms_station(root, sim.path, sms={
                "command_timeout_s": 0.3, "send_timeout_s": 0.5, "max_attempts": 3,
            }) as daemon:
                await until("modem set up", lambda: bool(
                    daemon.sms and daemon.sms.last_status().get("ready")))
                sim.behaviour.stall = True
                await register(daemon, "K-1")
                key = "progress:K-1:received"
                await until("the alarm", lambda: bool(entries(root, "alarm.notice_failed")))
        finally:
            sim.close()
        assert delivery_kinds(root, key) == ["notice.failed"] * 3
        attempts = entries(root, "notice.failed")
        assert [(a["attempt"], a["final"]) for a in attempts] == [(1, False), (2, False), (3, True)]
        assert "did not answer" in attempts[0]["reason"]
        assert attempts[2]["reason"].startswith("gave up after 3 attempts")
        assert sim.messages == []

    asyncio.run(main())
