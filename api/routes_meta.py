"""Routes about the API itself: health, who the token holder is, the refusal log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.deps import AnyRole, AuditorRole, token_store
from api.entryfields import utc
from api.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1", tags=["meta"])


class Health(BaseModel):
    """Liveness only: no data, so it needs no token. Exactly ``{"status": "ok", "ready":
    true|false}`` (docs/api.md)."""

    status: str
    ready: bool = Field(description="derived state built; data requests answer without delay")
    sms: dict[str, Any] | None = Field(
        default=None,
        description="the SMS channel: modem signal (rssi, dBm), registration, queue counts",
    )


class WhoAmI(BaseModel):
    """The token holder of the request."""

    token_id: str
    role: str
    person: str | None


class RefusalOut(BaseModel):
    """One refused request."""

    id: int
    at: str = Field(description="when (RFC 3339, UTC)")
    token_id: str | None
    role: str | None
    person: str | None
    method: str
    path: str
    status: int
    reason: str


@router.get(
    "/health", response_model=Health, response_model_exclude_none=True,  # no sms: no key
    summary="Liveness (no token needed, no data)",
)
async def health(request: Request) -> Health:
    sms = getattr(request.app.state, "sms_status", None)  # set by the daemon with [sms]
    return Health(status="ok", ready=request.app.state.backend.ready,
                  sms=sms() if sms is not None else None)


@router.get("/whoami", response_model=WhoAmI, summary="The token holder's role and person")
async def whoami(who: AnyRole) -> WhoAmI:
    return WhoAmI(token_id=who.token_id, role=who.role.value, person=who.person)


@router.get(
    "/refusals",
    response_model=Page[RefusalOut],
    summary="Refused requests, newest first (auditors)",
)
def refusals(
    request: Request,
    who: AuditorRole,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[RefusalOut]:
    total, rows = token_store(request).refusals(page.offset, page.limit)
    # rows written before times were stored in UTC may carry the clock's offset
    return page.page(
        [RefusalOut(**{**r.__dict__, "at": utc(datetime.fromisoformat(r.at))}) for r in rows],
        total,
    )
