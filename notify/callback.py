"""The gateway's delivery callbacks: ``POST /notify/sms/callback``, bearer-token protected.

Body (JSON): ``{"reference": "<the id the gateway gave>", "status": "delivered" | "failed"
| "pending", "reason": "<optional text>"}``. Answers 204 when the report matched a sent
notice, 404 when it did not, 401 without the right token, 422 for a malformed body. The
daemon mounts it on its API server when ``[sms] callback_token`` is set.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, Header, HTTPException, Response
from pydantic import BaseModel, Field

from notify.channel import Report


class DeliveryCallback(BaseModel):
    """One delivery report from the gateway."""

    reference: str = Field(min_length=1, max_length=200)
    status: Literal["delivered", "failed", "pending"]
    reason: str = Field(default="", max_length=500)


def callback_router(token: str, take: Callable[[Report], Awaitable[bool]]) -> APIRouter:
    """The callback route; ``take`` applies a report (``SmsService.take_report``)."""
    router = APIRouter(prefix="/notify/sms", tags=["sms"])
    expected = f"Bearer {token}".encode()

    @router.post("/callback", status_code=204, summary="A delivery report from the gateway")
    async def callback(body: DeliveryCallback,
                       authorization: str = Header(default="")) -> Response:
        if not token or not hmac.compare_digest(authorization.encode(), expected):
            raise HTTPException(status_code=401, detail="bad or missing callback token")
        report = Report(
            reference=body.reference,
            delivered=body.status == "delivered",
            final=body.status != "pending",
            reason=body.reason or body.status,
        )
        if not await take(report):
            raise HTTPException(status_code=404, detail="no sent notice has this reference")
        return Response(status_code=204)

    return router
