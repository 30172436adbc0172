"""The SMS service's rules: undeliverable notices, quiet hours, urgent escalations first,
recovery of a send interrupted by a crash, and unconfirmed delivery after the timeout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notify.gateway import GatewayChannel
from notify.queue import SmsQueue
from notify.service import Recipient, SmsService, SmsSettings, parse_quiet_hours
from notify.texts import Texts
from tests.integration.test_sms_gateway import Gateway, MemoryHost, _notice, gateway  # noqa: F401

# 23:30 in Shanghai
NIGHT = datetime(2026, 12, 6, 15, 30, tzinfo=UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _ladder(seq: int, role: str, person: str) -> dict[str, Any]:
    return {"seq": seq, "kind": "notice.sent", "key": f"return:F-1:3:{seq}:{person}",
            "role": role, "person": person, "subject": "Return ...: F-1", "text": "t",
            "refs": {"rule": "return", "item": "F-1", "case": "K-1", "step": str(seq),
                     "deadline": "2026-12-06T10:00:00Z"}}


def _service(tmp_path: Path, gw: Gateway, host: MemoryHost, clock: Clock,
             **settings: Any) -> SmsService:
    phones = {"off1": "+8613900000002", "sup": "+8613900000001", "legal1": "+8613900000004"}
    return SmsService(
        SmsQueue(tmp_path / "sms.db"),
        GatewayChannel(gw.url, templates={}, callbacks=True), Texts.load(), host,
        lambda role, person: Recipient(phones.get(person, person if person[:1] == "+"
                                                  else ""), "en" if person == "sup" else "zh"),
        SmsSettings(station="S", max_attempts=2, retry_base_s=0.01, **settings),
        clock=clock,
    )


def test_no_number_is_undeliverable_with_an_alarm(tmp_path: Path,
                                                  gateway: Gateway) -> None:  # noqa: F811
    host = MemoryHost([_ladder(1, "officer", "nobody")])
    service = _service(tmp_path, gateway, host, Clock(NIGHT))
    asyncio.run(service.round())
    assert host.kinds() == ["notice.failed", "alarm.notice_failed"]
    assert host.recorded[0][1]["reason"] == "no phone number for officer 'nobody'"
    assert host.recorded[0][1]["final"] is True and gateway.requests == []


def test_quiet_hours_hold_what_can_wait_but_never_an_overdue_escalation(
        tmp_path: Path, gateway: Gateway) -> None:  # noqa: F811
    host = MemoryHost([_notice(1, "K-1"), _ladder(2, "officer", "off1"),
                       _ladder(3, "supervisor", "sup"), _ladder(4, "legal", "legal1")])
    clock = Clock(NIGHT)
    service = _service(tmp_path, gateway, host, clock,
                       quiet_hours=parse_quiet_hours("22:00-07:00"))

    async def main() -> None:
        await service.channel.start(lambda r: None)
        await service.round()
        assert [b["to"] for _, b in gateway.requests] == ["+8613900000001", "+8613900000004"]
        clock.now = datetime(2026, 12, 6, 23, 0, tzinfo=UTC).timestamp()  # 07:00 local
        await service.round()
        await service.channel.close()

    asyncio.run(main())
    assert [b["to"] for _, b in gateway.requests][2:] == ["+8613812345678", "+8613900000002"]
    # the supervisor reads English, the others Chinese
    assert gateway.requests[0][1]["text"].startswith("[S] Overdue: F-1 (case K-1)")
    assert gateway.requests[1][1]["text"].startswith("【S】法制部门请关注")


def test_a_send_cut_by_a_crash_is_never_repeated(tmp_path: Path,
                                                 gateway: Gateway) -> None:  # noqa: F811
    host = MemoryHost([_notice(1, "K-1")])
    service = _service(tmp_path, gateway, host, Clock(NIGHT))

    async def main() -> None:
        await service.feed()
        service.queue.mark_sending("progress:K-1:received", "gateway")  # then the crash
        service.queue.close()
        again = _service(tmp_path, gateway, host, Clock(NIGHT))
        task = asyncio.create_task(again.run())
        async with asyncio.timeout(30):
            while "notice.unconfirmed" not in host.kinds():
                await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert gateway.requests == []
    assert host.kinds() == ["notice.unconfirmed"]
    assert "not sent again" in host.recorded[0][1]["reason"]


def test_no_report_in_time_is_unconfirmed(tmp_path: Path, gateway: Gateway) -> None:  # noqa: F811
    host = MemoryHost([_notice(1, "K-1")])
    clock = Clock(NIGHT)
    service = _service(tmp_path, gateway, host, clock, report_timeout_s=3600)

    async def main() -> None:
        await service.channel.start(lambda r: None)
        await service.round()
        assert host.kinds() == ["notice.sms_sent"]
        clock.now += 3601
        await service.round()
        await service.channel.close()

    asyncio.run(main())
    assert host.kinds() == ["notice.sms_sent", "notice.unconfirmed"]
    assert host.recorded[1][1]["reason"] == "no delivery report within 3600 s"
