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

A point with ``stage`` instead of ``state`` watches a case's stages (a statutory deadline:
:mod:`custody.rules.case_points`); the stages themselves are the file's ``[[stage]]`` tables
(:mod:`custody.stages`). ``include = ["other.toml"]`` reads more files (paths relative to
the including file) into the same catalogue: the shipped starter includes ``stages.toml``.
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
from custody.rules.case_points import CasePoint, parse_case_point
from custody.rules.durations import parse_duration_ms
from custody.stages import NO_STAGES, StageSet, parse_stages

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
    case_points: tuple[CasePoint, ...] = ()


@dataclass(frozen=True)
class Catalogue:
    """Every category and point of a station, and the case stages its case points watch."""

    categories: tuple[Category, ...]
    stages: StageSet = NO_STAGES

    @property
    def points(self) -> tuple[RiskPoint, ...]:
        """The item points (custody states)."""
        return tuple(p for c in self.categories for p in c.points)

    @property
    def case_points(self) -> tuple[CasePoint, ...]:
        """The case points (case stages)."""
        return tuple(p for c in self.categories for p in c.case_points)

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
    """Build a checked :class:`Catalogue` from decoded TOML (one file, no includes)."""
    return parse_catalogue_files([(data, source)])


def parse_catalogue_files(files: Sequence[tuple[Mapping[str, Any], str]]) -> Catalogue:
    """Build one checked :class:`Catalogue` from several decoded files (each with its name,
    which every message names): the stages of all of them first, then their points."""
    for data, source in files:
        if data.get("version", 1) != 1:
            raise ConfigError(f"{source}: unsupported catalogue version {data.get('version')!r}")
        unknown = set(data) - {"version", "category", "stage", "include"}
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {sorted(unknown)}")
    stages = parse_stages([(data.get("stage", []), source) for data, source in files])
    categories: list[Category] = []
    seen: set[str] = set()
    for data, source in files:
        raw_categories = data.get("category", [])
        if not isinstance(raw_categories, list):
            raise ConfigError(f"{source}: 'category' must be an array of tables")
        for i, raw in enumerate(raw_categories):
            category = _category(raw, f"{source}: category {i}", source, stages)
            for pid in [p.id for p in category.points] + [p.id for p in category.case_points]:
                if pid in seen:
                    raise ConfigError(f"{source}: point {pid!r} is defined twice")
                seen.add(pid)
            categories.append(category)
    return Catalogue(tuple(categories), stages)


def _category(raw: Mapping[str, Any], where: str, source: str, stages: StageSet) -> Category:
    cid = _text(raw, "id", where)
    if not _ID.match(cid):
        raise ConfigError(f"{where}: id {cid!r} must be lowercase letters, digits, _")
    extra = set(raw) - {"id", "name", "point"}
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {sorted(extra)}")
    raw_points: Sequence[Mapping[str, Any]] = raw.get("point", [])
    points: list[RiskPoint] = []
    case_points: list[CasePoint] = []
    for j, p in enumerate(raw_points):
        at = f"{source}: {cid} point {j}"
        if "stage" in p:
            case_points.append(parse_case_point(cid, p, at, stages, _ladder))
        else:
            points.append(_point(cid, p, at))
    return Category(cid, _text(raw, "name", where), tuple(points), tuple(case_points))


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read risk-point catalogue {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"risk-point catalogue {path} is not valid TOML: {exc}") from None


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read a catalogue file and the files it includes (the shipped starter catalogue when
    ``path`` is None)."""
    path = path or STARTER_PATH
    files: list[tuple[Mapping[str, Any], str]] = []
    pending = [path]
    read: set[Path] = set()
    while pending:
        current = pending.pop(0)
        if current.resolve() in read:
            continue
        read.add(current.resolve())
        data = _read(current)
        include = data.get("include", [])
        if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
            raise ConfigError(f"{current}: 'include' must be a list of file names")
        pending.extend(current.parent / name for name in include)
        files.append((data, str(current)))
    return parse_catalogue_files(files)
