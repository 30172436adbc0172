"""Read queries over case stages: what the kiosk, the API and the district screen show.

:func:`open_case_deadlines` lists the open case deadlines (one row per open case point of a
case: the stage it runs from, the deadline, the next step, how far the ladder has gone), the overdue
first; :func:`custody_escalations` the item deadlines whose custody ladder has started (the
supervisor sees both ladders side by side); :func:`case_stage_rows` lists a case's recorded
stages with their names. They read the projection and the rules engine as they are (callers
hold the custody lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from custody.projection import CaseView, Projection
from custody.rules.catalogue import Catalogue
from custody.rules.engine import RulesEngine
from custody.stages import StageRecord


@dataclass(frozen=True)
class CaseDeadline:
    """One open statutory deadline of a case."""

    case_id: str
    officer: str
    stage: str  # the stage the deadline runs from (the point's start stage)
    stage_name: str  # zh-CN
    stage_name_en: str
    point: str
    point_name: str
    article: str
    next_step: str
    deadline: datetime
    overdue: bool
    extended_by: str  # the extension stage that set the deadline, or ""
    ladder_step: int  # the highest ladder step notified (0: none yet)
    matter: str


@dataclass(frozen=True)
class StageRow:
    """One recorded stage with its configured names."""

    record: StageRecord
    name: str
    name_en: str


def _names(catalogue: Catalogue, stage: str) -> tuple[str, str]:
    definition = catalogue.stages.get(stage)
    return (definition.name, definition.name_en) if definition else (stage, stage)


def open_case_deadlines(projection: Projection, engine: RulesEngine, catalogue: Catalogue,
                        now: datetime, *, officer: str | None = None) -> list[CaseDeadline]:
    """Open case deadlines, the overdue first, then by deadline (of ``officer``'s cases if
    given: the case's lead officer or one of its officers)."""
    rows: list[CaseDeadline] = []
    for matter in engine.cases.matters():
        case = projection.cases[matter.case_id]
        if officer is not None and officer != case.officer and officer not in case.officers:
            continue
        current = matter.started
        name, name_en = _names(catalogue, current.stage)
        step = projection.ladder.get(matter.key)
        rows.append(CaseDeadline(
            case_id=case.case_id,
            officer=case.officer,
            stage=current.stage,
            stage_name=name,
            stage_name_en=name_en,
            point=matter.point.id,
            point_name=matter.point.name,
            article=matter.point.article,
            next_step=matter.point.next_step,
            deadline=matter.deadline,
            overdue=matter.deadline <= now,
            extended_by=matter.extension.stage if matter.extension else "",
            ladder_step=step.step if step else 0,
            matter=matter.key,
        ))
    rows.sort(key=lambda r: (not r.overdue, r.deadline, r.case_id, r.point))
    return rows


@dataclass(frozen=True)
class CustodyEscalation:
    """An open item deadline whose custody ladder has started (beside the case ladder)."""

    label: str
    case_id: str
    point: str
    point_name: str
    deadline_ms: int
    step: int
    role: str


def custody_escalations(projection: Projection, engine: RulesEngine) -> list[CustodyEscalation]:
    """Open item deadlines with at least one ladder step notified, the highest step first."""
    rows: list[CustodyEscalation] = []
    for matter in engine.matters():
        step = projection.ladder.get(matter.key)
        if step is None:
            continue
        item = projection.items[matter.label]
        rows.append(CustodyEscalation(matter.label, item.case_id, matter.point.id,
                                      matter.point.name, matter.deadline_ms, step.step,
                                      step.role))
    rows.sort(key=lambda r: (-r.step, r.deadline_ms, r.label))
    return rows


def case_stage_rows(case: CaseView, catalogue: Catalogue) -> list[StageRow]:
    """A case's recorded stages, oldest first, with their names."""
    return [StageRow(r, *_names(catalogue, r.stage)) for r in case.stages]


@dataclass(frozen=True)
class StageChoice:
    """A stage that may be recorded next on a case (for the kiosk's form)."""

    case_id: str
    stage: str
    name: str
    name_en: str


def next_stage_choices(projection: Projection, catalogue: Catalogue, *,
                       officer: str | None = None, role: str = "") -> list[StageChoice]:
    """The stages each case may record next (of ``officer``'s cases if given; only those
    ``role`` may record, if given), by case then in catalogue order."""
    out: list[StageChoice] = []
    stages = catalogue.stages
    for case in sorted(projection.cases.values(), key=lambda c: c.case_id):
        if officer is not None and officer != case.officer and officer not in case.officers:
            continue
        recorded = [r.stage for r in case.stages]
        for definition in stages.stages.values():
            if role and role not in definition.roles:
                continue
            if stages.may_follow(recorded, definition.id):
                out.append(StageChoice(case.case_id, definition.id, definition.name,
                                       definition.name_en))
    return out
