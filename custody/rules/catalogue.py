"""The risk-point catalogue: categories of points, each with a deadline and a ladder.

A station's full list (the centre that inspired this runs 43 categories and 137 points) is
entered in a TOML file, without code. Format (see ``docs/custody.md`` and the shipped
``custody/catalogue/starter.toml``)::

    version = 1
    [[category]]
    id = "intake"
    name = "Intake and handover"
      [[category.point]]
      id = "store_after_handover"
      name = "Handed-over item not yet stored"
      state = "handed_over"          # the custody state that starts the clock
      start = "state"                # "state" (entering it) or "seizure" (seized_at)
      deadline = "2h"
      kinds = []                     # case_file / exhibit; empty = both
      categories = []                # item categories (cash, perishable...); empty = all
      ladder = [ { role = "clerk", at = "0" }, { role = "supervisor", at = "+2h" } ]

A point is *open* for an item while the item stays in ``state``; leaving the state resolves
it and stops its ladder. ``at`` is relative to the deadline (``-4h`` = 4 hours before).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.domain.roles import LADDER_ROLES
from custody.domain.states import ItemKind, ItemState
from custody.errors import ConfigError
from custody.rules.durations import parse_duration_ms

STARTER_PATH = Path(__file__).resolve().parent.parent / "catalogue" / "starter.toml"
_ID = re.compile(r"^[a-z0-9_]{1,64}$")


@dataclass(frozen=True)
class LadderStep:
    """One rung: tell ``role`` at ``at_ms`` relative to the deadline (negative = before)."""

    role: str
    at_ms: int


@dataclass(frozen=True)
class RiskPoint:
    """A watched deadline. ``id`` is ``category.point`` (or ``handover`` / ``return``)."""

    id: str
    category: str
    name: str
    state: ItemState
    deadline_ms: int
    ladder: tuple[LadderStep, ...]
    start: str = "state"
    kinds: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    description: str = ""

    def applies(self, kind: str, category: str) -> bool:
        """Whether the point watches an item of this kind and category."""
        return (not self.kinds or kind in self.kinds) and (
            not self.categories or category in self.categories
        )


@dataclass(frozen=True)
class Category:
    """A group of risk points."""

    id: str
    name: str
    points: tuple[RiskPoint, ...]


@dataclass(frozen=True)
class Catalogue:
    """Every category and point of a station."""

    categories: tuple[Category, ...]

    @property
    def points(self) -> tuple[RiskPoint, ...]:
        return tuple(p for c in self.categories for p in c.points)

    def by_state(self) -> dict[ItemState, tuple[RiskPoint, ...]]:
        """Points grouped by the state they watch (what the rules engine indexes)."""
        out: dict[ItemState, list[RiskPoint]] = {}
        for p in self.points:
            out.setdefault(p.state, []).append(p)
        return {k: tuple(v) for k, v in out.items()}


EMPTY = Catalogue(())


def _text(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be text")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of text")
    return frozenset(value)


def _ladder(raw: object, where: str) -> tuple[LadderStep, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: 'ladder' must be a non-empty list of steps")
    steps: list[LadderStep] = []
    for i, step in enumerate(raw):
        if not isinstance(step, dict):
            raise ConfigError(f"{where}: ladder step {i} must be a table")
        unknown = set(step) - {"role", "at"}
        if unknown:
            raise ConfigError(f"{where}: ladder step {i} has unknown key(s) {sorted(unknown)}")
        role = _text(step, "role", f"{where} ladder step {i}")
        if role not in LADDER_ROLES:
            raise ConfigError(
                f"{where}: ladder step {i} role {role!r} is not one of {', '.join(LADDER_ROLES)}"
            )
        at = parse_duration_ms(_text(step, "at", f"{where} ladder step {i}", "0"))
        if steps and at < steps[-1].at_ms:
            raise ConfigError(f"{where}: ladder steps must be in time order")
        steps.append(LadderStep(role, at))
    return tuple(steps)


_POINT_KEYS = {
    "id", "name", "description", "state", "start", "deadline", "kinds", "categories", "ladder",
}


def _point(category: str, raw: Mapping[str, Any], where: str) -> RiskPoint:
    unknown = set(raw) - _POINT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    pid = _text(raw, "id", where)
    if not _ID.match(pid):
        raise ConfigError(f"{where}: id {pid!r} must be lowercase letters, digits, _")
    where = f"{where} ({category}.{pid})"
    try:
        state = ItemState(_text(raw, "state", where))
    except ValueError:
        raise ConfigError(
            f"{where}: state must be one of {', '.join(s.value for s in ItemState)}"
        ) from None
    if state is ItemState.DISPOSED:
        raise ConfigError(f"{where}: a disposed item has no open deadline to watch")
    start = _text(raw, "start", where, "state")
    if start not in ("state", "seizure"):
        raise ConfigError(f"{where}: start must be 'state' or 'seizure'")
    kinds = _strings(raw, "kinds", where)
    bad = kinds - {k.value for k in ItemKind}
    if bad:
        raise ConfigError(f"{where}: unknown item kind(s) {sorted(bad)}")
    deadline = parse_duration_ms(_text(raw, "deadline", where))
    if deadline < 0:
        raise ConfigError(f"{where}: deadline must not be negative")
    return RiskPoint(
        id=f"{category}.{pid}",
        category=category,
        name=_text(raw, "name", where),
        description=_text(raw, "description", where, ""),
        state=state,
        start=start,
        deadline_ms=deadline,
        kinds=kinds,
        categories=_strings(raw, "categories", where),
        ladder=_ladder(raw.get("ladder"), where),
    )


def parse_catalogue(data: Mapping[str, Any], source: str = "catalogue") -> Catalogue:
    """Build a checked :class:`Catalogue` from decoded TOML."""
    if data.get("version", 1) != 1:
        raise ConfigError(f"{source}: unsupported catalogue version {data.get('version')!r}")
    unknown = set(data) - {"version", "category"}
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {sorted(unknown)}")
    raw_categories = data.get("category", [])
    if not isinstance(raw_categories, list):
        raise ConfigError(f"{source}: 'category' must be an array of tables")
    categories: list[Category] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_categories):
        where = f"{source}: category {i}"
        cid = _text(raw, "id", where)
        if not _ID.match(cid):
            raise ConfigError(f"{where}: id {cid!r} must be lowercase letters, digits, _")
        extra = set(raw) - {"id", "name", "point"}
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {sorted(extra)}")
        raw_points: Sequence[Mapping[str, Any]] = raw.get("point", [])
        points = tuple(
            _point(cid, p, f"{source}: {cid} point {j}") for j, p in enumerate(raw_points)
        )
        for p in points:
            if p.id in seen:
                raise ConfigError(f"{source}: point {p.id!r} is defined twice")
            seen.add(p.id)
        categories.append(Category(cid, _text(raw, "name", where), points))
    return Catalogue(tuple(categories))


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read a catalogue file (the shipped starter catalogue when ``path`` is None)."""
    path = path or STARTER_PATH
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read risk-point catalogue {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"risk-point catalogue {path} is not valid TOML: {exc}") from None
    return parse_catalogue(data, str(path))
