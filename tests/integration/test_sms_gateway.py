"""The HTTP SMS gateway channel against a real local HTTP server of the test's own, through
the SMS service and its durable queue; and the delivery callback endpoint under uvicorn."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from notify.callback import callback_router
from notify.gateway import GatewayChannel
from notify.queue import SmsQueue
from notify.service import Recipient, SmsService, SmsSettings
from notify.texts import Texts

TOKEN = "Bearer s3cret"


class Gateway:
    """A scripted SMS gateway: answers each POST with the next (status, body, delay)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, Any, float]] = []
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                gateway.requests.append((dict(self.headers), body))
                status, answer, delay = (gateway.script.pop(0) if gateway.script
                                         else (200, {"id": f"gw-{len(gateway.requests)}"}, 0))
                time.sleep(delay)
                data = json.dumps(answer).encode() if not isinstance(answer, bytes) else answer
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (the timeout case)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    yield gw
    gw.close()


class MemoryHost:
    """The station side in memory: notices to feed, entries recorded."""

    def __init__(self, notices: list[dict[str, Any]]) -> None:
        self.notices = notices
        self.recorded: list[tuple[str, dict[str, Any]]] = []

    async def notices_after(self, seq: int) -> tuple[list[Mapping[str, Any]], int]:
        new: list[Mapping[str, Any]] = [n for n in self.notices if n["seq"] > seq]
        return new, max([seq, *(int(n["seq"]) for n in new)])

    async def record(self, kind: str, body: Mapping[str, Any]) -> None:
        self.recorded.append((kind, dict(body)))

    async def alarm(self, kind: str, body: Mapping[str, Any]) -> None:
        self.recorded.append((kind, dict(body)))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.recorded]


def _notice(seq: int, case: str) -> dict[str, Any]:
    return {"seq": seq, "kind": "notice.sent", "key": f"progress:{case}:received",
            "role": "complainant", "person": "+8613812345678", "subject": "s", "text": "t",
            "refs": {"case": case, "stage": "received", "name": "Wang"}}


def _service(tmp_path: Path, channel: GatewayChannel, host: MemoryHost) -> SmsService:
    return SmsService(
        SmsQueue(tmp_path / "sms.db"), channel, Texts.load(), host,
        lambda role, person: Recipient(person, "zh"),
        SmsSettings(station="城东派出所", station_phone="+862088888888", max_attempts=3,
                    retry_base_s=0.01, retry_max_s=0.05),
    )


def _channel(gw: Gateway, **kw: Any) -> GatewayChannel:
    return GatewayChannel(gw.url, templates={"progress.received": "TPL_RECEIVED"},
                          auth_header=f"Authorization: {TOKEN}", **kw)


async def _drain(service: SmsService, host: MemoryHost, until: str, count: int = 1) -> None:
    await service.channel.start(lambda report: None)
    async with asyncio.timeout(30):
        while host.kinds().count(until) < count:
            await service.round()
            await asyncio.sleep(0.01)
    await service.channel.close()


def test_success_sends_template_params_and_auth(tmp_path: Path, gateway: Gateway) -> None:
    host = MemoryHost([_notice(1, "K-1")])
    service = _service(tmp_path, _channel(gateway), host)
    asyncio.run(_drain(service, host, "notice.unconfirmed"))
    headers, body = gateway.requests[0]
    assert headers["Authorization"] == TOKEN
    assert body["to"] == "+8613812345678" and body["template"] == "TPL_RECEIVED"
    assert body["params"]["case"] == "K-1" and body["params"]["stage"] == "已受理"
    assert "K-1" in body["text"] and body["reference"] == "progress:K-1:received"
    # no callbacks configured: sent with the gateway's id, delivery cannot be known
    assert host.kinds() == ["notice.sms_sent", "notice.unconfirmed"]
    assert host.recorded[0][1]["references"] == ["gw-1"]


def test_500_then_success_is_retried(tmp_path: Path, gateway: Gateway) -> None:
    gateway.script = [(500, {"message": "busy"}, 0)]
    host = MemoryHost([_notice(1, "K-1")])
    service = _service(tmp_path, _channel(gateway), host)
    asyncio.run(_drain(service, host, "notice.sms_sent"))
    assert host.kinds()[:2] == ["notice.failed", "notice.sms_sent"]
    failed = host.recorded[0][1]
    assert failed["final"] is False and "HTTP 500" in failed["reason"]
    assert host.recorded[1][1]["references"] == ["gw-2"] and host.recorded[1][1]["attempt"] == 2


