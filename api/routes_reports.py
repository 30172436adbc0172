"""Printable chain-of-custody reports (HTML) for one item or one case.

Same access rules as the item and the case themselves. See :mod:`api.reports`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.backend import Reader
from api.deps import AnyRole
from api.reports import build_report, render
from custody.ports import SystemClock

router = APIRouter(prefix="/v1/reports", tags=["reports"])

_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "a printable HTML page"}
}


def _holder(who: AnyRole) -> str:
    person = f" {who.person}" if who.person else ""
    return f"{who.role.value}{person} (token {who.token_id})"


async def _report(request: Request, who: AnyRole, subject: str, subject_id: str) -> str:
    clock = request.app.state.clock or SystemClock()
    now = clock.now()

    def run(r: Reader) -> str:
        if subject == "item":
            r.require_item(who, subject_id)
        else:
            r.require_case(who, subject_id)
        return render(build_report(r, subject, subject_id, _holder(who), now))

    html: str = await request.app.state.backend.call(run)
    return html


@router.get(
    "/items/{label}",
    response_class=HTMLResponse,
    responses=_HTML,
    summary="Chain-of-custody report for one item, with photos and proofs",
)
async def item_report(request: Request, who: AnyRole, label: str) -> HTMLResponse:
    return HTMLResponse(await _report(request, who, "item", label))


@router.get(
    "/cases/{case_id}",
    response_class=HTMLResponse,
    responses=_HTML,
    summary="Chain-of-custody report for a case and all its items, with photos and proofs",
)
async def case_report(request: Request, who: AnyRole, case_id: str) -> HTMLResponse:
    return HTMLResponse(await _report(request, who, "case", case_id))
