"""The terminal's actions: JSON ``POST`` routes, each attributed to the signed-in person.

Every action body carries an ``action_id``; the first answer for an id is kept and a retry
(after the network to the daemon dropped) gets it back without doing the work again. A
refused step answers ``{"ok": false, "message": ...}`` with the reason in the person's
language; nothing is recorded by a refused step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from custody.alarms import AlarmKind
from custody.errors import LockerError
from scanner.derived import checked_thumbnail
from scanner.photostore import FilePhotoStore
from terminal.app import LANG_COOKIE, SESSION_COOKIE, Terminal
from terminal.errors import LabelNotPrintedError, RoleRefusedError, message_for
from terminal.i18n import normalise_language, translate
from terminal.idempotency import BadActionIdError
from terminal.pages import alarm_json, draft_json, return_reason
from terminal.ports import BayStep, LabelRun
from terminal.sessions import Session, SessionExpiredError, SignInError
from terminal.sms_line import sms_json

log = logging.getLogger("terminal.actions")

Work = Callable[[Session, dict[str, Any], str], Awaitable[dict[str, Any]]]


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def label_texts(run: LabelRun, lang: str) -> tuple[str, bool]:
    """What to say of the labels printed after a step, and whether a printer fault stopped
    them (nothing is said when the station has no printer)."""
    said = []
    if run.printed:
        said.append(translate("label.printed", lang, labels=", ".join(run.printed)))
    if run.error:
        said.append(translate("label.fault", lang, detail=run.error,
                              labels=", ".join(run.not_printed) or "-"))
    return " ".join(said), bool(run.error)


def register(app: FastAPI, terminal: Terminal) -> None:
    """Add the action routes to the app."""

    async def act(request: Request, roles: tuple[str, ...], work: Work) -> JSONResponse:
        """Run one action once per action id, as the signed-in person, in their language."""
        session = terminal.session(request, touch=True)
        lang = terminal.language(request, session)
        body = await _body(request)

        async def run() -> tuple[int, dict[str, Any]]:
            if session.person.role not in roles:
                exc = RoleRefusedError(f"{session.person.role} may not do this")
                key, params = message_for(exc)
                return 403, {"ok": False, "key": key, "message": translate(key, lang, **params)}
            try:
                result = await work(session, body, lang)
            except LockerError as exc:
                key, params = message_for(exc)
                log.info("%s: refused: %s", session.person.id, exc)
                return 409, {"ok": False, "key": key,
                             "message": translate(key, lang, **params)}
            return 200, {"ok": True, **result}

        try:
            status, payload = await terminal.actions.run(
                str(body.get("action_id", "")), session.person.id, run
            )
        except BadActionIdError as exc:
            return JSONResponse(status_code=400, content={"ok": False, "message": str(exc)})
        return JSONResponse(status_code=status, content=payload)

    # ------------------------------------------------------------------ sign-in

    @app.post("/api/badge")
    async def badge(request: Request) -> JSONResponse:
        lang = terminal.language(request)
        body = await _body(request)
        try:
            person = terminal.sessions.check_badge(str(body.get("badge", "")))
        except SignInError as exc:
            key, params = message_for(exc)
            return JSONResponse(status_code=403, content={
                "ok": False, "key": key, "message": translate(key, lang, **params)})
        return JSONResponse({"ok": True, "name": person.name,
                             "message": translate("signin.enter_pin", lang, name=person.name)})

    @app.post("/api/signin")
    async def signin(request: Request) -> JSONResponse:
        lang = terminal.language(request)
        body = await _body(request)
        try:
            # the station's one sign-in (scrypt off the loop; a lockout is recorded)
            session = await terminal.station.steps.sign_in(
                str(body.get("badge", "")), str(body.get("pin", "")), lang)
        except SignInError as exc:
            key, params = message_for(exc)
            return JSONResponse(status_code=403, content={
                "ok": False, "key": key, "message": translate(key, lang, **params)})
        target = "officer" if session.person.role == "officer" else "home"
        base = str(request.scope.get("root_path", "")).rstrip("/")
        response = JSONResponse({"ok": True, "redirect": f"{base}/{target}",
                                 "name": session.person.name})
        response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="strict",
                            path="/")
        return response

    @app.post("/api/signout")
    async def signout(request: Request) -> JSONResponse:
        terminal.sessions.sign_out(request.cookies.get(SESSION_COOKIE))
        response = JSONResponse({"ok": True})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.post("/api/lang")
    async def language(request: Request) -> JSONResponse:
        body = await _body(request)
        lang = normalise_language(str(body.get("lang", "")))
        session = terminal.sessions.peek(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            session.language = lang
        response = JSONResponse({"ok": True, "lang": lang})
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", path="/")
        return response

    # ------------------------------------------------------------------ live state

    @app.get("/api/status")
    async def status(request: Request, compartment: str = "") -> JSONResponse:
        """Signed in?, open alarms, the SMS channel (when the station sends SMS), and (when
        asked) one compartment's door state.

        Polled by every screen; it does not count as an action (the idle lock runs on).
        """
        try:
            session = terminal.session(request)
        except SessionExpiredError:
            session = None
        lang = terminal.language(request, session)
        board = terminal.station.alarms
        alarms = []
        if board is not None:
            zone = terminal.station.custody.settings.zone
            for alarm in await asyncio.to_thread(board.open_alarms):
                alarms.append(alarm_json(alarm, lang, zone, terminal.names()))
        out: dict[str, Any] = {"signed_in": session is not None, "alarms": alarms,
                               "role": session.person.role if session else None}
        if terminal.station.sms_status is not None:  # the status line: the SMS channel
            out["sms"] = sms_json(terminal.station.sms_status(), lang)
        if compartment and session is not None:
            try:
                state = await terminal.station.steps.compartment_state(compartment)
                out["compartment"] = {
                    "name": compartment, "door_closed": state.door_closed,
                    "occupied": state.occupied, "locked": state.locked,
                    "text": translate(
                        "bay.door_closed" if state.door_closed else "bay.door_open", lang
                    ),
                }
            except LockerError as exc:
                key, params = message_for(exc)
                out["compartment"] = {"name": compartment, "error":
                                      translate(key, lang, **params)}
        return JSONResponse(out, headers={"Cache-Control": "no-store"})

    @app.get("/api/camera.jpg")
    async def camera(request: Request) -> Response:
        terminal.session(request)
        try:
            jpeg, reads = await terminal.camera.live_frame()
        except LockerError as exc:
            return JSONResponse(status_code=503, content={"ok": False, "message": str(exc)})
        return Response(jpeg, media_type="image/jpeg", headers={
            "Cache-Control": "no-store", "X-Labels": ",".join(r.text for r in reads)})

    @app.get("/api/photo/{sha256}")
    async def photo(request: Request, sha256: str) -> Response:
        terminal.session(request)
        store = terminal.station.photos
        try:
            if isinstance(store, FilePhotoStore):  # its thumbnail, checked against the photo
                data = await asyncio.to_thread(checked_thumbnail, store, sha256)
            else:
                data = await asyncio.to_thread(store.get, sha256)  # checked against its hash
        except LockerError as exc:
            return JSONResponse(status_code=404, content={"ok": False, "message": str(exc)})
        return Response(data, media_type="image/jpeg")

    # ------------------------------------------------------------------ handover

    @app.post("/api/handover/{case_id:path}/scan")
    async def handover_scan(request: Request, case_id: str) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            typed = body.get("text")
            outcomes = await terminal.desk.scan_for_handover(
                s.person.id, case_id, str(typed) if typed else None)
            msgs = [translate(f"scan.{o.status}", lang, label=o.label) for o in outcomes]
            # an extra or an item handed over before is no success to show in green
            warn = any(o.status in ("extra", "handed_over") for o in outcomes)
            return {"message": " ".join(msgs), "outcomes": [o.status for o in outcomes],
                    "tone": "warn" if warn else None,
                    "state": draft_json(terminal, s.person.id, case_id)}
        return await act(request, ("clerk",), work)

    @app.post("/api/handover/{case_id:path}/drop")
    async def handover_drop(request: Request, case_id: str) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            label = str(body.get("label", ""))
            terminal.desk.drop_extra(s.person.id, case_id, label)
            return {"message": translate("handover.dropped", lang, label=label),
                    "state": draft_json(terminal, s.person.id, case_id)}
        return await act(request, ("clerk",), work)

    @app.post("/api/handover/{case_id:path}/commit")
    async def handover_commit(request: Request, case_id: str) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            raw = body.get("checklist", {})
            checklist = {str(k): v is True for k, v in raw.items()} if isinstance(
                raw, dict) else {}
            result = await terminal.desk.commit_handover(
                s.person.id, case_id, checklist, str(body.get("reason", "")))
            base = str(request.scope.get("root_path", "")).rstrip("/")
            message = translate("handover.recorded", lang, seq=result.seq,
                                count=len(result.items))
            labels, fault = label_texts(result.labels, lang)
            return {"message": " ".join(filter(None, (message, labels))),
                    "tone": "warn" if fault else None,
                    "seq": result.seq, "missing": list(result.missing),
                    "extra": list(result.extra), "labels_printed": list(result.labels.printed),
                    "redirect": f"{base}/storage/{case_id}"}
        return await act(request, ("clerk",), work)

    @app.post("/api/label/reprint")
    async def label_reprint(request: Request) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            run = await terminal.desk.reprint(s.person.id, str(body.get("label", "")))
            if run.error:  # a printer fault: nothing recorded, the button prints it again
                raise LabelNotPrintedError(run.error, labels=", ".join(run.not_printed))
            return {"message": translate("label.reprinted", lang, label=run.printed[0])}
        return await act(request, ("clerk", "officer"), work)

    # ------------------------------------------------------------------ compartment steps

    def bay_url(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/") + "/bay"

    def opened(step: BayStep, lang: str, request: Request) -> dict[str, Any]:
        # where, and why there: the step service's answer
        why = (return_reason(step.place, lang) if step.place is not None
               else translate(f"bay.reason_{step.reason}", lang))
        return {"message": translate("bay.opened", lang, compartment=step.compartment) + " "
                + why,
                "compartment": step.compartment, "reason": step.reason,
                "redirect": bay_url(request)}

    @app.post("/api/store/{case_id:path}/open")
    async def store_open(request: Request, case_id: str) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            step = await terminal.desk.open_store(s.person.id, case_id)
            return opened(step, lang, request)
        return await act(request, ("clerk",), work)

    @app.post("/api/checkout/open")
    async def checkout_open(request: Request) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            step = await terminal.desk.open_check_out(s.person.id, str(body.get("label", "")))
            return opened(step, lang, request)
        return await act(request, ("officer",), work)

    @app.post("/api/checkout/all")
    async def checkout_all(request: Request) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            step = await terminal.desk.open_check_out_all(s.person.id,
                                                          terminal.station.clock.now())
            return opened(step, lang, request)
        return await act(request, ("officer",), work)

    @app.post("/api/return/open")
    async def return_open(request: Request) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            typed = body.get("text")
            step = await terminal.desk.open_return(s.person.id, str(typed) if typed else None)
            return opened(step, lang, request)
        return await act(request, ("officer",), work)

    @app.post("/api/bay/reopen")
    async def bay_reopen(request: Request) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            step = await terminal.desk.reopen(s.person.id)
            return {"message": translate("bay.opened", lang, compartment=step.compartment)}
        return await act(request, ("clerk", "officer"), work)

    @app.post("/api/bay/photo")
    async def bay_photo(request: Request) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            ref = await terminal.desk.photograph_step(s.person.id)
            return {"message": translate("bay.photo_taken", lang), "photo": ref.sha256}
        return await act(request, ("clerk", "officer"), work)

    @app.post("/api/bay/commit")
    async def bay_commit(request: Request) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            step = await terminal.desk.commit_step(s.person.id)
            base = str(request.scope.get("root_path", "")).rstrip("/")
            target = "officer" if s.person.role == "officer" else "home"
            done = translate(f"bay.recorded_{step.purpose}", lang,
                             compartment=step.compartment, labels=", ".join(step.labels))
            if step.purpose == "check_out":
                nxt = await terminal.desk.next_in_queue(s.person.id)
                if nxt is not None:  # "take all": the next compartment opens now
                    return {"message": done + " " + translate(
                        "bay.next", lang, compartment=nxt.compartment),
                        "redirect": f"{base}/bay"}
            return {"message": done, "redirect": f"{base}/{target}"}
        return await act(request, ("clerk", "officer"), work)

    @app.post("/api/bay/cancel")
    async def bay_cancel(request: Request) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            await terminal.desk.cancel_step(s.person.id)
            base = str(request.scope.get("root_path", "")).rstrip("/")
            target = "officer" if s.person.role == "officer" else "home"
            return {"message": translate("bay.cancelled", lang), "redirect": f"{base}/{target}"}
        return await act(request, ("clerk", "officer"), work)

    # ------------------------------------------------------------------ alarms

    @app.post("/api/alarms/{alarm_id}/ack")
    async def alarm_ack(request: Request, alarm_id: str) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            board = terminal.station.alarms
            if board is None:
                raise RoleRefusedError("this station reports no alarms")
            await asyncio.to_thread(board.acknowledge, alarm_id, clerk=s.person.id)
            return {"message": translate("alarm.acknowledged", lang)}
        return await act(request, ("clerk",), work)

    from terminal import leave_screens  # items leaving custody, on the same action runner

    leave_screens.register(app, terminal, act)

    from terminal import register_screen  # an officer registers a case

    register_screen.register(app, terminal, act, label_texts)


ALARM_KINDS = tuple(k.value for k in AlarmKind)  # each has its texts (terminal.pages)
