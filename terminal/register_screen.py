"""The kiosk's registration screen (DESIGN.md §1 "Register, then hand over within 24
hours"), over ``StepDesk.register_new_case``.

- ``GET /register``: an officer's form: the case title, the complainant (name, contact) and
  the manifest, one row per item (file or exhibit, description, quantity, category, seized
  from, seized at in the station's time), rows added and removed on the screen.
- ``POST /api/register`` (an ``action_id``, refusals in the person's language, nothing
  recorded by a refusal): the station numbers the case and its labels, records
  ``case.registered`` and prints the labels; the answer names the case, its labels and what
  the printer did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from custody.domain.errors import InvalidInputError
from custody.domain.people import Complainant
from custody.domain.values import ManifestLine
from terminal.app import Terminal
from terminal.i18n import translate
from terminal.sessions import Session, SessionExpiredError

Work = Callable[[Session, dict[str, Any], str], Awaitable[dict[str, Any]]]
Act = Callable[[Request, tuple[str, ...], Work], Awaitable[JSONResponse]]


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    return value if isinstance(value, str) else str(value)


def register(app: FastAPI, terminal: Terminal, act: Act,
             labels: Callable[[Any, str], tuple[str, bool]]) -> None:
    """Add the registration screen and action (``act`` is :mod:`terminal.actions`' runner,
    ``labels`` its :func:`~terminal.actions.label_texts`)."""
    steps = terminal.station.steps

    @app.get("/register", response_class=HTMLResponse)
    async def register_page(request: Request) -> Response:
        base = str(request.scope.get("root_path", "")).rstrip("/")
        try:
            session = terminal.session(request)
        except SessionExpiredError:
            return RedirectResponse(f"{base}/signin?why=idle", status_code=303)
        if session.person.role != "officer":
            return RedirectResponse(f"{base}/home", status_code=303)
        return HTMLResponse(terminal.render(request, "register.html", session,
                                            screen="register"))

    @app.post("/api/register")
    async def register_case(request: Request) -> JSONResponse:
        async def work(s: Session, body: dict[str, Any], lang: str) -> dict[str, Any]:
            rows = body.get("items")
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise InvalidInputError("items must be a list of item rows")
            lines: list[ManifestLine] = [
                steps.manifest_line(_text(r, "kind"), _text(r, "description"),
                                    _text(r, "quantity"), _text(r, "seized_at"),
                                    seized_from=_text(r, "seized_from"),
                                    category=_text(r, "category"))
                for r in rows
            ]
            name = _text(body, "complainant_name").strip()
            done = await steps.register_new_case(
                s.person.id, title=_text(body, "title"), lines=lines,
                complainant=Complainant(name, _text(body, "complainant_contact"))
                if name else None)
            said, fault = labels(done.labels, lang)
            message = translate("register.done", lang, case=done.case.case_id,
                                labels=", ".join(done.case.items))
            return {"case": done.case.case_id, "labels": list(done.case.items),
                    "printed": list(done.labels.printed), "printer_fault": fault,
                    "message": f"{message} {said}".strip(), "tone": "warn" if fault else "ok"}
        return await act(request, ("officer",), work)
