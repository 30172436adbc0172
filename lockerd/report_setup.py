"""From the station config to what reports and labels show: station name, zone, people."""

from __future__ import annotations

from pathlib import Path

from api.reports import ReportSetup
from lockerd import settings as conv
from lockerd.config import StationConfig, load_config


def report_setup(cfg: StationConfig) -> ReportSetup:
    """The report setup of a station config (``[station]`` name and zone, ``[[people]]``)."""
    return ReportSetup(
        station=cfg.station.name or cfg.station.station_id,
        timezone=cfg.station.timezone,
        people=tuple(conv.people_settings(cfg)),
    )


def station_config(data: Path, config: Path | None) -> StationConfig:
    """``config`` if given, else ``DATA/config.toml`` (the defaults when it is absent)."""
    path = config if config is not None else data / "config.toml"
    if config is None and not path.is_file():
        return StationConfig()
    return load_config(path)