def test_timeout_is_transient_until_the_attempts_run_out(tmp_path: Path,
                                                         gateway: Gateway) -> None:
    gateway.script = [(200, {"id": "late"}, 1.0)] * 3
    host = MemoryHost([_notice(1, "K-1")])
    service = _service(tmp_path, _channel(gateway, timeout_s=0.2), host)
    asyncio.run(_drain(service, host, "alarm.notice_failed"))
    assert host.kinds() == ["notice.failed"] * 3 + ["alarm.notice_failed"]
    reasons = [b["reason"] for k, b in host.recorded if k == "notice.failed"]
    assert "timed out" in reasons[0] and reasons[2].startswith("gave up after 3 attempts")


def test_provider_error_body_is_permanent(tmp_path: Path, gateway: Gateway) -> None:
    gateway.script = [(200, {"code": "isv.MOBILE_NUMBER_ILLEGAL", "message": "bad number"}, 0)]
    host = MemoryHost([_notice(1, "K-1"), _notice(2, "K-2")])
    service = _service(tmp_path, _channel(gateway), host)
    asyncio.run(_drain(service, host, "notice.unconfirmed"))
    assert host.kinds() == ["notice.failed", "alarm.notice_failed", "notice.sms_sent",
                            "notice.unconfirmed"]
    failed = host.recorded[0][1]
    assert failed["final"] is True and "isv.MOBILE_NUMBER_ILLEGAL: bad number" in failed["reason"]
    assert len(gateway.requests) == 2  # the refused one was not tried again


def test_provider_error_code_listed_as_transient_is_retried(tmp_path: Path,
                                                            gateway: Gateway) -> None:
    gateway.script = [(503, {"error": {"code": "THROTTLED", "message": "slow down"}}, 0)]
    host = MemoryHost([_notice(1, "K-1")])
    service = _service(tmp_path, _channel(gateway, transient_codes=["THROTTLED"]), host)
    asyncio.run(_drain(service, host, "notice.sms_sent"))
    assert host.kinds()[:2] == ["notice.failed", "notice.sms_sent"]


def test_4xx_is_permanent(tmp_path: Path, gateway: Gateway) -> None:
    gateway.script = [(403, b"forbidden", 0)]
    host = MemoryHost([_notice(1, "K-1")])
    service = _service(tmp_path, _channel(gateway), host)
    asyncio.run(_drain(service, host, "alarm.notice_failed"))
    assert host.recorded[0][1]["reason"] == "gateway refused the message: HTTP 403"


def test_delivery_callbacks_are_recorded(tmp_path: Path, gateway: Gateway) -> None:
    host = MemoryHost([_notice(1, "K-1"), _notice(2, "K-2")])
    service = _service(tmp_path, _channel(gateway, callbacks=True), host)
    app = FastAPI()
    app.include_router(callback_router("s3cret", service.take_report))

    async def main() -> None:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                               log_level="warning", lifespan="off"))
        task = asyncio.create_task(server.serve())
        async with asyncio.timeout(30):
            while not server.started:
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/notify/sms/callback"
        try:
            await service.channel.start(lambda report: None)
            async with asyncio.timeout(30):
                while host.kinds().count("notice.sms_sent") < 2:
                    await service.round()
            async with httpx.AsyncClient(timeout=10) as client:
                bad = await client.post(url, json={"reference": "gw-1", "status": "delivered"},
                                        headers={"Authorization": "Bearer wrong"})
                ok = await client.post(url, json={"reference": "gw-1", "status": "delivered"},
                                       headers={"Authorization": TOKEN})
                failed = await client.post(url, headers={"Authorization": TOKEN}, json={
                    "reference": "gw-2", "status": "failed", "reason": "absent subscriber"})
                unknown = await client.post(url, json={"reference": "nope", "status": "failed"},
                                            headers={"Authorization": TOKEN})
            await service.round()
        finally:
            server.should_exit = True
            await task
            await service.channel.close()
        assert (bad.status_code, ok.status_code, failed.status_code,
                unknown.status_code) == (401, 204, 204, 404)

    asyncio.run(main())
    assert host.kinds() == ["notice.sms_sent", "notice.sms_sent", "notice.delivered",
                            "notice.failed", "alarm.notice_failed"]
    assert host.recorded[3][1]["reason"] == "not delivered: absent subscriber"
