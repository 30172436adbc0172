"""Live alarms over MQTT: the fast path from each station's broker to the district's.

Each station's Mosquitto bridges ``locker/<station>/alarm`` and
``locker/<station>/notify/legal/#`` to the district's Mosquitto (QoS 1, ``cleansession
false``: the station's broker queues while the link is down). :func:`bridge_config` writes
that bridge's mosquitto.conf lines. :class:`AlarmListener` subscribes at the district with a
persistent session and writes each alarm into ``station_alarms`` keyed by (station, seq);
the tile pull writes the same rows from the ledger (``via = 'pull'``) and fills anything the
bridge dropped, so whichever comes second adds nothing.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion


def bridge_config(sid: str, district_host: str, district_port: int,
                  prefix: str = "locker") -> str:
    """The lines to append to station ``sid``'s mosquitto.conf (the station's broker also
    needs ``persistence true`` so the queue survives its own restart)."""
    return (
        f"# evidence-locker: bridge station {sid}'s alarms and legal notices to the district\n"
        f"connection district-{sid}\n"
        f"address {district_host}:{district_port}\n"
        f"topic {prefix}/{sid}/alarm out 1\n"
        f"topic {prefix}/{sid}/notify/legal/# out 1\n"
        "cleansession false\n"
        f"remote_clientid locker-bridge-{sid}\n"
        "start_type automatic\n"
        "restart_timeout 1 10\n"
        "try_private true\n"
        "notifications false\n"
    )


class AlarmListener:
    """Subscribes at the district's broker and records every bridged alarm."""

    def __init__(self, dsn: str, name: str, host: str, port: int, *,
                 ids: set[str] | None = None, prefix: str = "locker") -> None:
        self.prefix = prefix
        self.ids = ids  # the configured station ids (None: whatever the bridges bring)
        self.received = 0
        self._conn = psycopg.connect(dsn, autocommit=True)
        self._lock = threading.Lock()
        # a persistent session: what arrives while this process is down waits at the broker
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"locker-district-{name}", clean_session=False)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 10)
        self.client.connect_async(host, port, keepalive=30)

    def start(self) -> AlarmListener:
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self._conn.close()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe([(f"{self.prefix}/+/alarm", 1),
                              (f"{self.prefix}/+/notify/legal/#", 1)])

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        if len(parts) < 3 or (self.ids is not None and parts[1] not in self.ids):
            return
        station = parts[1]
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            return
        if parts[2] == "alarm":
            seq, kind, ts = payload.get("seq"), payload.get("kind"), payload.get("ts")
            body = payload.get("entry", payload)
        else:  # a notice to legal: the notice entry is in the ledger too, under its seq
            seq, kind, ts = payload.get("seq"), "notice.legal", payload.get("ts", "")
            body = payload
        if not isinstance(seq, int):
            return
        with self._lock:
            self._conn.execute(
                "INSERT INTO station_alarms (station, seq, kind, ts, body, via) "
                "VALUES (%s, %s, %s, %s, %s, 'mqtt') ON CONFLICT DO NOTHING",
                (station, seq, str(kind), str(ts or ""), json.dumps(body, ensure_ascii=False)),
            )
            self.received += 1
