"""What the daemon hands the other packages from the validated station config.

The sections the packages use are their own settings classes (see :mod:`lockerd.config`),
so there is nothing to copy: these helpers name the pieces, and compose the two objects
that combine sections (the MQTT topics and the publisher's broker settings).
"""

from __future__ import annotations

from custody.domain.people import Directory
from custody.settings import RulesSettings, build_directory
from locker_firmware_bridge.factory import CabinetSettings
from lockerd.config import StationConfig
from lockerd.mqtt import Topics
from lockerd.outbox import BrokerSettings
from witness.station import CosignSettings, WitnessSettings


def rules_settings(cfg: StationConfig) -> RulesSettings:
    """``[rules]``, with the station's time zone."""
    return cfg.rules


def directory(cfg: StationConfig) -> Directory:
    """The checked people directory."""
    return build_directory(cfg.people)


def cabinet_settings(cfg: StationConfig) -> list[CabinetSettings]:
    """``[[cabinets]]`` for :func:`locker_firmware_bridge.factory.build_cabinets`."""
    return list(cfg.cabinets)


def topics(cfg: StationConfig) -> Topics:
    """The station's MQTT topic names."""
    return Topics(cfg.station.station_id, cfg.mqtt.topic_prefix)


def broker_settings(cfg: StationConfig) -> BrokerSettings:
    """``[mqtt]`` and the station's id, for the outbox publisher."""
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
