"""The kiosk's leave screens and actions (items leaving custody), over ``StepDesk.leave``.

- ``GET /leave``: by role. An officer asks (label, kind, reason, decision number, receiving
  unit) and sees their requests; a supervisor, signed in with their own badge and PIN, sees
  the requests waiting and approves or refuses each with a reason; a clerk sees the approved
  requests (carry out) and the items out for a while (came back). The holds in force are
  listed; an officer or supervisor places one, or asks to lift one with another
  supervisor's badge and PIN.
- ``GET /leave/carry``: the clerk's carrying-out step: where the item is, the recipient (name,
  ID number, unit), the photo of the signed receipt, the step's photo, confirm.
- Actions (JSON ``POST``, an ``action_id`` each, refusals in the person's language, nothing
  recorded by a refusal): ``/api/leave/request``, ``/api/leave/{n}/decide``,
  ``/api/leave/{n}/open`` (a second clerk's badge and PIN for cash and valuables),
  ``/api/leave/receipt``, ``/api/leave/photo``, ``/api/leave/commit``,
  ``/api/leave/{n}/back``; ``/api/leave/hold`` and ``/api/leave/lift`` (the approving
  supervisor's badge and PIN).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from custody.leaving import Recipient
from terminal.app import Terminal
from terminal.errors import PhotoMissingError, RoleRefusedError
from terminal.i18n import translate
from terminal.sessions import Session, SessionExpiredError

#: texts whose key is chosen at run time (a decision's outcome, a request's status)
RUNTIME_KEYS = frozenset(
    {"leave.approved", "leave.refused"}
    | {f"leave.status_{s}" for s in ("requested", "approved", "refused", "out", "done", "back")}
)

Work = Callable[[Session, dict[str, Any], str], Awaitable[dict[str, Any]]]
Act = Callable[[Request, tuple[str, ...], Work], Awaitable[JSONResponse]]


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def register(app: FastAPI, terminal: Terminal, act: Act) -> None:
    """Add the leave screens and actions (``act`` is :mod:`terminal.actions`' runner)."""
    desk = terminal.station.steps.leave
    custody = terminal.station.custody

    def kinds() -> dict[str, Any]:
        return {k.id: k for k in custody.leaving.kinds}

    @app.get("/leave", response_class=HTMLResponse)
    async def leave(request: Request) -> Response:
        try:
            session = terminal.session(request)
        except SessionExpiredError:
            return RedirectResponse(f"{_base(request)}/signin?why=idle", status_code=303)
        found = desk.requests()
        me = session.person.id
        if session.person.role == "officer":
            found = [r for r in found if r.requested_by == me]
        with custody.lock:
            holds = list(custody.projection.holds.values())
        html = terminal.render(request, "leave_list.html", session, screen="leave",
                               requests=found, kinds=kinds(), holds=holds,
                               zone=custody.settings.zone)
        return HTMLResponse(html)

    @app.get("/leave/carry", response_class=HTMLResponse)
    async def carry(request: Request) -> Response:
        try:
            session = terminal.session(request)
        except SessionExpiredError:
            return RedirectResponse(f"{_base(request)}/signin?why=idle", status_code=303)
        step = terminal.station.steps.step(session.person.id)
        if step is None or step.purpose != "leave":
            return RedirectResponse(f"{_base(request)}/leave", status_code=303)
        record = next(r for r in desk.requests() if r.item == step.labels[0])
        html = terminal.render(request, "leave_carry.html", session, screen="leave_carry",
                               step=step, record=record, kind=kinds().get(record.kind),
                               item=terminal.desk.item(record.item))
        return HTMLResponse(html)

    @app.post("/api/leave/request")
    async def ask(request: Request) -> Response:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            record = await desk.ask(
                s.person.id, str(body.get("label", "")), kind=str(body.get("kind", "")),
                reason=str(body.get("reason", "")),
                documents={"decision_no": str(body.get("decision_no", "")),
                           "receiving_unit": str(body.get("receiving_unit", ""))})
            return {"request": record.request, "redirect": f"{_base(request)}/leave",
                    "message": translate("leave.asked", lang, request=record.request,
                                         label=record.item)}
        return await act(request, ("officer", "supervisor"), work)

    @app.post("/api/leave/{request_id}/decide")
    async def decide(request: Request, request_id: int) -> Response:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            approve = body.get("approve") is True
            record = await desk.decide(s.person.id, request_id, approve=approve,
                                       reason=str(body.get("reason", "")))
            return {"status": record.status, "redirect": f"{_base(request)}/leave",
                    "message": translate(f"leave.{record.status}", lang,
                                         request=record.request, label=record.item)}
        return await act(request, ("supervisor",), work)

    @app.post("/api/leave/{request_id}/open")
    async def open_step(request: Request, request_id: int) -> Response:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            second = None
            if body.get("badge"):  # the second clerk, with their own badge and PIN
                second = await other(body, lang, "clerk", s.person.id)
            step = await desk.open(s.person.id, request_id, second)
            return {"compartment": step.compartment,
                    "redirect": f"{_base(request)}/leave/carry",
                    "message": translate("bay.lit", lang, compartment=step.compartment)}
        return await act(request, ("clerk",), work)

    @app.post("/api/leave/receipt")
    async def receipt(request: Request) -> Response:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            desk.recipient(s.person.id, Recipient(str(body.get("name", "")),
                                                  str(body.get("id_number", "")),
                                                  str(body.get("unit", ""))))
            ref = await desk.receipt(s.person.id)
            return {"photo": ref.sha256, "message": translate("leave.receipt_taken", lang)}
        return await act(request, ("clerk",), work)

    @app.post("/api/leave/photo")
    async def photo(request: Request) -> Response:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            ref = await terminal.station.steps.photograph(s.person.id)
            return {"photo": ref.sha256}
        return await act(request, ("clerk",), work)

    @app.post("/api/leave/commit")
    async def commit(request: Request) -> Response:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            step = terminal.station.steps.step(s.person.id)
            if step is None or step.photo is None:
                raise PhotoMissingError("take the step's photo first")
            record = await desk.commit(s.person.id)
            return {"redirect": f"{_base(request)}/leave",
                    "message": translate("leave.carried_out", lang, label=record.item,
                                         name=record.recipient.name if record.recipient
                                         else "")}
        return await act(request, ("clerk",), work)

    async def other(body: dict[str, Any], lang: str, role: str, me: str) -> str:
        """Another person, with their own badge and PIN, checked now (a second clerk, an
        approving supervisor); their session ends at once."""
        found = await terminal.station.steps.sign_in(
            str(body.get("badge", "")), str(body.get("pin", "")), lang)
        terminal.sessions.sign_out(found.token)
        if found.person.role != role or found.person.id == me:
            raise RoleRefusedError(f"another {role} must confirm with their own badge and PIN")
        return found.person.id

    @app.post("/api/leave/hold")
    async def hold(request: Request) -> Response:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            case_id = str(body.get("case", ""))
            await desk.hold(s.person.id, case_id, str(body.get("reason", "")),
                            str(body.get("label") or "") or None)
            return {"redirect": f"{_base(request)}/leave",
                    "message": translate("leave.held", lang, case=case_id)}
        return await act(request, ("officer", "supervisor"), work)

    @app.post("/api/leave/lift")
    async def lift(request: Request) -> Response:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            # the approving supervisor's own badge and PIN; a supervisor approving their own
            # lifting is refused by the custody service
            found = await terminal.station.steps.sign_in(
                str(body.get("badge", "")), str(body.get("pin", "")), lang)
            terminal.sessions.sign_out(found.token)
            case_id = str(body.get("case", ""))
            await desk.lift(s.person.id, found.person.id, case_id,
                            str(body.get("reason", "")), str(body.get("label") or "") or None)
            return {"redirect": f"{_base(request)}/leave",
                    "message": translate("leave.lifted", lang, case=case_id)}
        return await act(request, ("officer", "supervisor"), work)

    @app.post("/api/leave/{request_id}/back")
    async def back(request: Request, request_id: int) -> Response:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            record = await desk.come_back(s.person.id, request_id)
            return {"redirect": f"{_base(request)}/home",
                    "message": translate("leave.back", lang, label=record.item)}
        return await act(request, ("clerk", "officer"), work)
