"""The kinds of leaving custody: for good (release, transfer, destruction) or for a while.

A station's kinds are a TOML file (the shipped ``custody/catalogue/leaving.toml``; a station
copies it and points ``[rules] leaving`` at its copy). Each kind has its names in zh-CN and
English, whether it is final, the documents it needs, its due time when temporary, whether a
hold refuses it, and whether the complainant is told. The file also holds the categories
whose carrying out needs two clerks (cash, valuables) and the ladder of a temporary leave's
due date. Format: ``docs/custody.md``, "Leaving custody".
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.errors import ConfigError
from custody.rules.catalogue import LadderStep, RiskPoint
from custody.rules.catalogue import _ladder as parse_ladder
from custody.rules.durations import parse_duration_ms

LEAVING_PATH = Path(__file__).resolve().parent.parent / "catalogue" / "leaving.toml"
_ID = re.compile(r"^[a-z0-9_]{1,64}$")

#: the documents a kind may require (the request records the first two, the carrying out
#: the recipient's ID number and unit)
DOCUMENTS = ("decision_no", "receiving_unit", "recipient_id")

#: the id of the rules engine's point that watches a temporary leave's due date
LEAVE_POINT = "leave"


@dataclass(frozen=True)
class LeaveKind:
    """One kind of leaving (see the module docstring)."""

    id: str
    name_zh: str
    name_en: str
    final: bool
    documents: frozenset[str]
    due_ms: int | None  # temporary kinds only
    refused_under_hold: bool
    tell_complainant: bool = False

    def name(self, language: str) -> str:
        """The kind's name in a language (zh-CN, else English)."""
        return self.name_zh if language.lower().startswith("zh") else self.name_en


@dataclass(frozen=True)
class LeaveCatalogue:
    """Every kind of leaving of a station, the two-clerk categories and the due ladder."""

    kinds: tuple[LeaveKind, ...]
    two_clerks: frozenset[str]
    ladder: tuple[LadderStep, ...]

    def kind(self, kind_id: str) -> LeaveKind | None:
        """The kind with this id, or None."""
        return next((k for k in self.kinds if k.id == kind_id), None)

    def point(self) -> RiskPoint:
        """The rules engine's point for temporary leaves: open while the item is out, its
        deadline the leave's recorded due time."""
        from custody.domain.states import ItemState

        return RiskPoint(id=LEAVE_POINT, category="custody",
                         name="Bring an item back from a temporary leave by its due date",
                         state=ItemState.OUT_ON_LEAVE, deadline_ms=0, ladder=self.ladder)


def _bool(raw: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: '{key}' must be true or false")
    return value


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be text")
    return value


_KIND_KEYS = {"id", "name_zh", "name_en", "final", "due", "documents", "refused_under_hold",
              "tell_complainant"}


def _kind(raw: Any, where: str) -> LeaveKind:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    unknown = set(raw) - _KIND_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    kid = _text(raw, "id", where)
    if not _ID.match(kid):
        raise ConfigError(f"{where}: id {kid!r} must be lowercase letters, digits, _")
    where = f"{where} ({kid})"
    final = _bool(raw, "final", where, False)
    docs = raw.get("documents", [])
    if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs):
        raise ConfigError(f"{where}: 'documents' must be a list of text")
    bad = set(docs) - set(DOCUMENTS)
    if bad:
        raise ConfigError(
            f"{where}: unknown document(s) {sorted(bad)} (use {', '.join(DOCUMENTS)})"
        )
    due_ms: int | None = None
    if final:
        if "due" in raw:
            raise ConfigError(f"{where}: a final kind has no due time")
    else:
        due_ms = parse_duration_ms(_text(raw, "due", where))
        if due_ms <= 0:
            raise ConfigError(f"{where}: 'due' must be a positive duration")
    return LeaveKind(
        id=kid, name_zh=_text(raw, "name_zh", where), name_en=_text(raw, "name_en", where),
        final=final, documents=frozenset(docs), due_ms=due_ms,
        refused_under_hold=_bool(raw, "refused_under_hold", where, final),
        tell_complainant=_bool(raw, "tell_complainant", where, False),
    )


def parse_leaving(data: Mapping[str, Any], source: str = "leaving") -> LeaveCatalogue:
    """Build a checked :class:`LeaveCatalogue` from decoded TOML."""
    if data.get("version", 1) != 1:
        raise ConfigError(f"{source}: unsupported version {data.get('version')!r}")
    unknown = set(data) - {"version", "two_clerks", "ladder", "kind"}
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {sorted(unknown)}")
    raw_kinds = data.get("kind", [])
    if not isinstance(raw_kinds, list) or not raw_kinds:
        raise ConfigError(f"{source}: 'kind' must be a non-empty array of tables")
    kinds = tuple(_kind(raw, f"{source}: kind {i}") for i, raw in enumerate(raw_kinds))
    ids = [k.id for k in kinds]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{source}: a kind id is defined twice")
    two = data.get("two_clerks", [])
    if not isinstance(two, list) or not all(isinstance(c, str) for c in two):
        raise ConfigError(f"{source}: 'two_clerks' must be a list of categories")
    return LeaveCatalogue(kinds, frozenset(c.lower() for c in two),
                          parse_ladder(data.get("ladder"), source))


def load_leaving(path: Path | None = None) -> LeaveCatalogue:
    """Read a kinds-of-leaving file (the shipped one when ``path`` is None)."""
    path = path or LEAVING_PATH
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read the kinds of leaving {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"kinds of leaving {path} is not valid TOML: {exc}") from None
    return parse_leaving(data, str(path))
