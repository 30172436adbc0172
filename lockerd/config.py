"""The station configuration: one TOML file, validated by pydantic models.

Every section is a model with ``extra="forbid"``, so a misspelt key is refused rather than
silently ignored, and every error names the key *and* the line of the file it sits on
(``tomllib`` keeps no positions, so :func:`locate_key` finds the line by scanning the text).

Sections: ``[station]``, ``[ledger]`` (as written by ``locker init``), ``[rules]``,
``[[people]]``, ``[[cabinets]]``, ``[camera]``, ``[scanner]``, ``[mqtt]``, ``[api]``,
``[terminal]``, ``[[witness]]``, ``[witnessing]``. ``docs/config.md`` documents every key.
The other packages take plain settings objects, never these models: the conversions live
in :mod:`lockerd.settings`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from custody.errors import ConfigError, LockerError

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROLES = ("officer", "clerk", "supervisor", "legal", "auditor")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StationSection(_Section):
    """``[station]``: who this station is and where it keeps its data."""

    id: str = Field(default="", pattern=r"^$|" + _ID)
    name: str = ""
    origin: str = ""
    data_dir: Path = Path(".")
    timezone: str = "Asia/Shanghai"
    poll_interval_ms: int = Field(default=100, ge=5, le=60_000)
    offline_after_failures: int = Field(default=3, ge=1, le=1000)
    checkpoint_tick_seconds: int = Field(default=10, ge=1, le=3600)
    rules_tick_seconds: int = Field(default=30, ge=1, le=3600)

    @property
    def station_id(self) -> str:
        """The id used in MQTT topics: ``id``, else ``name`` reduced to safe characters."""
        if self.id:
            return self.id
        return re.sub(r"[^A-Za-z0-9_.-]", "-", self.name).strip("-") or "station"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class LedgerSection(_Section):
    """``[ledger]``: automatic checkpoints and durability, as ``locker init`` writes them."""

    checkpoint_every_entries: int = Field(default=100, ge=0)  # 0: off
    checkpoint_every_seconds: int = Field(default=600, ge=0)  # 0: off
    synchronous: Literal["FULL", "EXTRA", "NORMAL"] = "FULL"


class RulesSection(_Section):
    """``[rules]``: deadlines and the escalation ladder."""

    handover_hours: int = Field(default=24, ge=1, le=24 * 14)
    handover_remind_before_hours: int = Field(default=4, ge=0)
    handover_legal_after_hours: int = Field(default=24, ge=0)
    return_time: str = "18:00"
    return_times: dict[str, str] = Field(default_factory=dict)
    return_remind_before_minutes: int = Field(default=30, ge=0)
    return_supervisor_after_minutes: int = Field(default=60, ge=0)
    return_legal_after_hours: int = Field(default=24, ge=0)
    day_start: str = "06:00"
    catalogue: Path | None = None
    lawfulness_checklist: list[str] = Field(default_factory=list)  # empty: the default list

    @field_validator("return_time", "day_start")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"expected HH:MM, got {value!r}")
        return value

    @field_validator("return_times")
    @classmethod
    def _weekday_times(cls, value: dict[str, str]) -> dict[str, str]:
        for day, hhmm in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use {', '.join(WEEKDAYS)})")
            if not _HHMM.match(hhmm):
                raise ValueError(f"{day}: expected HH:MM, got {hhmm!r}")
        return value


class PersonEntry(_Section):
    """``[[people]]``: one person the station knows (until a directory is wired in)."""

    id: str = Field(pattern=_ID)
    name: str
    role: Literal["officer", "clerk", "supervisor", "legal", "auditor"]
    badge: str = ""
    pin_hash: str = ""
    supervisor: str | None = None
    phone: str = ""

    @field_validator("pin_hash")
    @classmethod
    def _pin_hash_format(cls, value: str) -> str:
        if value and not value.startswith(("scrypt$", "pbkdf2_sha256$")):
            raise ValueError("pin_hash must come from `locker config hash-pin` (scrypt$...)")
        return value


class CabinetEntry(_Section):
    """``[[cabinets]]``: one cabinet controller and how to reach it (the keys are those of
    ``locker_firmware_bridge.factory.CabinetSettings``)."""

    id: str = Field(pattern=_ID)
    transport: Literal["modbus-tcp", "modbus-rtu", "lockboard"] = "modbus-tcp"
    url: str | None = None  # "HOST:PORT" for TCP; a device path or socket:// URL for serial
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    device: str | None = None  # /dev/ttyUSB0, a pty, or socket://host:port
    unit: int = Field(default=1, ge=0, le=247)
    compartments: int | None = Field(default=None, ge=1, le=256)
    baud: int | None = Field(default=None, ge=300)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    timeout_ms: int = Field(default=500, ge=10)
    gap_ms: float | None = Field(default=None, ge=0)
    lock_bit_locked: Literal[0, 1] = 1
    map: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs_endpoint(self) -> CabinetEntry:
        if self.transport == "modbus-tcp" and not (self.url or self.host):
            raise ValueError("transport 'modbus-tcp' needs `host` (and `port`) or `url`")
        if self.transport != "modbus-tcp" and not (self.device or self.url):
            raise ValueError(f"transport {self.transport!r} needs `device`")
        if self.transport == "lockboard" and self.compartments is None:
            raise ValueError("transport 'lockboard' needs `compartments`")
        return self


class CameraSection(_Section):
    """``[camera]``: where photos come from (``sim`` = the simulated camera)."""

    source: str = "sim"
    width: int = Field(default=1280, ge=64)
    height: int = Field(default=720, ge=48)
    settle_ms: int = Field(default=0, ge=0)
    retries: int = Field(default=2, ge=0)


class ScannerSection(_Section):
    """``[scanner]``: how labels are read."""

    attempts: int = Field(default=3, ge=1, le=20)  # frames tried before a scan is refused


class MqttSection(_Section):
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


class ApiSection(_Section):
    """``[api]``: the read API served by the daemon."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class TerminalSection(_Section):
    """``[terminal]``: the flows at the cabinet (timeouts, PIN policy)."""

    door_open_timeout_s: int = Field(default=60, ge=1)
    door_close_timeout_s: int = Field(default=120, ge=1)
    pin_max_attempts: int = Field(default=5, ge=1)
    pin_lockout_s: int = Field(default=300, ge=1)
    idle_lock_s: int = Field(default=90, ge=5)
    language: Literal["zh", "en"] = "zh"
    kiosk: bool = True  # serve the kiosk screens (package `terminal`) with the API


