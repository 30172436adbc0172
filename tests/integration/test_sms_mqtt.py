"""The SMS channel's status on MQTT (retained ``status/sms``), and a notice that failed for
good on the ``alarm`` topic, through a real Mosquitto."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from hw_sim.modem_sim import Behaviour, SimModem
from lockerd.broker import MosquittoBroker
from tests.integration.conftest import Subscriber
from tests.integration.sms_support import register, sms_station, until


def test_status_and_failed_notice_alarm_on_mqtt(
    tmp_path: Path, mosquitto: MosquittoBroker, mqtt_subscriber: Callable[..., Subscriber]
) -> None:
    sub = mqtt_subscriber(mosquitto.port, ["locker/t1/status/sms", "locker/t1/alarm"])

    async def main() -> None:
        sim = SimModem(Behaviour(refuse=30, rssi=17))  # unknown subscriber: permanent
        sim.start()
        try:
            async with sms_station(tmp_path / "st", sim.path, mqtt_port=mosquitto.port,
                                   sms={"status_every_s": 0.2}) as daemon:
                await register(daemon, "K-1")
                await until("status/sms", lambda: any(
                    json.loads(p).get("queue", {}).get("failed") == 1
                    for p in sub.payloads("locker/t1/status/sms")))
                await until("the alarm", lambda: bool(sub.payloads("locker/t1/alarm")))
        finally:
            sim.close()

    asyncio.run(main())
    status = json.loads(sub.payloads("locker/t1/status/sms")[-1])
    assert status["channel"] == "modem" and status["registered"] is True
    assert status["rssi"] == 17 and status["dbm"] == -79
    alarm = json.loads(sub.payloads("locker/t1/alarm")[-1])
    assert alarm["kind"] == "alarm.notice_failed"
    assert alarm["entry"]["key"] == "progress:K-1:received"
    assert "unknown subscriber" in alarm["entry"]["reason"]
    late = mqtt_subscriber(mosquitto.port, ["locker/t1/status/sms"])  # after the daemon
    assert late.wait_for(lambda: bool(late.messages))
    assert late.messages[0][2] is True  # retained: the last status stays for newcomers
