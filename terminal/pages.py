"""The terminal's screens (server-rendered HTML); actions live in :mod:`terminal.actions`.

A screen asked for without a live session sends the person to the sign-in screen (with the
reason: idle lock or signed out). A clerk's home is the handover desk; an officer's home is
"your files today".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from custody.alarms import AlarmKind, AlarmView
from custody.domain.states import ItemState
from custody.errors import LockerError
from custody.queries import ReturnPlace, ReturnReason
from terminal.app import SESSION_COOKIE, Terminal
from terminal.errors import message_for
from terminal.i18n import TranslationError, translate
from terminal.sessions import Session, SessionExpiredError


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _to_signin(request: Request, why: str) -> RedirectResponse:
    return RedirectResponse(f"{_base(request)}/signin?why={why}", status_code=303)


def draft_json(terminal: Terminal, person: str, case_id: str) -> dict[str, Any]:
    """The handover screen's state: manifest lines, extras, photos (also sent after scans)."""
    case, items = terminal.desk.case(case_id)
    draft = terminal.desk.draft(person, case_id)
    lines = []
    for item in items:
        if item.state is ItemState.REGISTERED:
            status = "ticked" if item.label in draft.ticked else "pending"
        else:
            status = "done"
        lines.append({
            "label": item.label, "kind": item.kind, "description": item.description,
            "quantity": item.quantity, "seized_from": item.seized_from, "status": status,
            "photo": draft.ticked.get(item.label, ""),
        })
    pending = [ln for ln in lines if ln["status"] == "pending"]
    return {
        "case": case.case_id,
        "lines": lines,
        "missing": [ln["label"] for ln in pending],
        "extra": [{"label": lb, "photo": sha} for lb, sha in sorted(draft.extra.items())],
        "ticked": len(draft.ticked),
    }


_KNOWN_ALARMS = frozenset(k.value for k in AlarmKind)


def _role_text(role: str | None, lang: str) -> str:
    if not role:
        return "-"
    try:
        return translate(f"role.{role}", lang)
    except TranslationError:  # a role the screens have no word for
        return role


def alarm_where(alarm: AlarmView, lang: str, names: Mapping[str, str] | None = None) -> str:
    """Where an alarm is, as the screens name it. An alarm about a person (a failed
    notice) names staff by name and role; anyone else (a complainant, recorded by phone
    number) by role only: the kiosk shows alarms to whoever stands in front of it."""
    if alarm.where or alarm.person is None:  # a place (a PIN lockout: its badge)
        return alarm.where
    role = _role_text(alarm.role, lang)
    if names and alarm.person in names:
        return f"{names[alarm.person]} ({role})"
    return role


