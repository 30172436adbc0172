"""Cases, items, an item's whole chain of custody, open deadlines and overdue items.

Station roles (auditor, clerk, supervisor) see every case; an officer only the cases he or
she is on (asking for another's is refused with 403 and logged; lists leave them out).
An item's history comes from the derived index (label -> seqs), never a ledger scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.backend import Reader
from api.deps import AnyRole
from api.models import (
    CaseDetail,
    CaseOut,
    DeadlineOut,
    EntryOut,
    ItemOut,
    case_out,
    deadline_out,
    entry_out,
    handover_out,
    item_out,
)
from api.pagination import Page, PageParams, page_params
from custody.domain.states import ItemState
from custody.ports import Clock, SystemClock

router = APIRouter(prefix="/v1", tags=["custody"])

Paging = Annotated[PageParams, Depends(page_params)]


def _clock(request: Request) -> Clock:
    clock: Clock | None = request.app.state.clock
    return clock or SystemClock()


@router.get("/cases", response_model=Page[CaseOut], summary="Cases (an officer: his or her own)")
async def cases(request: Request, who: AnyRole, page: Paging) -> Page[CaseOut]:
    def run(r: Reader) -> Page[CaseOut]:
        ids = r.sorted_case_ids()
        if not who.sees_everything:
            ids = [c for c in ids if r.custody.may_see_case(who, c)]
        chosen = ids[page.offset : page.offset + page.limit]
        return page.page([case_out(r.custody.cases[c]) for c in chosen], len(ids))

    result: Page[CaseOut] = await request.app.state.backend.call(run)
    return result


@router.get("/cases/{case_id}", response_model=CaseDetail, summary="A case and its items")
async def case(request: Request, who: AnyRole, case_id: str) -> CaseDetail:
    def run(r: Reader) -> CaseDetail:
        r.require_case(who, case_id)
        c = r.custody.cases[case_id]
        return CaseDetail(
            **case_out(c).model_dump(),
            item_states=[item_out(r.custody.items[x]) for x in c.items],
            handovers=[handover_out(h) for h in c.handovers],
        )

    result: CaseDetail = await request.app.state.backend.call(run)
    return result


@router.get(
    "/cases/{case_id}/history",
    response_model=Page[EntryOut],
    summary="Every entry about a case or any of its items, in ledger order",
)
async def case_history(
    request: Request, who: AnyRole, case_id: str, page: Paging
) -> Page[EntryOut]:
    def run(r: Reader) -> Page[EntryOut]:
        r.require_case(who, case_id)
        seqs = r.case_seqs(case_id)
        chosen = seqs[page.offset : page.offset + page.limit]
        return page.page([entry_out(r.entry(s)) for s in chosen], len(seqs))

    result: Page[EntryOut] = await request.app.state.backend.call(run)
    return result


@router.get("/items", response_model=Page[ItemOut], summary="Items, by label")
async def items(
    request: Request,
    who: AnyRole,
    page: Paging,
    state: Annotated[ItemState | None, Query(description="only items in this state")] = None,
    case_id: Annotated[str | None, Query(description="only the items of this case")] = None,
) -> Page[ItemOut]:
    def run(r: Reader) -> Page[ItemOut]:
        items = r.custody.items
        labels = r.sorted_labels()
        if state is not None or case_id is not None or not who.sees_everything:
            labels = [
                x
                for x in labels
                if (state is None or items[x].state is state)
                and (case_id is None or items[x].case_id == case_id)
                and r.custody.may_see_case(who, items[x].case_id)
            ]
        chosen = labels[page.offset : page.offset + page.limit]
        return page.page([item_out(items[x]) for x in chosen], len(labels))

    result: Page[ItemOut] = await request.app.state.backend.call(run)
    return result


@router.get("/items/{label}", response_model=ItemOut, summary="An item: its state and place")
async def item(request: Request, who: AnyRole, label: str) -> ItemOut:
    def run(r: Reader) -> ItemOut:
        r.require_item(who, label)
        return item_out(r.custody.items[label])

    result: ItemOut = await request.app.state.backend.call(run)
    return result


@router.get(
    "/items/{label}/history",
    response_model=Page[EntryOut],
    summary="An item's whole chain of custody: every entry naming it, in ledger order",
)
async def item_history(
    request: Request, who: AnyRole, label: str, page: Paging
) -> Page[EntryOut]:
    def run(r: Reader) -> Page[EntryOut]:
        r.require_item(who, label)
        total = r.index.item_count(label)
        seqs = r.index.item_seqs(label, page.offset, page.limit)
        return page.page([entry_out(r.entry(s)) for s in seqs], total)

    result: Page[EntryOut] = await request.app.state.backend.call(run)
    return result


async def _deadlines(
    request: Request, who: AnyRole, page: PageParams, only_overdue: bool
) -> Page[DeadlineOut]:
    now: datetime = _clock(request).now()

    def run(r: Reader) -> Page[DeadlineOut]:
        found = r.custody.deadlines(now, who, only_overdue=only_overdue)
        chosen = found[page.offset : page.offset + page.limit]
        return page.page(
            [deadline_out(r.custody.with_overdue(d, now)) for d in chosen], len(found)
        )

    result: Page[DeadlineOut] = await request.app.state.backend.call(run)
    return result


@router.get(
    "/deadlines",
    response_model=Page[DeadlineOut],
    summary="Open deadlines (handover, daily return), soonest first, with escalation step",
)
async def deadlines(request: Request, who: AnyRole, page: Paging) -> Page[DeadlineOut]:
    return await _deadlines(request, who, page, only_overdue=False)


@router.get(
    "/overdue",
    response_model=Page[DeadlineOut],
    summary="Overdue items and how far their escalation has gone",
)
async def overdue(request: Request, who: AnyRole, page: Paging) -> Page[DeadlineOut]:
    return await _deadlines(request, who, page, only_overdue=True)
