"""The station configuration: one TOML file, validated by pydantic into one class per section.

Each section has exactly one definition, which gives its keys, their defaults and their
checks. A section the daemon alone uses is a pydantic model here (:class:`Section`); a
section another package uses is that package's own frozen dataclass, which the package
takes as it is (no copying field by field), checked in its ``__post_init__`` (raising
:class:`~custody.errors.SettingError`); pydantic validates the TOML straight into it:

- ``[station]``: :class:`StationSection` (the daemon)
- ``[ledger]``: :class:`custody.ledger.station.LedgerSettings` (the ledger, ``locker init``)
- ``[rules]``: :class:`custody.settings.RulesSettings` (the custody core, the API)
- ``[[people]]``: :class:`custody.settings.PersonSettings` (the core, sign-in)
- ``[[cabinets]]``: :class:`locker_firmware_bridge.factory.CabinetSettings` (the bridge)
- ``[camera]``, ``[scanner]``, ``[mqtt]``, ``[api]``: :class:`CameraSection`,
  :class:`ScannerSection`, :class:`MqttSection`, :class:`ApiSection` (the daemon)
- ``[terminal]``: :class:`custody.settings.TerminalSettings` (the kiosk, the console)
- ``[[witness]]``, ``[witnessing]``: :class:`WitnessEntry`, :class:`WitnessingSection` (the
  cosigning client)
- ``[sms]``: :class:`SmsSection` (notices as SMS, :mod:`lockerd.sms`)
- ``[printer]``: :class:`PrinterSection` (the label printer, :mod:`lockerd.labels`)

Every section refuses keys it does not know, so a misspelt key is refused rather than
silently ignored, and every error names the key *and* the line of the file it sits on
(``tomllib`` keeps no positions, so :func:`locate_key` finds the line by scanning the text).
Adding a section: ``docs/config.md`` ("Adding a section").
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from custody.domain.languages import DEFAULT_LANGUAGE, Language
from custody.domain.pins import check_pin, hash_pin
from custody.errors import ConfigError, LockerError, SettingError
from custody.ledger.station import LedgerSettings
from custody.settings import (
    DEFAULT_TIMEZONE,
    PersonSettings,
    RulesSettings,
    TerminalSettings,
    check_id,
    check_people,
    check_zone,
)
from custody.textfile import read_config_text
from locker_firmware_bridge.factory import CabinetSettings

__all__ = [
    "ApiSection", "CabinetSettings", "CameraSection", "LedgerSettings", "MqttSection",
    "PersonSettings", "PrinterSection", "RulesSettings", "ScannerSection", "Section",
    "SmsSection", "StationConfig", "StationSection", "TerminalSettings", "WitnessEntry",
    "WitnessingSection", "check_pin", "hash_pin", "load_config", "locate_key", "parse_config",
]


class Section(BaseModel):
    """A section the daemon alone reads: keys, defaults and checks as pydantic fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StationSection(Section):
    """``[station]``: who this station is and where it keeps its data."""

    id: str = ""
    name: str = ""
    origin: str = ""
    data_dir: Path = Path(".")
    timezone: str = DEFAULT_TIMEZONE
    poll_interval_ms: int = Field(default=100, ge=5, le=60_000)
    offline_after_failures: int = Field(default=3, ge=1, le=1000)
    checkpoint_tick_seconds: int = Field(default=10, ge=1, le=3600)
    rules_tick_seconds: int = Field(default=30, ge=1, le=3600)
    clock_jump_alarm_s: int = Field(default=300, ge=1, le=366 * 86400)

    @property
    def station_id(self) -> str:
        """The id used in MQTT topics: ``id``, else ``name`` reduced to safe characters."""
        if self.id:
            return self.id
        return re.sub(r"[^A-Za-z0-9_.-]", "-", self.name).strip("-") or "station"

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return check_id(value) if value else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone(value)


class CameraSection(Section):
    """``[camera]``: where photos come from (``sim`` = the simulated camera)."""

    source: str = "sim"
    width: int = Field(default=1280, ge=64)
    height: int = Field(default=720, ge=48)
    settle_ms: int = Field(default=0, ge=0)
    retries: int = Field(default=2, ge=0)


class ScannerSection(Section):
    """``[scanner]``: how labels are read."""

    attempts: int = Field(default=3, ge=1, le=20)  # frames tried before a scan is refused


class MqttSection(Section):
    """``[mqtt]``: the broker; ``enabled = false`` keeps every event in the outbox only."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str = ""
    password: str = ""
    client_id: str = ""
    keepalive: int = Field(default=30, ge=5)
    topic_prefix: str = "locker"
    inflight_window: int = Field(default=100, ge=1, le=1000)


class ApiSection(Section):
    """``[api]``: the read API served by the daemon."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class WitnessEntry(Section):
    """``[[witness]]``: a C2SP tlog-witness that cosigns this station's checkpoints."""

    url: str = Field(pattern=r"^https?://")  # the submission prefix (POST <url>/add-checkpoint)
    key: str  # the witness verifier key, name+keyid+base64(0x04||key)

    @field_validator("key")
    @classmethod
    def _witness_key(cls, value: str) -> str:
        from custody.ledger.cosign import WitnessKey

        try:
            return WitnessKey.from_vkey(value).vkey
        except LockerError as exc:
            raise ValueError(str(exc)) from exc


