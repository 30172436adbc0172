"""Case stages: what a station's cases go through (accepted, filed, detained, arrest applied...).

A stage is configured, not hard-coded: the risk-point catalogue's ``[[stage]]`` tables give
each its id, its zh-CN and English names, the stages that may follow it, the roles that may
record it, and whether (and as what) the case's complainant hears of it. A recorded stage is
one ``case.stage`` ledger entry (:data:`CASE_STAGE`) carrying the stage id, when it took
effect, who recorded it, and the document and its number; the projection folds it into the
case's :attr:`~custody.projection.CaseView.stages`.

Order: a case's first stage must be one marked ``first``; any later stage must be listed in
the ``next`` of a stage the case already has; no stage is recorded twice. The ``next`` graph
has no cycles (the loader refuses one), so a case only ever moves forward.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from custody.domain.roles import STAFF_ROLES, Role
from custody.errors import ConfigError

#: Ledger entry kind of a recorded case stage (contract: docs/custody.md).
CASE_STAGE = "case.stage"

#: A machine's role: the station's case-management system posting stages (no person holds
#: it; it may record the stages whose ``roles`` name it).
CASE_SYSTEM = Role.CASE_SYSTEM

#: What a complainant may be told of (the kinds of progress notice a stage may trigger).
COMPLAINANT_STAGES = ("accepted", "filed", "not_filed", "closed")

_ID = re.compile(r"^[a-z0-9_]{1,64}$")
_STAGE_KEYS = {"id", "name", "name_en", "first", "next", "roles", "complainant"}


@dataclass(frozen=True)
class StageDef:
    """One configured stage."""

    id: str
    name: str  # zh-CN
    name_en: str
    first: bool
    next: tuple[str, ...]
    roles: frozenset[str]
    complainant: str = ""  # one of COMPLAINANT_STAGES, or "" (the complainant is not told)


@dataclass(frozen=True)
class StageRecord:
    """One recorded stage of a case (a folded ``case.stage`` entry)."""

    seq: int
    stage: str
    effective_at: datetime
    actor: str
    document: str
    number: str
    event_id: str = ""


@dataclass(frozen=True)
class StageSet:
    """Every configured stage, by id."""

    stages: Mapping[str, StageDef]

    def __contains__(self, stage: object) -> bool:
        return stage in self.stages

    def get(self, stage: str) -> StageDef | None:
        return self.stages.get(stage)

    def may_follow(self, recorded: Iterable[str], stage: str) -> bool:
        """Whether ``stage`` may be recorded on a case that has the ``recorded`` stages."""
        seen = list(recorded)
        definition = self.stages.get(stage)
        if definition is None or stage in seen:
            return False
        if not seen:
            return definition.first
        return any(stage in self.stages[s].next for s in seen if s in self.stages)


NO_STAGES = StageSet({})


def _texts(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of text")
    return tuple(value)


def _text(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise ConfigError(f"{where}: '{key}' must be text")
    return value


def _stage(raw: object, where: str) -> StageDef:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a table")
    unknown = set(raw) - _STAGE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    sid = _text(raw, "id", where)
    if not _ID.match(sid):
        raise ConfigError(f"{where}: id {sid!r} must be lowercase letters, digits, _")
    where = f"{where} ({sid})"
    roles = _texts(raw, "roles", where)
    allowed = {*(r.value for r in STAFF_ROLES), CASE_SYSTEM.value}
    bad = [r for r in roles if r not in allowed]
    if bad or not roles:
        raise ConfigError(f"{where}: roles must name some of {', '.join(sorted(allowed))}")
    complainant = _text(raw, "complainant", where, "")
    if complainant and complainant not in COMPLAINANT_STAGES:
        raise ConfigError(f"{where}: complainant must be one of {', '.join(COMPLAINANT_STAGES)}")
    first = raw.get("first", False)
    if not isinstance(first, bool):
        raise ConfigError(f"{where}: 'first' must be true or false")
    return StageDef(
        id=sid,
        name=_text(raw, "name", where),
        name_en=_text(raw, "name_en", where),
        first=first,
        next=_texts(raw, "next", where),
        roles=frozenset(roles),
        complainant=complainant,
    )


def parse_stages(parts: Sequence[tuple[Sequence[Any], str]]) -> StageSet:
    """Check the ``[[stage]]`` tables of one or more catalogue files (each with its source
    name, for messages) and build the :class:`StageSet`: ids unique, every ``next`` known,
    and no cycle in the ``next`` graph."""
    stages: dict[str, StageDef] = {}
    origin: dict[str, str] = {}
    for raws, source in parts:
        if not isinstance(raws, list):
            raise ConfigError(f"{source}: 'stage' must be an array of tables")
        for i, raw in enumerate(raws):
            stage = _stage(raw, f"{source}: stage {i}")
            if stage.id in stages:
                raise ConfigError(f"{source}: stage {stage.id!r} is defined twice")
            stages[stage.id] = stage
            origin[stage.id] = source
    for stage in stages.values():
        for nxt in stage.next:
            if nxt not in stages:
                raise ConfigError(
                    f"{origin[stage.id]}: stage {stage.id!r}: next names unknown stage {nxt!r}"
                )
    _refuse_cycles(stages, origin)
    return StageSet(stages)


def _refuse_cycles(stages: Mapping[str, StageDef], origin: Mapping[str, str]) -> None:
    """A stage that could follow itself (through others) would let a case go round forever."""
    done: set[str] = set()
    for root in stages:
        if root in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                path.append(node)
                on_path.add(node)
            nexts = stages[node].next
            if i < len(nexts):
                stack.append((node, i + 1))
                child = nexts[i]
                if child in on_path:
                    cycle = " -> ".join([*path[path.index(child):], child])
                    raise ConfigError(f"{origin[child]}: stage cycle {cycle}")
                if child not in done:
                    stack.append((child, 0))
            else:
                path.pop()
                on_path.discard(node)
                done.add(node)


def stage_from_body(seq: int, body: Mapping[str, Any]) -> StageRecord:
    """The record a ``case.stage`` entry body makes."""
    from custody.domain.values import parse_utc

    return StageRecord(
        seq=seq,
        stage=str(body["stage"]),
        effective_at=parse_utc(str(body["effective_at"])),
        actor=str(body["actor"]),
        document=str(body["document"]),
        number=str(body["number"]),
        event_id=str(body.get("event_id") or ""),
    )
