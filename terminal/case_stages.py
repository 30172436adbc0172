"""Case stages at the kiosk: the officer's cases, recording a stage, and the case-management
system's write endpoint.

- ``GET /cases``: the signed-in officer's open case deadlines (a supervisor's: every case,
  with how far each case ladder has gone, beside the custody ladder of ``/officer``), the
  overdue first, each with its stage, deadline and next step. The officer's home
  (``officer.html``) shows the same list through the ``case_deadlines`` template global.
- ``POST /api/stage`` (officer, supervisor; an action with an ``action_id``): record a stage
  of a case with its document and number (the form on ``/cases`` offers the stages each case
  may record next).
- ``POST /case-system/stages``: the station's case-management system posts a stage. It
  authenticates with a token of role ``case_system`` (``locker token create --role
  case_system``) as ``Authorization: Bearer``; the body is JSON ``{event_id, case, stage,
  document, number, effective_at?}``; the same ``event_id`` again answers the stage already
  recorded and writes nothing. Every refusal (401 no or unknown token, 403 another role,
  422 a bad body or an unknown stage, 404 an unknown case, 409 a stage out of order or an
  event id reused for another stage) is logged and kept in the token store's refusals, and
  writes nothing.

The kiosk is handed the parts (:class:`StageDesk`, :class:`CaseSystemGate`) by ``lockerd``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from custody.domain.errors import (
    IllegalTransitionError,
    InvalidInputError,
    RoleError,
    UnknownCaseError,
)
from custody.domain.roles import Role
from custody.domain.values import utc_text
from custody.errors import LockerError
from custody.services.stages import EventConflictError
from custody.stage_queries import CaseDeadline, CustodyEscalation, StageChoice
from custody.stages import StageRecord
from terminal.app import Terminal
from terminal.i18n import translate
from terminal.sessions import SessionExpiredError

log = logging.getLogger("terminal.case_stages")

CASE_SYSTEM_PATH = "/case-system/stages"
_BODY_FIELDS = {"event_id", "case", "stage", "document", "number", "effective_at"}


class StageDesk(Protocol):
    """The step service's case stages (``lockerd.steps_stage.StageSteps``)."""

    async def record(self, person: str, case_id: str, stage: str, *, document: str,
                     number: str = "", effective_at: datetime | None = None) -> StageRecord:
        """A person records a stage of a case."""
        ...

    async def post(self, *, event_id: str, case_id: str, stage: str, document: str,
                   number: str = "", effective_at: datetime | None = None) -> StageRecord:
        """The case-management system posts a stage (idempotent by event id)."""
        ...

    def deadlines(self, officer: str | None = None) -> list[CaseDeadline]:
        """Open case deadlines, the overdue first."""
        ...

    def escalations(self) -> list[CustodyEscalation]:
        """Open item deadlines whose custody ladder has started."""
        ...

    def choices(self, person: str) -> list[StageChoice]:
        """The stages the person may record next, by case."""
        ...


class Principal(Protocol):
    """Who holds a token (``api.auth.Principal``)."""

    @property
    def role(self) -> Role: ...

    @property
    def token_id(self) -> str: ...


class CaseSystemGate(Protocol):
    """The station's token store (``api.auth.TokenStore``): authentication and refusals."""

    def authenticate(self, secret: str | None) -> Any:
        """The principal holding ``secret``; raises a LockerError otherwise."""
        ...

    def record_refusal(self, *, method: str, path: str, status: int, reason: str,
                       principal: Any = None) -> None:
        """Log a refused request and keep it."""
        ...


def _status_of(exc: LockerError) -> int:
    if isinstance(exc, UnknownCaseError):
        return 404
    if isinstance(exc, IllegalTransitionError | EventConflictError):
        return 409
    if isinstance(exc, RoleError):
        return 403
    return 422  # a bad body, an unknown stage