class WitnessingSection(Section):
    """``[witnessing]``: when to retry witnesses and when an uncosigned checkpoint alarms."""

    alarm_after_seconds: int = Field(default=3600, ge=0)  # 0: never
    retry_seconds: int = Field(default=60, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)


class SmsSection(Section):
    """``[sms]``: notices as SMS through a GSM modem or an HTTP gateway (docs/notify.md)."""

    backend: Literal["none", "modem", "http"] = "none"
    port: str = ""  # the modem's serial device, e.g. /dev/ttyUSB2
    baud: int = Field(default=115200, ge=300)
    pin: str = Field(default="", pattern=r"^$|^\d{4,8}$")
    smsc: str = Field(default="", pattern=r"^$|^\+?\d{3,20}$")
    command_timeout_s: float = Field(default=5.0, gt=0)
    send_timeout_s: float = Field(default=60.0, gt=0)
    gateway_url: str = ""
    gateway_auth_header: str = ""  # "Authorization: Bearer ..."
    gateway_templates: dict[str, str] = Field(default_factory=dict)  # notice kind -> id
    gateway_timeout_s: float = Field(default=10.0, gt=0)
    gateway_transient_codes: list[str] = Field(default_factory=list)
    callback_token: str = ""  # set: the gateway's delivery callbacks are taken
    templates: Path | None = None  # the station's own texts (TOML), over the shipped ones
    language: Language = DEFAULT_LANGUAGE  # of SMS to people with none, and complainants
    station_phone: str = ""
    country_code: str = Field(default="86", pattern=r"^\d{1,3}$")
    quiet_hours: str = Field(default="", pattern=r"^$|^[0-2]\d:[0-5]\d-[0-2]\d:[0-5]\d$")
    max_attempts: int = Field(default=5, ge=1, le=100)
    retry_base_s: float = Field(default=30.0, gt=0)
    retry_max_s: float = Field(default=1800.0, gt=0)
    report_timeout_s: float = Field(default=86400.0, gt=0)
    status_every_s: float = Field(default=30.0, gt=0)  # signal/registration check

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        from notify.service import parse_quiet_hours

        parse_quiet_hours(value)  # ValueError: 24:00-07:00 and the like
        return value

    @model_validator(mode="after")
    def _needs_endpoint(self) -> SmsSection:
        if self.backend == "modem" and not self.port:
            raise ValueError("backend 'modem' needs `port`")
        if self.backend == "http" and not self.gateway_url.startswith(("http://", "https://")):
            raise ValueError("backend 'http' needs `gateway_url` (http:// or https://)")
        return self


class PrinterSection(Section):
    """``[printer]``: the label printer (docs/labels.md); an empty ``url`` means none."""

    url: str = ""  # tcp://HOST:9100, HOST:PORT, or a device file such as /dev/usb/lp0
    language: typing.Literal["tspl", "zpl"] = "tspl"
    label_language: typing.Literal["zh", "en"] = "zh"
    timeout_s: int = Field(default=5, ge=1, le=120)


class StationConfig(Section):
    """The whole file: one field per section (a table, or a list for ``[[...]]`` tables)."""

    station: StationSection = StationSection()
    ledger: LedgerSettings = LedgerSettings()
    rules: RulesSettings = RulesSettings()
    people: list[PersonSettings] = Field(default_factory=list)
    cabinets: list[CabinetSettings] = Field(default_factory=list)
    camera: CameraSection = CameraSection()
    scanner: ScannerSection = ScannerSection()
    mqtt: MqttSection = MqttSection()
    api: ApiSection = ApiSection()
    terminal: TerminalSettings = TerminalSettings()
    witness: list[WitnessEntry] = Field(default_factory=list)
    witnessing: WitnessingSection = WitnessingSection()
    sms: SmsSection = SmsSection()
    printer: PrinterSection = PrinterSection()

    @model_validator(mode="before")
    @classmethod
    def _no_rules_timezone(cls, data: Any) -> Any:
        rules = data.get("rules") if isinstance(data, dict) else None
        if isinstance(rules, dict) and "timezone" in rules:
            # RulesSettings carries the zone, but the file names it once: in [station]
            raise SettingError(
                "rules.timezone", "unknown key (the time zone is [station] timezone)"
            )
        return data

    @model_validator(mode="after")
    def _cross_checks(self) -> StationConfig:
        try:
            check_people(self.people)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        cabs = [c.id for c in self.cabinets]
        dupc = {c for c in cabs if cabs.count(c) > 1}
        if dupc:
            raise ValueError(f"cabinets: duplicate id(s) {sorted(dupc)}")
        wkeys = [w.key for w in self.witness]
        if len(set(wkeys)) != len(wkeys):
            raise ValueError("witness: the same witness key is listed twice")
        if self.rules.timezone != self.station.timezone:
            # frozen: the one moment the validated config is completed
            rules = dataclasses.replace(self.rules, timezone=self.station.timezone)
            object.__setattr__(self, "rules", rules)
        return self

    def person(self, person_id: str) -> PersonSettings:
        """The person with this id; a ConfigError if unknown."""
        for p in self.people:
            if p.id == person_id:
                return p
        raise ConfigError(f"no person {person_id!r} in the config")

    def resolve(self, base: Path) -> StationConfig:
        """The same config with relative paths made absolute against ``base``."""
        data_dir = _absolute(self.station.data_dir, base)
        station = self.station.model_copy(update={"data_dir": data_dir})
        rules = self.rules
        if rules.catalogue is not None:
            rules = dataclasses.replace(rules, catalogue=_absolute(rules.catalogue, base))
        if rules.leaving is not None:
            rules = dataclasses.replace(rules, leaving=_absolute(rules.leaving, base))
        sms = self.sms
        if sms.templates is not None:
            sms = sms.model_copy(update={"templates": _absolute(sms.templates, base)})
        return self.model_copy(update={"station": station, "rules": rules, "sms": sms})


