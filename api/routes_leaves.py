"""Items leaving custody: the leave requests waiting (for a supervisor's decision or a
clerk at the cabinet) and the items out for a while (a temporary leave not back yet).

Read-only, like every route: the requests are the custody projection's
(``Projection.leaves``, :mod:`custody.leaving`); they are asked for, decided and carried out
at the kiosk or the console. Station roles only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.backend import Reader
from api.deps import StationRole
from api.entryfields import utc
from api.pagination import Page, PageParams, page_params
from custody.leaving import APPROVED, OUT, REQUESTED, LeaveRecord

router = APIRouter(prefix="/v1", tags=["leaves"])


class ErrorOut(BaseModel):
    """A refusal."""

    detail: str


REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no token, or an unknown or revoked one"},
    403: {"model": ErrorOut, "description": "the token's role may not read leave requests"
                                            " (officer)"},
    422: {"description": "a query parameter out of range (limit, offset, status)"},
}


class RecipientOut(BaseModel):
    """Who received the item (as on the signed receipt)."""

    name: str
    id_number: str
    unit: str


class LeaveOut(BaseModel):
    """One leave request (docs/custody.md, "Leaving custody")."""

    request: int = Field(description="the seq of its leave.requested entry: its id")
    item: str
    case: str
    kind: str = Field(description="the kind of leaving (the station's kinds file)")
    final: bool = Field(description="true: for good; false: out for a while, due back")
    status: str = Field(description="requested, approved, out (refused, done, back: closed)")
    requested_by: str
    requested_at: str
    reason: str
    documents: dict[str, str] = Field(description="decision_no, receiving_unit")
    due: str | None = Field(description="a temporary leave's due date (RFC 3339 UTC)")
    overdue: bool = Field(description="out past its due date")
    decided_by: str | None
    decided_at: str | None
    decision_reason: str
    carried_out_by: list[str] = Field(description="the clerk, then the second clerk if any")
    carried_out_at: str | None
    recipient: RecipientOut | None
    receipt: str | None = Field(description="sha256 of the signed receipt's photo")
    seqs: list[int] = Field(description="every entry of the request")


def leave_out(r: LeaveRecord, now: datetime) -> LeaveOut:
    """The API view of a leave request."""
    return LeaveOut(
        request=r.request, item=r.item, case=r.case_id, kind=r.kind, final=r.final,
        status=r.status, requested_by=r.requested_by, requested_at=utc(r.requested_at) or "",
        reason=r.reason, documents=dict(r.documents), due=utc(r.due),
        overdue=r.status == OUT and r.due is not None and now > r.due,
        decided_by=r.decided_by, decided_at=utc(r.decided_at),
        decision_reason=r.decision_reason, carried_out_by=list(r.carried_out_by),
        carried_out_at=utc(r.carried_out_at),
        recipient=None if r.recipient is None else RecipientOut(**r.recipient.as_json()),
        receipt=None if r.receipt is None else r.receipt.sha256, seqs=list(r.seqs),
    )


def _now(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock.now() if clock is not None else datetime.now(UTC)


async def _listed(request: Request, page: PageParams, statuses: frozenset[str],
                  overdue_only: bool = False) -> Page[LeaveOut]:
    now = _now(request)

    def run(r: Reader) -> Page[LeaveOut]:
        found = [leave_out(x, now) for x in r.custody.projection.leaves.values()
                 if x.status in statuses]
        if overdue_only:
            found = [x for x in found if x.overdue]
        return page.page(found[page.offset : page.offset + page.limit], len(found))

    result: Page[LeaveOut] = await request.app.state.backend.call(run)
    return result


@router.get(
    "/leaves/pending",
    response_model=Page[LeaveOut],
    summary="Leave requests waiting for a supervisor or a clerk, oldest first",
    responses=REFUSALS,
)
async def pending(
    request: Request,
    who: StationRole,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[
        str | None, Query(pattern="^(requested|approved)$",
                          description="only requests waiting for a decision (requested) or"
                                      " for a clerk (approved)")
    ] = None,
) -> Page[LeaveOut]:
    wanted = frozenset({status}) if status else frozenset({REQUESTED, APPROVED})
    return await _listed(request, page, wanted)


@router.get(
    "/leaves/out",
    response_model=Page[LeaveOut],
    summary="Items out for a while (temporary leaves not back yet), oldest first",
    responses=REFUSALS,
)
async def out(
    request: Request,
    who: StationRole,
    page: Annotated[PageParams, Depends(page_params)],
    overdue: Annotated[bool, Query(description="only those past their due date")] = False,
) -> Page[LeaveOut]:
    return await _listed(request, page, frozenset({OUT}), overdue_only=overdue)
