"""The daemon's SMS hook: ``[sms]`` turned into a running :class:`notify.service.SmsService`.

:func:`build_sms` makes the channel (``modem``: :class:`notify.channel.ModemChannel` on
``[sms] port``; ``http``: :class:`notify.gateway.GatewayChannel`), the queue in
``DATA/sms.db``, the texts, and a :class:`RuntimeHost` that reads ``notice.sent`` entries
from the ledger and writes the delivery entries through the custody service and alarms
through the runtime, all on the runtime's one custody thread. The daemon spawns
:meth:`SmsService.run` as its ``sms`` task; the service looks at the ledger's size every
half second (no thread hop when nothing was written) and feeds new notices from there, so
a notice recorded just before a crash is still sent after it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from custody.projection import NOTICE_SENT
from lockerd.config import StationConfig
from lockerd.outbox import OutMessage
from notify.channel import Channel, ModemChannel
from notify.gateway import GatewayChannel
from notify.queue import SmsQueue
from notify.service import (
    Recipient,
    SmsService,
    SmsSettings,
    normalise_number,
    parse_quiet_hours,
)
from notify.texts import Texts

if TYPE_CHECKING:
    from lockerd.runtime import Runtime

log = logging.getLogger(__name__)


class RuntimeHost:
    """:class:`notify.service.Host` over the running station."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def notices_after(self, seq: int) -> tuple[list[Mapping[str, Any]], int]:
        if self.rt.ledger.size - 1 <= seq:  # nothing new: no trip to the custody thread
            return [], seq

        def read() -> tuple[list[Mapping[str, Any]], int]:
            out: list[Mapping[str, Any]] = []
            last = seq
            for entry in self.rt.ledger.entries(seq + 1):
                last = entry.seq
                if entry.body.get("kind") == NOTICE_SENT:
                    out.append(entry.body)
            return out, last

        return await self.rt.call(read)

    async def record(self, kind: str, body: Mapping[str, Any]) -> None:
        await self.rt.call(self.rt.custody.record_delivery, kind, body)
        self.rt.ledger_changed()

    async def alarm(self, kind: str, body: Mapping[str, Any]) -> None:
        await self.rt.record(kind, dict(body))


def make_channel(cfg: StationConfig) -> Channel | None:
    """The configured channel; None for ``backend = "none"``."""
    s = cfg.sms
    if s.backend == "modem":
        return ModemChannel(s.port, baud=s.baud, pin=s.pin, smsc=s.smsc,
                            timeout_s=s.command_timeout_s, send_timeout_s=s.send_timeout_s)
    if s.backend == "http":
        return GatewayChannel(s.gateway_url, templates=s.gateway_templates,
                              auth_header=s.gateway_auth_header, timeout_s=s.gateway_timeout_s,
                              transient_codes=s.gateway_transient_codes,
                              callbacks=bool(s.callback_token))
    return None


def recipients(cfg: StationConfig) -> Any:
    """``(role, person) -> Recipient``: staff from ``[[people]]``, a complainant's contact
    as written on the case (a national number gets ``[sms] country_code``)."""
    people = {p.id: p for p in cfg.people}
    default = cfg.sms.language

    def resolve(role: str, person: str) -> Recipient:
        if role == "complainant":
            return Recipient(normalise_number(person, cfg.sms.country_code), default)
        p = people.get(person)
        if p is None:
            return Recipient("", default)
        return Recipient(p.phone, p.language or default)

    return resolve


def sms_settings(cfg: StationConfig) -> SmsSettings:
    """``[sms]`` and the station's name and zone, as the service takes them."""
    s = cfg.sms
    return SmsSettings(
        station=cfg.station.name or cfg.station.station_id,
        station_phone=s.station_phone,
        language=s.language,
        zone=ZoneInfo(cfg.station.timezone),
        quiet_hours=parse_quiet_hours(s.quiet_hours),
        max_attempts=s.max_attempts,
        retry_base_s=s.retry_base_s,
        retry_max_s=max(s.retry_base_s, s.retry_max_s),
        report_timeout_s=s.report_timeout_s,
        country_code=s.country_code,
    )


def status_message(rt: Runtime, status: Mapping[str, Any]) -> OutMessage:
    """The retained ``status/sms`` message (docs/mqtt.md)."""
    payload = json.dumps(status, ensure_ascii=False, sort_keys=True).encode()
    return OutMessage(f"{rt.topics.base}/status/sms", payload, qos=1, retain=True)


async def publish_sms_status(rt: Runtime, service: SmsService | None) -> None:
    """Ask the channel how it is (signal, registration) and publish it, retained."""
    if service is None:
        return
    status = await service.refresh_status()
    await asyncio.to_thread(rt.outbox.enqueue, status_message(rt, status))
    rt._wake_publisher()


def build_sms(rt: Runtime, channel: Channel | None = None) -> SmsService | None:
    """The SMS service for the runtime's config (None when ``[sms] backend = "none"`` and
    no channel is given). Call after the runtime is open."""
    channel = channel if channel is not None else make_channel(rt.cfg)
    if channel is None:
        return None
    queue = SmsQueue(rt.data_dir / "sms.db", start_cursor=rt.ledger.size - 1)
    return SmsService(queue, channel, Texts.load(rt.cfg.sms.templates), RuntimeHost(rt),
                      recipients(rt.cfg), sms_settings(rt.cfg),
                      clock=lambda: rt.clock.now().timestamp())  # quiet hours: station time
