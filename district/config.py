"""The district configuration: its own TOML file, one pydantic model per section, validated
like the station's (``lockerd/config.py``): unknown keys refused, every error naming the
key and its line.

- ``[district]``: :class:`DistrictSection` (name, folder, listen address, timings)
- ``[database]``: :class:`DatabaseSection` (the PostgreSQL DSN)
- ``[[stations]]``: :class:`StationEntry` (id, ``/log/`` URL, mirror token, verifier key,
  the station's own ``[rules]`` as :class:`custody.settings.RulesSettings`)
- ``[[people]]``: :class:`DistrictPerson` (who may hold a district token: legal staff, and
  supervisors with the one station they supervise)

docs/district.md documents every key.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from custody.errors import ConfigError, LockerError
from custody.ledger.note import Verifier
from custody.settings import RulesSettings
from custody.textfile import read_config_text
from lockerd.config import locate_key

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Section(BaseModel):
    """A district config section: unknown keys refused, frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DistrictSection(Section):
    """``[district]``: what the district server is and how often it looks."""

    name: str = Field(default="district", pattern=_ID)
    data: Path = Path("district-data")  # per-station mirror folders (tiles, photos by hash)
    listen: str = "127.0.0.1:8090"  # the screen (host:port)
    poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    backoff_max_seconds: float = Field(default=300.0, gt=0)
    silent_after_seconds: int = Field(default=3600, ge=1)  # no new checkpoint: "station silent"
    escalation_grace_seconds: int = Field(default=600, ge=0)  # a step this late: "missing"
    language: Literal["zh_CN", "en"] = "zh_CN"
    witness: Path | None = None  # the district's witness folder (`locker witness init`)
    page_size: int = Field(default=25, ge=1, le=500)


class DatabaseSection(Section):
    """``[database]``: the replica."""

    dsn: str = "host=127.0.0.1 port=5432 user=postgres dbname=district"


class StationEntry(Section):
    """``[[stations]]``: one station the district mirrors, witnesses and checks."""

    id: str = Field(pattern=_ID)
    url: str = Field(pattern=r"^https?://")  # the station's /log/ prefix
    token: str = ""  # a token of role mirror (or auditor) at the station
    key: str  # the station's verifier key (its `locker audit key`)
    rules: RulesSettings = RulesSettings()  # the station's own [rules], with its timezone
    broker: str = ""  # the station's Mosquitto host:port (for `locker district bridge-config`)

    @field_validator("key")
    @classmethod
    def _vkey(cls, value: str) -> str:
        try:
            return Verifier.from_vkey(value.strip()).vkey
        except (LockerError, ValueError) as exc:
            raise ValueError(f"not a verifier key: {exc}") from exc

    @property
    def origin(self) -> str:
        return Verifier.from_vkey(self.key).name


class DistrictPerson(Section):
    """``[[people]]``: a person who may hold a district token."""

    id: str = Field(pattern=_ID)
    name: str
    role: Literal["legal", "supervisor"]
    station: str = ""  # a supervisor's own station (required for supervisors)


class DistrictConfig(Section):
    """The whole district file."""

    district: DistrictSection = DistrictSection()
    database: DatabaseSection = DatabaseSection()
    stations: list[StationEntry] = Field(default_factory=list)
    people: list[DistrictPerson] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_checks(self) -> DistrictConfig:
        ids = [s.id for s in self.stations]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"stations: duplicate id(s) {sorted(dup)}")
        for p in self.people:
            if p.role == "supervisor" and p.station not in ids:
                raise ValueError(f"people: supervisor {p.id!r} needs the id of a listed station")
        return self

    def station(self, station_id: str) -> StationEntry:
        for s in self.stations:
            if s.id == station_id:
                return s
        raise ConfigError(f"no station {station_id!r} in the district config")

    def person(self, person_id: str) -> DistrictPerson:
        for p in self.people:
            if p.id == person_id:
                return p
        raise ConfigError(f"no person {person_id!r} in the district config's [[people]]")


def parse_district_config(
    text: str, source: str = "<district config>", base: Path | None = None
) -> DistrictConfig:
    """Parse and validate; raises ConfigError naming the key and its line."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        cfg = DistrictConfig.model_validate(raw)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = [p for p in err["loc"] if isinstance(p, str | int)]
            line = locate_key(text, loc)
            where = f"{source}:{line}" if line is not None else source
            key = ".".join(str(p) for p in loc) or "(top level)"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            parts.append(f"{where}: {key}: {msg}")
        raise ConfigError("; ".join(parts)) from exc
    if base is not None:
        d = cfg.district
        update: dict[str, Path] = {}
        if not d.data.is_absolute():
            update["data"] = base / d.data
        if d.witness is not None and not d.witness.is_absolute():
            update["witness"] = base / d.witness
        cfg = cfg.model_copy(update={"district": d.model_copy(update=update)})
        stations = [
            s.model_copy(update={"rules": dataclasses.replace(
                s.rules, catalogue=base / s.rules.catalogue)})
            if s.rules.catalogue is not None and not s.rules.catalogue.is_absolute() else s
            for s in cfg.stations
        ]
        cfg = cfg.model_copy(update={"stations": stations})
    return cfg


def load_district_config(path: Path) -> DistrictConfig:
    """Read a district config file; relative paths are relative to its folder."""
    text = read_config_text(path)  # the station config's checks: missing, folder, not UTF-8
    return parse_district_config(text, str(path), path.parent)
