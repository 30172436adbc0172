"""From the validated station config to the other packages' plain settings objects.

The packages never see pydantic: the custody core takes :class:`RulesSettings` and
:class:`PersonSettings`, the cabinet bridge :class:`CabinetSettings`; the MQTT publisher
:class:`BrokerSettings`.
"""

from __future__ import annotations

from custody.domain.people import Directory
from custody.settings import DEFAULT_CHECKLIST, PersonSettings, RulesSettings, build_directory
from locker_firmware_bridge.factory import CabinetSettings
from lockerd.config import StationConfig
from lockerd.mqtt import Topics
from lockerd.outbox import BrokerSettings
from witness.station import CosignSettings, WitnessSettings


def rules_settings(cfg: StationConfig) -> RulesSettings:
    """``[rules]`` plus the station's time zone."""
    r = cfg.rules
    return RulesSettings(
        timezone=cfg.station.timezone,
        handover_hours=r.handover_hours,
        handover_remind_before_hours=r.handover_remind_before_hours,
        handover_legal_after_hours=r.handover_legal_after_hours,
        return_time=r.return_time,
        return_times=dict(r.return_times),
        day_start=r.day_start,
        return_remind_before_minutes=r.return_remind_before_minutes,
        return_supervisor_after_minutes=r.return_supervisor_after_minutes,
        return_legal_after_hours=r.return_legal_after_hours,
        catalogue=r.catalogue,
        lawfulness_checklist=tuple(r.lawfulness_checklist) or DEFAULT_CHECKLIST,
    ).check()


def people_settings(cfg: StationConfig) -> list[PersonSettings]:
    """``[[people]]`` as the custody core takes them (badges and PINs stay in lockerd)."""
    return [
        PersonSettings(id=p.id, name=p.name, role=p.role, supervisor=p.supervisor, phone=p.phone)
        for p in cfg.people
    ]


def directory(cfg: StationConfig) -> Directory:
    """The checked people directory."""
    return build_directory(people_settings(cfg))


def cabinet_settings(cfg: StationConfig) -> list[CabinetSettings]:
    """``[[cabinets]]`` for :func:`locker_firmware_bridge.factory.build_cabinets`."""
    return [
        CabinetSettings(
            id=c.id,
            transport=c.transport,
            url=c.url,
            host=c.host,
            port=c.port,
            device=c.device,
            unit=c.unit,
            compartments=c.compartments,
            baud=c.baud,
            parity=c.parity,
            stopbits=c.stopbits,
            timeout_ms=c.timeout_ms,
            gap_ms=c.gap_ms,
            lock_bit_locked=c.lock_bit_locked,
            map=dict(c.map),
        )
        for c in cfg.cabinets
    ]


def topics(cfg: StationConfig) -> Topics:
    """The station's MQTT topic names."""
    return Topics(cfg.station.station_id, cfg.mqtt.topic_prefix)


def broker_settings(cfg: StationConfig) -> BrokerSettings:
    """``[mqtt]`` for the outbox publisher."""
    m = cfg.mqtt
    return BrokerSettings(
        host=m.host,
        port=m.port,
        client_id=m.client_id or f"lockerd-{cfg.station.station_id}",
        status_topic=topics(cfg).status,
        keepalive=m.keepalive,
        username=m.username,
        password=m.password,
        window=m.inflight_window,
    )


def cosign_settings(cfg: StationConfig) -> CosignSettings:
    """``[[witness]]`` and ``[witnessing]`` for the station's cosigning client."""
    w = cfg.witnessing
    return CosignSettings(
        witnesses=tuple(WitnessSettings(url=e.url, key=e.key) for e in cfg.witness),
        alarm_after_seconds=w.alarm_after_seconds,
        retry_seconds=w.retry_seconds,
        timeout_seconds=w.timeout_seconds,
    )
