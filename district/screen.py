"""The legal section's screen: server-rendered pages over the replica (FastAPI + Jinja2).

Chinese by default (``?lang=en`` for English; the config's ``[district] language`` sets the
default). Sign-in with a district token (``locker district token create``): the secret is
kept in an HTTP-only cookie, or sent as ``Authorization: Bearer``. A supervisor's token
reads its own station only: every list is filtered by it and another station's item or
photo answers 403. Every list is paginated (``[district] page_size`` rows).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import psycopg
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from district import queries
from district.auth import NotSignedInError, Principal, check_token
from district.config import DistrictConfig
from district.follower import photo_path
from district.i18n import LANGS, translator

COOKIE = "district_token"
_TEMPLATES = Path(__file__).parent / "templates"
_SHA_LEN = 64


def create_screen(cfg: DistrictConfig) -> FastAPI:
    """The screen's ASGI app over the district database."""
    opened: list[psycopg.Connection[Any]] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for c in opened:
            c.close()

    app = FastAPI(title="evidence-locker district", docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape())
    size = cfg.district.page_size
    local = threading.local()  # one connection per worker thread (the pages are sync)
    @contextmanager
    def conn() -> Iterator[psycopg.Connection[Any]]:
        c = getattr(local, "conn", None)
        if c is None or c.closed:
            c = psycopg.connect(cfg.database.dsn, autocommit=True)
            local.conn = c
            opened.append(c)
        yield c

    def lang_of(request: Request) -> str:
        lang = request.query_params.get("lang", cfg.district.language)
        return lang if lang in LANGS else cfg.district.language

    def principal(request: Request) -> Principal | None:
        secret = request.cookies.get(COOKIE, "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            secret = header[7:].strip()
        if not secret:
            return None
        with conn() as c:
            try:
                return check_token(c, cfg, secret)
            except NotSignedInError:
                return None

    def render(request: Request, name: str, who: Principal | None, status: int = 200,
               **kw: Any) -> HTMLResponse:
        lang = lang_of(request)
        params = {k: v for k, v in request.query_params.items()
                  if k != "lang" and not k.endswith("p") and k != "page"}
        other = urlencode({**dict(request.query_params), "lang": "zh_CN" if lang == "en"
                           else "en"})
        html = env.get_template(name).render(
            t=translator(lang), lang=lang, who=who, base="", other_query=other,
            query=urlencode({**params, "lang": lang}), **kw,
        )
        return HTMLResponse(html, status_code=status)

    def page_no(request: Request, name: str) -> int:
        raw = request.query_params.get(name, "1")
        return int(raw) if raw.isdigit() and int(raw) > 0 else 1

    def need(request: Request) -> Principal:
        who = principal(request)
        if who is None:
            raise HTTPException(401, "sign in")
        return who

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and request.method == "GET":
            return RedirectResponse(f"/signin?lang={lang_of(request)}", status_code=303)
        t = translator(lang_of(request))
        text = t["forbidden"] if exc.status_code == 403 else str(exc.detail)
        return HTMLResponse(f"<p class='bad'>{text}</p>", status_code=exc.status_code)

    @app.get("/signin", response_class=HTMLResponse)
    def signin_page(request: Request) -> HTMLResponse:
        return render(request, "signin.html", None)

    @app.post("/signin")
    async def signin(request: Request) -> Response:
        form = parse_qs((await request.body()).decode())
        secret = (form.get("token") or [""])[0].strip()
        with conn() as c:
            try:
                check_token(c, cfg, secret)
            except NotSignedInError:
                return render(request, "signin.html", None, 401,
                              error=translator(lang_of(request))["bad_token"])
        resp = RedirectResponse(f"/?lang={lang_of(request)}", status_code=303)
        resp.set_cookie(COOKIE, secret, httponly=True, samesite="strict")
        return resp

    @app.get("/signout")
    def signout(request: Request) -> Response:
        resp = RedirectResponse(f"/signin?lang={lang_of(request)}", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    @app.get("/", response_class=HTMLResponse)
    def dashboard(request: Request) -> HTMLResponse:
        who = need(request)
        with conn() as c:
            data: dict[str, Any] = {
                "stations": queries.stations(c, who, page_no(request, "sp"), size),
                "escalations": queries.escalations(c, who, page_no(request, "ep"), size),
                "cases": queries.case_deadlines(c, who, page_no(request, "cp"), size),
                "alarms": queries.district_alarms(c, who, page_no(request, "ap"), size),
                "salarms": queries.station_alarms(c, who, page_no(request, "lp"), size),
            }
        return render(request, "dashboard.html", who, **data)

    @app.get("/search", response_class=HTMLResponse)
    def search(request: Request, q: str = "") -> HTMLResponse:
        who = need(request)
        with conn() as c:
            results = queries.search(c, who, q.strip(), page_no(request, "page"), size)
        return render(request, "search.html", who, q=q, results=results)

    @app.get("/item/{station}/{label}", response_class=HTMLResponse)
    def item(request: Request, station: str, label: str) -> HTMLResponse:
        who = need(request)
        if not who.may_read(station):
            raise HTTPException(403, "forbidden")
        with conn() as c:
            try:
                row, entries = queries.item_chain(c, station, label)
            except KeyError:
                raise HTTPException(404, f"no item {label} at {station}") from None
        n = page_no(request, "page")
        chain = queries.Page(entries[(n - 1) * size : n * size], n, size, len(entries))
        return render(request, "item.html", who, item=row, chain=chain)

    @app.get("/photo/{station}/{sha}")
    def photo(request: Request, station: str, sha: str) -> Response:
        who = need(request)
        if not who.may_read(station):
            raise HTTPException(403, "forbidden")
        try:
            entry = cfg.station(station)
        except Exception:
            raise HTTPException(404, "no such station") from None
        if len(sha) != _SHA_LEN or not all(ch in "0123456789abcdef" for ch in sha):
            raise HTTPException(404, "no such photo")
        path = photo_path(cfg, entry, sha)
        if not path.is_file():
            raise HTTPException(404, "no such photo")
        head = path.open("rb").read(4)
        media = "image/png" if head.startswith(b"\x89PNG") else "image/jpeg"
        return FileResponse(path, media_type=media)

    @app.get("/api/stations")
    def api_stations(request: Request) -> JSONResponse:
        who = need(request)
        with conn() as c:
            pg = queries.stations(c, who, page_no(request, "page"), size)
        rows = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
                for r in pg.rows]
        return JSONResponse({"stations": rows, "page": pg.page, "total": pg.total})

    return app