def _absolute(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


# --------------------------------------------------------------------------- locating keys

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEYLINE = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+(?:\s*\.\s*[A-Za-z0-9_"'-]+)*)\s*=""")


def _norm_key(raw: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in raw.split("."))


def locate_key(text: str, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the key at ``loc`` (pydantic's error location), or of the
    closest enclosing table header when the key itself is absent; None if not found."""
    tables: dict[tuple[str, ...], int] = {}  # count of [[array]] headers seen so far
    current: tuple[str | int, ...] = ()
    header_line: dict[tuple[str | int, ...], int] = {}
    best: int | None = None
    best_len = -1
    target = tuple(loc)
    for lineno, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m and not line.lstrip().startswith("#"):
            name = _norm_key(m.group(2))
            if m.group(1) == "[[":
                idx = tables.get(name, 0)
                tables[name] = idx + 1
                current = (*name, idx)
            else:
                current = name
            header_line[current] = lineno
            if target[: len(current)] == current and len(current) > best_len:
                best, best_len = lineno, len(current)
            continue
        k = _KEYLINE.match(line)
        if k:
            full = (*current, *_norm_key(k.group(1)))
            n = len(full)
            if target[:n] == full and n > best_len:
                best, best_len = lineno, n
    return best


def _where(err: ErrorDetails) -> tuple[list[str | int], str]:
    """The key path and message of one pydantic error. A settings class's own refusal (a
    :class:`SettingError` from ``__post_init__``) is reported by pydantic at the table; its
    ``key`` says which key of the table it is."""
    loc: list[str | int] = [p for p in err["loc"] if isinstance(p, str | int)]
    msg = err["msg"]
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        msg = "unknown key"
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, SettingError):
        key = [int(p) if p.isdigit() else p for p in cause.key.split(".")]
        if loc[-len(key):] != key:  # a field validator's error is already at its key
            loc += key
        msg = str(cause)
    return loc, msg


def _describe(exc: ValidationError, text: str, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc, msg = _where(err)
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = locate_key(text, loc)
        where = f"{source}:{line}" if line is not None else source
        lines.append(f"{where}: {key}: {msg}")
    return "; ".join(lines)


def parse_config(text: str, source: str = "<config>", base: Path | None = None) -> StationConfig:
    """Parse and validate config text; raises ConfigError naming the key and its line."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        cfg = StationConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, text, source)) from exc
    return cfg.resolve(base) if base is not None else cfg


def load_config(path: Path) -> StationConfig:
    """Read, parse and validate a config file; relative paths are taken from its folder."""
    text = read_config_text(path)
    return parse_config(text, str(path), base=path.resolve().parent)


# --------------------------------------------------------------------------- introspection

#: what :func:`section_keys` gives for a key that has no default (it must be written)
REQUIRED = object()


def sections() -> dict[str, tuple[type, bool]]:
    """Each section's name -> (its class, whether the file writes it as ``[[name]]`` tables)."""
    out: dict[str, tuple[type, bool]] = {}
    for name, f in StationConfig.model_fields.items():
        args = typing.get_args(f.annotation)
        many = typing.get_origin(f.annotation) is list
        cls = args[0] if many else f.annotation
        assert isinstance(cls, type)
        out[name] = (cls, many)
    return out


def section_keys(cls: type) -> dict[str, object]:
    """A section class's keys -> their defaults (:data:`REQUIRED` for none), in order."""
    if issubclass(cls, BaseModel):
        return {
            k: (REQUIRED if f.is_required() else f.get_default(call_default_factory=True))
            for k, f in cls.model_fields.items()
        }
    if dataclasses.is_dataclass(cls):
        out: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                out[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                out[f.name] = f.default_factory()
            else:
                out[f.name] = REQUIRED
        return out
    raise TypeError(f"{cls!r} is not a section class")
