"""From the station config to what reports show (station name, zone, people), and the
daemon's recorder of issued reports."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.report_issue import append_report_issued
from api.reports import ReportSetup
from lockerd.config import StationConfig, load_config

if TYPE_CHECKING:
    from lockerd.runtime import Runtime


def report_setup(cfg: StationConfig) -> ReportSetup:
    """The report setup of a station config (``[station]`` name and zone, ``[[people]]``)."""
    return ReportSetup(
        station=cfg.station.name or cfg.station.station_id,
        timezone=cfg.station.timezone,
        people=tuple(cfg.people),
    )


def station_config(data: Path, config: Path | None) -> StationConfig:
    """``config`` if given, else ``DATA/config.toml`` (the defaults when it is absent)."""
    path = config if config is not None else data / "config.toml"
    if config is None and not path.is_file():
        return StationConfig()
    return load_config(path)


class RuntimeRecorder:
    """Records issued reports through the daemon's own ledger writer (its custody thread)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def record(self, body: Mapping[str, Any], actor: str) -> int:
        seq = await self.rt.call(append_report_issued, self.rt.ledger, body, actor)
        self.rt.ledger_changed()
        return seq
