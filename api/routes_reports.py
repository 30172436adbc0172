"""Chain-of-custody reports for one item or one case: HTML for the screen, PDF issued.

Same access rules as the item and the case themselves; what a report shows of people's
contact details depends on the reader's role (:func:`api.auth.may_see_contacts`). The PDF
is an issued document: its issue is recorded in the ledger (``report.issued``, with the
report hash and who asked) before it is returned. See :mod:`api.reports`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import Principal
from api.backend import Reader
from api.deps import AnyRole
from api.report_i18n import DEFAULT_LANGUAGE
from api.report_pdf import IssuedReport, render_pdf
from api.reports import Report, Requester, build_report, load_images, render_html
from custody.ports import SystemClock

router = APIRouter(prefix="/v1/reports", tags=["reports"])

_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "the report as an HTML page"}
}
_PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}},
          "description": "the issued report, PDF/A-3b with its proofs attached"},
    503: {"description": "the ledger cannot record the report's issue, so none is issued"},
}

Lang = Annotated[str, Query(pattern="^(zh|en)$", description="zh (default) or en")]


def requester(who: Principal) -> Requester:
    """How a token holder appears on a report and in its ``report.issued`` entry."""
    return Requester(
        actor=who.person or f"token:{who.token_id}",
        role=who.role.value,
        contacts=who.sees_contacts,
        token=who.token_id,
    )


async def _build(
    request: Request, who: Principal, subject: str, subject_id: str, lang: str
) -> Report:
    clock = request.app.state.clock or SystemClock()
    now = clock.now()
    setup = request.app.state.report_setup

    def run(r: Reader) -> Report:
        if subject == "item":
            r.require_item(who, subject_id)
        else:
            r.require_case(who, subject_id)
        return build_report(r, subject, subject_id, who=requester(who), setup=setup,
                            now=now, lang=lang)

    report: Report = await request.app.state.backend.call(run)
    return report


async def _html(request: Request, who: Principal, subject: str, sid: str, lang: str) -> str:
    report = await _build(request, who, subject, sid, lang)

    def draw() -> str:
        load_images(report, request.app.state.data_dir)
        return render_html(report)

    return await asyncio.to_thread(draw)


async def _pdf(request: Request, who: Principal, subject: str, sid: str, lang: str) -> Response:
    report = await _build(request, who, subject, sid, lang)

    def draw() -> IssuedReport:
        load_images(report, request.app.state.data_dir)
        return render_pdf(report)

    async with request.app.state.report_lock:  # one PDF at a time: bounded memory
        issued = await asyncio.to_thread(draw)
    seq = await request.app.state.report_recorder.record(
        issued.entry_body(report), report.reader.actor
    )
    return Response(
        issued.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="custody-{subject}-{sid}.pdf"',
            "X-Report-SHA256": issued.report_sha256,
            "X-Report-Entry": str(seq),
        },
    )


@router.get(
    "/items/{label}",
    response_class=HTMLResponse,
    responses=_HTML,
    summary="Chain-of-custody report for one item (HTML, for the screen)",
)
async def item_report(
    request: Request, who: AnyRole, label: str, lang: Lang = DEFAULT_LANGUAGE
) -> HTMLResponse:
    return HTMLResponse(await _html(request, who, "item", label, lang))


@router.get(
    "/cases/{case_id}",
    response_class=HTMLResponse,
    responses=_HTML,
    summary="Chain-of-custody report for a case and all its items (HTML, for the screen)",
)
async def case_report(
    request: Request, who: AnyRole, case_id: str, lang: Lang = DEFAULT_LANGUAGE
) -> HTMLResponse:
    return HTMLResponse(await _html(request, who, "case", case_id, lang))


@router.get(
    "/items/{label}/report.pdf",
    response_class=Response,
    responses=_PDF,
    summary="Issue the chain-of-custody report of one item (PDF/A-3b, recorded in the ledger)",
)
async def item_report_pdf(
    request: Request, who: AnyRole, label: str, lang: Lang = DEFAULT_LANGUAGE
) -> Response:
    return await _pdf(request, who, "item", label, lang)


@router.get(
    "/cases/{case_id}/report.pdf",
    response_class=Response,
    responses=_PDF,
    summary="Issue the chain-of-custody report of a case (PDF/A-3b, recorded in the ledger)",
)
async def case_report_pdf(
    request: Request, who: AnyRole, case_id: str, lang: Lang = DEFAULT_LANGUAGE
) -> Response:
    return await _pdf(request, who, "case", case_id, lang)
