"""Case stages and open case deadlines, read-only (the case-management system writes through
the kiosk's ``POST /terminal/case-system/stages``, never through this API).

- ``GET /v1/cases/{case_id}/stages``: the stages recorded on a case, oldest first, with
  their configured names, the document and its number, who recorded them.
- ``GET /v1/case-deadlines``: the open statutory deadlines of cases (the catalogue's case
  points), the overdue first; an officer sees those of his or her cases only.

Station roles (auditor, clerk, supervisor) see every case; an officer only the cases he or
she is on (another's case: 403, logged).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.backend import Reader
from api.deps import AnyRole
from api.entryfields import utc
from api.pagination import Page, PageParams, page_params
from api.responses import ErrorOut
from custody import stage_queries
from custody.ports import Clock, SystemClock

router = APIRouter(prefix="/v1", tags=["case stages"])
Paging = Annotated[PageParams, Depends(page_params)]

_401 = {"model": ErrorOut, "description": "no token, or an unknown or revoked one"}
CASE_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: _401,
    403: {"model": ErrorOut, "description": "an officer asking for a case he or she is not on"},
    404: {"model": ErrorOut, "description": "no such case"},
}


class StageOut(BaseModel):
    """One recorded stage of a case (a ``case.stage`` entry)."""

    seq: int = Field(description="the seq of the case.stage entry")
    stage: str = Field(description="the stage id (the catalogue's [[stage]] id)")
    name: str = Field(description="the stage's zh-CN name")
    name_en: str = Field(description="the stage's English name")
    effective_at: str = Field(description="when the stage took effect (RFC 3339, UTC)")
    actor: str = Field(description="who recorded it (a person id, or case_system)")
    document: str = Field(description="the document (decision, notice, approval)")
    number: str = Field(description="the document's number")
    event_id: str = Field(description="the case-management system's event id, or empty")


class CaseDeadlineOut(BaseModel):
    """One open statutory deadline of a case."""

    case_id: str
    officer: str
    stage: str = Field(description="the stage the deadline runs from")
    stage_name: str
    point: str = Field(description="the catalogue's case point, category.point")
    point_name: str
    article: str = Field(description="the point's source (law and article)")
    next_step: str = Field(description="which document to submit next, and to whom")
    deadline: str = Field(description="RFC 3339, UTC")
    overdue: bool
    extended_by: str = Field(description="the extension stage that set the deadline, or empty")
    ladder_step: int = Field(description="the highest ladder step notified (0: none yet)")


def _clock(request: Request) -> Clock:
    clock: Clock | None = request.app.state.clock
    return clock or SystemClock()


@router.get(
    "/cases/{case_id}/stages",
    response_model=list[StageOut],
    summary="The stages recorded on a case, oldest first",
    responses=CASE_REFUSALS,
)
async def case_stages(request: Request, who: AnyRole, case_id: str) -> list[StageOut]:
    def run(r: Reader) -> list[StageOut]:
        r.require_case(who, case_id)
        rows = stage_queries.case_stage_rows(r.custody.cases[case_id], r.custody.catalogue)
        return [StageOut(seq=row.record.seq, stage=row.record.stage, name=row.name,
                         name_en=row.name_en, effective_at=utc(row.record.effective_at) or "",
                         actor=row.record.actor, document=row.record.document,
                         number=row.record.number, event_id=row.record.event_id)
                for row in rows]

    result: list[StageOut] = await request.app.state.backend.call(run)
    return result


@router.get(
    "/case-deadlines",
    response_model=Page[CaseDeadlineOut],
    summary="Open case deadlines, the overdue first (an officer: his or her cases)",
    responses={401: _401},
)
async def case_deadlines(request: Request, who: AnyRole, page: Paging) -> Page[CaseDeadlineOut]:
    now = _clock(request).now()

    def run(r: Reader) -> Page[CaseDeadlineOut]:
        rows = stage_queries.open_case_deadlines(
            r.custody.projection, r.custody.engine, r.custody.catalogue, now)
        if not who.sees_everything:
            rows = [x for x in rows if r.custody.may_see_case(who, x.case_id)]
        chosen = rows[page.offset : page.offset + page.limit]
        return page.page([CaseDeadlineOut(
            case_id=x.case_id, officer=x.officer, stage=x.stage, stage_name=x.stage_name,
            point=x.point, point_name=x.point_name, article=x.article, next_step=x.next_step,
            deadline=utc(x.deadline) or "", overdue=x.overdue, extended_by=x.extended_by,
            ladder_step=x.ladder_step) for x in chosen], len(rows))

    result: Page[CaseDeadlineOut] = await request.app.state.backend.call(run)
    return result