def _parse_when(raw: object) -> datetime | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidInputError("effective_at must be an RFC 3339 time")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(f"effective_at {raw!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise InvalidInputError("effective_at needs a time zone")
    return moment


def record_json(case_id: str, record: StageRecord) -> dict[str, Any]:
    """A recorded stage as the endpoints answer it."""
    return {"case": case_id, "stage": record.stage, "seq": record.seq,
            "effective_at": utc_text(record.effective_at), "document": record.document,
            "number": record.number, "event_id": record.event_id, "actor": record.actor}


def register(app: FastAPI, terminal: Terminal, desk: StageDesk,
             gate: CaseSystemGate | None) -> None:
    """Add the case-stage page and actions (and, with a gate, the write endpoint)."""
    zone = terminal.station.custody.settings.zone

    def deadlines_of(person: str, role: str) -> list[CaseDeadline]:
        return desk.deadlines(person if role == "officer" else None)

    terminal.templates.globals["case_deadlines"] = deadlines_of
    terminal.templates.globals["station_zone"] = zone

    @app.get("/cases", response_class=HTMLResponse)
    async def cases(request: Request) -> Response:
        try:
            session = terminal.session(request)
        except SessionExpiredError:
            base = str(request.scope.get("root_path", "")).rstrip("/")
            return RedirectResponse(f"{base}/signin?why=idle", status_code=303)
        rows = deadlines_of(session.person.id, session.person.role)
        # a supervisor sees the custody ladder beside the case ladder
        custody = desk.escalations() if session.person.role != "officer" else []
        choices = (desk.choices(session.person.id)
                   if session.person.role in ("officer", "supervisor") else [])
        html = terminal.render(request, "case_home.html", session, screen="cases", rows=rows,
                               custody=custody, choices=choices, zone=zone)
        return HTMLResponse(html)

    @app.post("/api/stage")
    async def stage(request: Request) -> JSONResponse:
        session = terminal.session(request, touch=True)
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse(status_code=400, content={"ok": False,
                                                          "message": "a JSON object"})

        async def run() -> tuple[int, dict[str, Any]]:
            if session.person.role not in ("officer", "supervisor"):
                return 403, {"ok": False, "message": f"{session.person.role} may not do this"}
            try:
                record = await desk.record(
                    session.person.id, str(body.get("case", "")), str(body.get("stage", "")),
                    document=str(body.get("document", "")), number=str(body.get("number", "")),
                )
            except LockerError as exc:
                log.info("%s: stage refused: %s", session.person.id, exc)
                return _status_of(exc), {"ok": False, "message": str(exc)}
            lang = terminal.language(request, session)
            return 200, {"ok": True, **record_json(str(body["case"]), record),
                         "message": translate("cases.recorded", lang, stage=record.stage,
                                              case=str(body["case"]))}

        status, payload = await terminal.actions.run(
            str(body.get("action_id", "")), session.person.id, run)
        return JSONResponse(status_code=status, content=payload)

    if gate is None:
        return

    @app.post(CASE_SYSTEM_PATH)
    async def case_system(request: Request) -> JSONResponse:
        principal: Any = None

        def refuse(status: int, reason: str) -> JSONResponse:
            gate.record_refusal(method="POST", path=CASE_SYSTEM_PATH, status=status,
                                reason=reason, principal=principal)
            return JSONResponse(status_code=status, content={"ok": False, "detail": reason})

        header = request.headers.get("authorization", "")
        secret = header[7:].strip() if header.lower().startswith("bearer ") else None
        try:
            principal = gate.authenticate(secret)
        except LockerError as exc:
            return refuse(401, str(exc))
        if principal.role is not Role.CASE_SYSTEM:
            return refuse(403, f"a {principal.role.value} token may not post case stages")
        try:
            body = await request.json()
        except ValueError:
            return refuse(422, "the body is not JSON")
        if not isinstance(body, dict):
            return refuse(422, "the body must be a JSON object")
        unknown = set(body) - _BODY_FIELDS
        missing = {"event_id", "case", "stage", "document"} - set(body)
        if unknown or missing:
            return refuse(422, f"unknown field(s) {sorted(unknown)}, missing {sorted(missing)}")
        if not all(isinstance(body.get(k, ""), str) for k in _BODY_FIELDS - {"effective_at"}):
            return refuse(422, "event_id, case, stage, document and number are text")
        if not body["event_id"]:
            return refuse(422, "event_id must not be empty")
        try:
            record = await desk.post(
                event_id=body["event_id"], case_id=body["case"], stage=body["stage"],
                document=body["document"], number=body.get("number", ""),
                effective_at=_parse_when(body.get("effective_at")),
            )
        except LockerError as exc:
            return refuse(_status_of(exc), str(exc))
        return JSONResponse(status_code=200, content={"ok": True,
                                                      **record_json(body["case"], record)})