class WitnessEntry(_Section):
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


class WitnessingSection(_Section):
    """``[witnessing]``: when to retry witnesses and when an uncosigned checkpoint alarms."""

    alarm_after_seconds: int = Field(default=3600, ge=0)  # 0: never
    retry_seconds: int = Field(default=60, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)


class PrinterSection(_Section):
    """``[printer]``: the label printer (docs/labels.md); an empty ``url`` means none."""

    url: str = ""  # tcp://HOST:9100, HOST:PORT, or a device file such as /dev/usb/lp0
    language: Literal["tspl", "zpl"] = "tspl"
    label_language: Literal["zh", "en"] = "zh"
    timeout_s: int = Field(default=5, ge=1, le=120)


class StationConfig(_Section):
    """The whole file."""

    station: StationSection = StationSection()
    ledger: LedgerSection = LedgerSection()
    rules: RulesSection = RulesSection()
    people: list[PersonEntry] = Field(default_factory=list)
    cabinets: list[CabinetEntry] = Field(default_factory=list)
    camera: CameraSection = CameraSection()
    scanner: ScannerSection = ScannerSection()
    mqtt: MqttSection = MqttSection()
    api: ApiSection = ApiSection()
    terminal: TerminalSection = TerminalSection()
    witness: list[WitnessEntry] = Field(default_factory=list)
    witnessing: WitnessingSection = WitnessingSection()
    printer: PrinterSection = PrinterSection()

    @model_validator(mode="after")
    def _cross_checks(self) -> StationConfig:
        ids = [p.id for p in self.people]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"people: duplicate id(s) {sorted(dup)}")
        badges = [p.badge for p in self.people if p.badge]
        dupb = {b for b in badges if badges.count(b) > 1}
        if dupb:
            raise ValueError(f"people: duplicate badge(s) {sorted(dupb)}")
        known = {p.id: p.role for p in self.people}
        for p in self.people:
            if p.supervisor is not None and known.get(p.supervisor) != "supervisor":
                raise ValueError(
                    f"people: {p.id}'s supervisor {p.supervisor!r} is not a supervisor"
                )
        cabs = [c.id for c in self.cabinets]
        dupc = {c for c in cabs if cabs.count(c) > 1}
        if dupc:
            raise ValueError(f"cabinets: duplicate id(s) {sorted(dupc)}")
        wkeys = [w.key for w in self.witness]
        if len(set(wkeys)) != len(wkeys):
            raise ValueError("witness: the same witness key is listed twice")
        return self

    def person(self, person_id: str) -> PersonEntry:
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
            rules = rules.model_copy(update={"catalogue": _absolute(rules.catalogue, base)})
        return self.model_copy(update={"station": station, "rules": rules})


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


def _describe(exc: ValidationError, text: str, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if isinstance(p, str | int)]
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = locate_key(text, loc)
        where = f"{source}:{line}" if line is not None else source
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
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
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from exc
    return parse_config(text, str(path), base=path.resolve().parent)


# --------------------------------------------------------------------------- PINs

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """A PIN hash for the config: ``scrypt$N$r$p$salthex$hashhex``."""
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ConfigError("a PIN is 4 to 12 digits")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        pin.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches a stored hash (scrypt or pbkdf2_sha256); constant-time."""
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, want = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
            got = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=len(want))
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            rounds, salt, want = int(parts[1]), bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
            got = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, rounds, dklen=len(want))
        else:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(got, want)
