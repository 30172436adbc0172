"""A station data directory: its layout, its keys and its ``[ledger]`` settings.

``init_station`` lays out the directory of ``docs/data-dir.md``: ``ledger.db`` (empty
ledger), ``station.key`` (Ed25519 signing key, mode 0600), ``station.vkey`` (the verifier
key in signed-note format), ``config.toml`` and ``photos/``. It refuses to touch a
directory that already holds a station.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import socket
import sqlite3
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.errors import ConfigError, DiskFullError, SettingError, UsageError
from custody.ledger.errors import StationExistsError, StationNotFoundError
from custody.ledger.note import generate_signer
from custody.ledger.store import create_schema
from custody.settings import DEFAULT_TIMEZONE, check_range
from custody.textfile import read_config_text

#: the SQLite durability modes a station may run with (OFF would lose acknowledged appends)
LEDGER_SYNCHRONOUS = ("FULL", "EXTRA", "NORMAL")
# A log origin is also the signing key's name in signed notes: no spaces and no '+'.
_ORIGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~:/@-]{0,199}")


@dataclass(frozen=True)
class StationPaths:
    """Where each part of a station data directory lives."""

    root: Path

    @property
    def ledger_db(self) -> Path:
        return self.root / "ledger.db"

    @property
    def key(self) -> Path:
        return self.root / "station.key"

    @property
    def vkey(self) -> Path:
        return self.root / "station.vkey"

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def photos(self) -> Path:
        return self.root / "photos"

    @property
    def lock(self) -> Path:
        return self.root / "ledger.lock"


@dataclass(frozen=True)
class LedgerSettings:
    """The ``[ledger]`` section of ``config.toml``: automatic checkpoints (every N entries,
    at least every T seconds while entries arrive; 0: off) and SQLite durability. Read by the
    ledger itself; the daemon's config loader validates the same class."""

    checkpoint_every_entries: int = 100
    checkpoint_every_seconds: int = 600
    synchronous: str = "FULL"

    def __post_init__(self) -> None:
        for name in ("checkpoint_every_entries", "checkpoint_every_seconds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise SettingError(name, f"must be an integer >= 0 (0: off), got {value!r}")
            check_range(value, name, 0)
        sync = self.synchronous.upper() if isinstance(self.synchronous, str) else ""
        if sync not in LEDGER_SYNCHRONOUS:
            raise SettingError(
                "synchronous",
                f"must be one of {', '.join(LEDGER_SYNCHRONOUS)}, got {self.synchronous!r}",
            )
        object.__setattr__(self, "synchronous", sync)


def check_origin(origin: str) -> str:
    """Return ``origin`` if it can name the log and its key; raise :class:`UsageError`."""
    if not _ORIGIN.fullmatch(origin):
        raise UsageError(
            f"origin {origin!r} must be 1-200 characters of letters, digits and ._~:/@- "
            "(no spaces, no '+'), e.g. 'locker.example.org/station-7'"
        )
    return origin


def default_origin() -> str:
    """``evidence-locker/<hostname>``, with the hostname reduced to allowed characters."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "station"
    return f"evidence-locker/{host}"


def _toml_str(value: str) -> str:
    # A JSON string of printable text is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=False)


def default_config(name: str, origin: str) -> str:
    """The text of a new station's ``config.toml``."""
    s = LedgerSettings()
    return (
        "# evidence-locker station configuration (see docs/data-dir.md)\n\n"
        "[station]\n"
        f"name = {_toml_str(name)}\n"
        f"origin = {_toml_str(origin)}\n"
        f"timezone = {_toml_str(DEFAULT_TIMEZONE)}\n\n"
        "[ledger]\n"
        "# a signed checkpoint every N entries and at least every T seconds while entries arrive\n"
        f"checkpoint_every_entries = {s.checkpoint_every_entries}\n"
        f"checkpoint_every_seconds = {s.checkpoint_every_seconds}\n"
        "# SQLite durability: FULL never loses an acknowledged append on power loss\n"
        f"synchronous = {_toml_str(s.synchronous)}\n"
    )


def init_station(
    data_dir: Path | str, origin: str | None = None, *, name: str | None = None
) -> StationPaths:
    """Create a new station data directory; raises :class:`StationExistsError` if the
    directory already holds a ledger, a key or a config. On any failure (a full disk:
    :class:`DiskFullError`) what was made is removed again: no half station is left."""
    paths = StationPaths(Path(data_dir))
    origin = check_origin(origin if origin is not None else default_origin())
    for existing in (paths.ledger_db, paths.key, paths.vkey, paths.config):
        if existing.exists():
            raise StationExistsError(
                f"{paths.root} already holds a station ({existing.name} exists); "
                "refusing to overwrite it"
            )
    made = [p for p in _ancestors(paths.photos / "thumbs") if not p.exists()]
    try:
        paths.root.mkdir(parents=True, exist_ok=True)
        (paths.photos / "thumbs").mkdir(parents=True, exist_ok=True)
        skey, vkey = generate_signer(origin)
        # O_EXCL: never clobber a key another process created meanwhile; 0600 from the start.
        fd = os.open(paths.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        made.append(paths.key)
        with os.fdopen(fd, "w") as f:
            f.write(skey + "\n")
            f.flush()
            os.fsync(f.fileno())
        made.append(paths.vkey)
        paths.vkey.write_text(vkey + "\n")
        station_name = name if name is not None else origin.rsplit("/", 1)[-1]
        made.append(paths.config)
        paths.config.write_text(default_config(station_name, origin))
        made += [paths.ledger_db, *(paths.root / f"ledger.db{s}" for s in ("-wal", "-shm"))]
        create_schema(paths.ledger_db, origin)
    except BaseException as exc:
        for path in sorted(made, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):  # a folder something else put files in
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink(missing_ok=True)
        if _disk_full(exc):
            raise DiskFullError(
                f"disk full while creating the station in {paths.root}; nothing was kept. "
                "Free some space and run it again"
            ) from exc
        raise
    return paths


def _ancestors(path: Path) -> list[Path]:
    """``path`` and every folder above it, outermost first."""
    return [*reversed(path.parents), path]


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL
    return False


def read_config(paths: StationPaths) -> dict[str, Any]:
    """The parsed ``config.toml`` (empty when the file is absent)."""
    if not paths.config.exists():
        return {}
    text = read_config_text(paths.config)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{paths.config}: not valid TOML: {exc}") from None


def ledger_settings(config: dict[str, Any]) -> LedgerSettings:
    """Validate the ``[ledger]`` section; raises :class:`ConfigError` with the bad key."""
    section = config.get("ledger", {})
    if not isinstance(section, dict):
        raise ConfigError("[ledger] must be a table")
    unknown = set(section) - set(LedgerSettings.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"[ledger] has unknown settings: {', '.join(sorted(unknown))}")
    try:
        return LedgerSettings(**section)
    except SettingError as exc:
        raise ConfigError(f"[ledger] {exc.key}: {exc}") from None


def require_station(data_dir: Path | str) -> StationPaths:
    """The paths of an existing station; raises :class:`StationNotFoundError` otherwise."""
    paths = StationPaths(Path(data_dir))
    if not paths.ledger_db.is_file():
        raise StationNotFoundError(
            f"{paths.root} is not a station data directory (no ledger.db); "
            "create one with `locker init --data DIR`"
        )
    return paths