def alarm_json(alarm: AlarmView, lang: str, zone: ZoneInfo,
               names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One open alarm as the screens show it: when (station time), where
    (:func:`alarm_where`; ``names``: person id -> name), which items, what happened (with
    its detail where the kind's text has room for it: a failed notice's reason) and what
    to do, in the person's language."""
    known = alarm.kind in _KNOWN_ALARMS
    where = alarm_where(alarm, lang, names)
    text = (translate(f"alarm.{alarm.kind}", lang, where=where, detail=alarm.detail or "-")
            if known
            else translate("alarm.other", lang, where=where, kind=alarm.kind))
    items = ", ".join(alarm.items)
    return {
        "id": str(alarm.seq), "kind": alarm.kind, "where": where,
        "compartment": alarm.compartment, "items": list(alarm.items),
        "at": alarm.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "time": alarm.at.astimezone(zone).strftime("%m-%d %H:%M"),
        "text": text,
        "items_text": translate("alarm.items", lang, items=items) if items else "",
        "todo": translate(f"alarm.todo.{alarm.kind}" if known else "alarm.todo.other", lang),
    }


def return_reason(place: ReturnPlace, lang: str) -> str:
    """Why a returned file goes to its compartment, in the person's language."""
    if place.compartment is None:  # no compartment of its own or its case: one is picked
        return translate("return.free_later", lang, label=place.label)
    key = f"return.{place.reason.value}"
    if place.reason is not ReturnReason.WHERE_IT_WAS and not place.previous_case:
        key += "_unusable"  # its old compartment was excluded (reserved, in use)
    return translate(key, lang, **place.params)


def register(app: FastAPI, terminal: Terminal) -> None:
    """Add the screens to the app."""

    def page(request: Request, name: str, session: Session | None, **ctx: Any) -> HTMLResponse:
        return HTMLResponse(terminal.render(request, name, session, **ctx))

    def signed_in(request: Request) -> Session:
        return terminal.session(request)

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> Response:
        session = terminal.sessions.peek(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return _to_signin(request, "start")
        target = "officer" if session.person.role == "officer" else "home"
        return RedirectResponse(f"{_base(request)}/{target}", status_code=303)

    @app.get("/signin", response_class=HTMLResponse)
    async def signin(request: Request, why: str = "start") -> HTMLResponse:
        reasons = {"idle": "signin.locked_idle", "signout": "signin.signed_out"}
        return page(request, "signin.html", None, screen="signin",
                    notice_key=reasons.get(why, ""))

    @app.get("/lock", include_in_schema=False)
    async def lock(request: Request) -> Response:
        terminal.sessions.sign_out(request.cookies.get(SESSION_COOKIE))
        response = _to_signin(request, "idle")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/home", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        try:
            session = signed_in(request)
        except SessionExpiredError:
            return _to_signin(request, "idle")
        if session.person.role == "officer":
            return RedirectResponse(f"{_base(request)}/officer", status_code=303)
        return page(request, "home.html", session, screen="home",
                    pending=terminal.desk.pending_cases(), to_store=terminal.desk.to_store())

    @app.get("/handover/{case_id:path}", response_class=HTMLResponse)
    async def handover(request: Request, case_id: str) -> Response:
        try:
            session = signed_in(request)
        except SessionExpiredError:
            return _to_signin(request, "idle")
        lang = terminal.language(request, session)
        try:
            state = draft_json(terminal, session.person.id, case_id)
            case, items = terminal.desk.case(case_id)
        except LockerError as exc:
            key, params = message_for(exc)
            return page(request, "message.html", session, screen="message",
                        message=translate(key, lang, **params))
        return page(
            request, "handover.html", session, screen="handover", case=case, items=items,
            state_json=json.dumps(state, ensure_ascii=False),
            checklist=terminal.station.custody.settings.lawfulness_checklist,
        )

    @app.get("/storage/{case_id:path}", response_class=HTMLResponse)
    async def storage(request: Request, case_id: str) -> Response:
        try:
            session = signed_in(request)
        except SessionExpiredError:
            return _to_signin(request, "idle")
        case, items = terminal.desk.case(case_id)
        waiting = [i for i in items if i.state in (ItemState.HANDED_OVER, ItemState.RETURNED)]
        return page(request, "storage.html", session, screen="storage", case=case,
                    items=waiting, step=terminal.desk.step(session.person.id),
                    label_printer=terminal.station.label_printer)

    @app.get("/bay", response_class=HTMLResponse)
    async def bay(request: Request) -> Response:
        try:
            session = signed_in(request)
        except SessionExpiredError:
            return _to_signin(request, "idle")
        step = terminal.desk.step(session.person.id)
        if step is None:
            target = "officer" if session.person.role == "officer" else "home"
            return RedirectResponse(f"{_base(request)}/{target}", status_code=303)
        items = [terminal.desk.item(lb) for lb in step.labels]
        lang = terminal.language(request, session)
        why = return_reason(step.place, lang) if step.place is not None else ""
        return page(request, "bay.html", session, screen="bay", step=step, items=items,
                    why=why)

    @app.get("/officer", response_class=HTMLResponse)
    async def officer(request: Request) -> Response:
        try:
            session = signed_in(request)
        except SessionExpiredError:
            return _to_signin(request, "idle")
        day = terminal.desk.officer_day(session.person.id, terminal.station.clock.now())
        lang = terminal.language(request, session)
        reasons = {f.item.label: return_reason(f.goes_back, lang)
                   for f in (*day.overdue, *day.out)}
        return page(request, "officer.html", session, screen="officer", day=day,
                    reasons=reasons, zone=terminal.station.custody.settings.zone)

    @app.get("/alarms", response_class=HTMLResponse)
    async def alarms(request: Request) -> Response:
        try:
            session = signed_in(request)
        except SessionExpiredError:
            return _to_signin(request, "idle")
        board = terminal.station.alarms
        lang = terminal.language(request, session)
        zone = terminal.station.custody.settings.zone
        found = await asyncio.to_thread(board.open_alarms) if board else []
        return page(request, "alarms.html", session, screen="alarms",
                    alarms=[alarm_json(a, lang, zone, terminal.names()) for a in found])
