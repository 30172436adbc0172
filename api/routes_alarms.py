"""Open alarms: what happened at the cabinets that no custody step explains, not yet
acknowledged by a clerk.

Read-only, like every route: the alarms are the custody projection's
(:func:`custody.queries.open_alarms`), oldest first; a clerk acknowledges one at the kiosk
(an ``alarm.acknowledged`` entry), after which it is no longer listed. Station roles only
(alarms name compartments, badges and people, not one officer's cases).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.backend import Reader
from api.deps import StationRole
from api.entryfields import utc
from api.pagination import Page, PageParams, page_params
from api.responses import errors
from custody.alarms import ALARM_PREFIX, AlarmView
from custody.queries import open_alarms

router = APIRouter(prefix="/v1", tags=["alarms"])


REFUSALS = errors(401, 403, s403="the token's role may not read alarms (officer)")


class AlarmOut(BaseModel):
    """One open alarm (the fields of its ``alarm.*`` entry, docs/custody.md "Alarms")."""

    seq: int = Field(description="the seq of the alarm's entry: its id")
    kind: str = Field(description="door_forced, item_removed, item_placed, door_left_open, "
                      "cabinet_offline, wrong_compartment, pin_lockout, ...")
    entry_kind: str = Field(description="the ledger entry kind, alarm.<kind>")
    at: str = Field(description="when it was raised (RFC 3339 UTC)")
    actor: str = Field(description="who wrote it: lockerd (the daemon), terminal, a person")
    where: str = Field(description="the compartment, else the cabinet, else the badge")
    cabinet: str | None
    compartment: str | None = Field(description="cabinet/n; null for a cabinet-wide alarm")
    items: list[str] = Field(description="labels the alarm is about (may be empty)")
    event: str = Field(description="what raised it (the poller's event, the step)")
    detail: str
    badge: str | None = Field(description="a PIN lockout's badge")
    person: str | None = Field(description="a PIN lockout's person")
    what_to_do: str = Field(description="what the clerk should do about it (English)")


def alarm_out(alarm: AlarmView) -> AlarmOut:
    """The API view of an open alarm."""
    return AlarmOut(
        seq=alarm.seq, kind=alarm.kind, entry_kind=ALARM_PREFIX + alarm.kind,
        at=utc(alarm.at) or "", actor=alarm.actor, where=alarm.where, cabinet=alarm.cabinet,
        compartment=alarm.compartment, items=list(alarm.items), event=alarm.event,
        detail=alarm.detail, badge=alarm.badge, person=alarm.person,
        what_to_do=alarm.what_to_do,
    )


@router.get(
    "/alarms",
    response_model=Page[AlarmOut],
    summary="Open alarms (raised, not acknowledged), oldest first",
    responses=REFUSALS,
)
async def alarms(
    request: Request,
    who: StationRole,
    page: Annotated[PageParams, Depends(page_params)],
    cabinet: Annotated[
        str | None, Query(description="only the alarms about this cabinet")
    ] = None,
) -> Page[AlarmOut]:
    def run(r: Reader) -> Page[AlarmOut]:
        found = open_alarms(r.custody.projection)
        if cabinet is not None:
            found = [a for a in found if a.cabinet == cabinet]
        chosen = found[page.offset : page.offset + page.limit]
        return page.page([alarm_out(a) for a in chosen], len(found))

    result: Page[AlarmOut] = await request.app.state.backend.call(run)
    return result
