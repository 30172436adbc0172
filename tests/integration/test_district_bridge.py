"""Live alarms over a real Mosquitto bridge (two brokers), with the tile pull behind it:
the bridge is cut and restored, and the district ends with every alarm, none twice."""

from __future__ import annotations

from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from district.live import AlarmListener, bridge_config
from district.service import District
from lockerd.broker import MosquittoBroker
from lockerd.mqtt import Topics, custody_messages
from tests.integration.conftest import BROKER_START_S, wait_until
from tests.integration.district_support import (
    district_config,
    served_stations,
)


def _publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="station-daemon")
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _alarms(dsn: str) -> list[tuple[int, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT seq, via FROM station_alarms WHERE station = 's1' "
                            "ORDER BY seq").fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def test_bridge_cut_and_restored_every_alarm_once(tmp_path: Path, district_dsn: str) -> None:
    hub = MosquittoBroker(tmp_path / "district-mq")
    hub.start(BROKER_START_S)
    station_mq = MosquittoBroker(tmp_path / "station-mq")
    with station_mq.config.open("a") as f:
        f.write(bridge_config("s1", "127.0.0.1", hub.port))
    station_mq.start(BROKER_START_S)
    listener = AlarmListener(district_dsn, "test", "127.0.0.1", hub.port, ids={"s1"}).start()
    pub = _publisher(station_mq.port)
    try:
        with served_stations(tmp_path, ["s1"]) as stations:
            st = stations[0].st
            ledger = st.ledger
            topics = Topics("s1")

            def alarm(n: int, publish: bool) -> int:
                entry = ledger.append("alarm.door_forced", {"cabinet": "A", "compartment": n},
                                      actor="system")
                if publish:
                    for m in custody_messages(topics, entry):
                        pub.publish(m.topic, m.payload, qos=m.qos).wait_for_publish(30)
                return entry.seq

            first = [alarm(n, True) for n in range(3)]
            assert wait_until(lambda: [s for s, _ in _alarms(district_dsn)] == first)
            hub.stop()  # the link to the district is cut
            during = [alarm(n, True) for n in range(3, 6)]
            dropped = alarm(6, False)  # one the station's broker never got
            hub.start(BROKER_START_S)  # restored: the bridge delivers what it queued
            assert wait_until(
                lambda: [s for s, _ in _alarms(district_dsn)] == first + during, 60
            ), _alarms(district_dsn)
            stations[0].publish()
            cfg = district_config(tmp_path, district_dsn, stations)
            district = District(cfg)
            try:
                district.pass_once()
            finally:
                district.close()
        rows = _alarms(district_dsn)
        assert [s for s, _ in rows] == sorted(first + during + [dropped])  # every one, once
        assert dict(rows)[dropped] == "pull"
        assert all(via == "mqtt" for s, via in rows if s != dropped)
    finally:
        pub.loop_stop()
        pub.disconnect()
        listener.stop()
        station_mq.stop()
        hub.stop()
