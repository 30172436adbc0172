"""The terminal's web app: ``create_terminal_app(station) -> FastAPI``.

Server-rendered pages (Jinja2) with a little vanilla JavaScript; nothing is fetched from the
internet. The daemon mounts the app under ``/terminal`` (see ``docs/terminal.md``)::

    app.mount("/terminal", create_terminal_app(station))

Every page but sign-in needs a signed-in person (a session cookie); every action is a JSON
``POST`` carrying an ``action_id`` (retries are answered once, see
:mod:`terminal.idempotency`) and is attributed to the signed-in person.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from terminal.camera_view import CameraView
from terminal.desk import Desk
from terminal.i18n import LANGUAGES, normalise_language, translate
from terminal.idempotency import ActionLog
from terminal.sessions import Session, SessionExpiredError, Sessions
from terminal.station import TerminalStation

log = logging.getLogger("terminal")

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "locker_terminal"
LANG_COOKIE = "locker_lang"


@dataclass
class Terminal:
    """Everything the routes share (kept on ``app.state.terminal``)."""

    station: TerminalStation
    sessions: Sessions
    camera: CameraView
    desk: Desk
    actions: ActionLog
    templates: Environment

    def language(self, request: Request, session: Session | None = None) -> str:
        """The screen language: the person's choice (cookie), else the station's default."""
        chosen = request.cookies.get(LANG_COOKIE)
        if chosen:
            return normalise_language(chosen)
        if session is not None:
            return session.language
        return normalise_language(self.station.settings.language)

    def session(self, request: Request, *, touch: bool = False) -> Session:
        """The signed-in person, or :class:`SessionExpiredError`."""
        return self.sessions.get(request.cookies.get(SESSION_COOKIE), touch=touch)

    def names(self) -> dict[str, str]:
        """Person id -> name, from the station's people list."""
        return {p.id: p.name for p in self.station.custody.directory}

    def render(self, request: Request, name: str, session: Session | None,
               **context: Any) -> str:
        """Render a page in the person's language."""
        lang = self.language(request, session)
        base = str(request.scope.get("root_path", "")).rstrip("/")

        def t(key: str, **params: object) -> str:
            return translate(key, lang, **params)

        def name_of(person_id: str) -> str:
            directory = self.station.custody.directory
            return directory.get(person_id).name if person_id in directory else person_id

        return self.templates.get_template(name).render(
            t=t, name_of=name_of, lang=lang, languages=LANGUAGES, base=base, session=session,
            person=session.person if session else None, settings=self.station.settings,
            station_name=self.station.station_name, **context,
        )


def create_terminal_app(station: TerminalStation) -> FastAPI:
    """The terminal app for one station; mount it (e.g. under ``/terminal``) or serve it."""
    from terminal import actions, pages  # routes register themselves on the app

    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    terminal = Terminal(
        station=station,
        sessions=station.steps.sessions,  # the station's one sign-in (the step service's)
        camera=CameraView(station.steps.shoot),
        desk=Desk(station),
        actions=ActionLog(),
        templates=env,
    )
    app = FastAPI(title="evidence-locker terminal", docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.terminal = terminal
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(SessionExpiredError)
    async def expired(request: Request, exc: SessionExpiredError) -> JSONResponse:
        lang = terminal.language(request)
        return JSONResponse(
            status_code=401,
            content={"ok": False, "signed_in": False,
                     "message": translate("signin.locked_idle", lang)},
        )

    pages.register(app, terminal)
    actions.register(app, terminal)
    if station.stages is not None:
        from terminal import case_stages

        case_stages.register(app, terminal, station.stages, station.case_system)
    else:  # the officer's home asks for case deadlines: none without a stage desk
        env.globals["case_deadlines"] = lambda person, role: []
    return app
