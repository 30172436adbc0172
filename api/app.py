"""The read API's application factory: ``create_app(data_dir)``.

Every route is a GET: the API reads the ledger and the state derived from it and cannot
change custody (writes go through the terminal and ``custody``'s services); issuing a PDF
report records a ``report.issued`` entry through the recorder the app is handed. Every route
but ``/v1/health`` and the public part of the published log (``/log/checkpoint``, the hash
tiles: :mod:`api.routes_log`) needs a token (see :mod:`api.auth`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from api.auth import TokenStore
from api.backend import Backend
from api.cabinets import CabinetStateSource
from api.errors import AccessRefusedError, BadRequestError, NotCoveredError, NotFoundError
from api.report_issue import LedgerFileRecorder, ReportNotRecordedError, ReportRecorder
from api.reports import ReportSetup
from api.responses import document_errors, errors_as_json, known_query_only
from custody.ports import Clock
from custody.settings import RulesSettings

log = logging.getLogger("api")

API_VERSION = "1"


def create_app(
    data_dir: str | Path,
    *,
    cabinet_state: CabinetStateSource | None = None,
    clock: Clock | None = None,
    rules: RulesSettings | None = None,
    report_setup: ReportSetup | None = None,
    report_recorder: ReportRecorder | None = None,
) -> FastAPI:
    """The read API over the station data directory ``data_dir``.

    ``cabinet_state`` is the daemon's live view of the cabinets; without it the cabinets
    endpoint serves what the ledger says. ``rules`` are the station's deadline settings
    (the ``[rules]`` section; defaults otherwise), used to list open deadlines. The ledger
    is opened (and the derived state caught up) when the app starts, or at the first
    request when it is mounted inside another app whose lifespan does not start it.
    ``report_setup`` (station name, zone, people) and ``report_recorder`` (who records an
    issued PDF report in the ledger; default: open the ledger's writer for each) serve the
    reports (:mod:`api.routes_reports`).
    """
    data = Path(data_dir)
    if not data.is_dir():
        raise NotFoundError(f"data directory {str(data)!r} does not exist")
    backend = Backend(data, rules)
    tokens = TokenStore(data, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await backend.start_async()
        try:
            yield
        finally:
            backend.stop()
            tokens.close()

    app = FastAPI(
        title="evidence-locker read API",
        version=API_VERSION,
        description=(
            "Read-only access to the custody ledger and the state derived from it: cases, "
            "items and their chain of custody, deadlines, cabinets, open alarms, checkpoints "
            "and proofs, photos, and printable chain-of-custody reports. Every route needs a "
            "bearer token from `locker token create` except `/v1/health`."
        ),
        lifespan=lifespan,
    )
    app.state.data_dir = data
    app.state.backend = backend
    app.state.tokens = tokens
    app.state.cabinet_state = cabinet_state
    app.state.clock = clock
    app.state.verification = None
    app.state.verify_lock = asyncio.Lock()
    app.state.report_setup = report_setup or ReportSetup(
        timezone=rules.timezone if rules else ReportSetup.timezone
    )
    app.state.report_recorder = report_recorder or LedgerFileRecorder(data, clock)
    app.state.report_lock = asyncio.Lock()

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(BadRequestError)
    async def bad_request(request: Request, exc: BadRequestError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.exception_handler(AccessRefusedError)
    async def access_refused(request: Request, exc: AccessRefusedError) -> JSONResponse:
        tokens.record_refusal(
            method=request.method,
            path=request.url.path,
            status=403,
            reason=str(exc),
            principal=exc.who,
        )
        return JSONResponse(status_code=403, content={"detail": str(exc)})

    @app.exception_handler(ReportNotRecordedError)
    async def not_recorded(request: Request, exc: ReportNotRecordedError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.exception_handler(NotCoveredError)
    async def not_covered(request: Request, exc: NotCoveredError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    from api import (
        routes_alarms,
        routes_cabinets,
        routes_custody,
        routes_leaves,
        routes_ledger,
        routes_log,
        routes_meta,
        routes_photos,
        routes_reports,
    )

    for module in (
        routes_meta,
        routes_custody,
        routes_cabinets,
        routes_alarms,
        routes_leaves,
        routes_ledger,
        routes_photos,
        routes_reports,
        routes_log,
    ):
        document_errors(module.router)
        app.include_router(module.router, dependencies=[Depends(known_query_only)])
    schema_of = app.openapi

    def openapi() -> dict[str, Any]:
        return errors_as_json(schema_of())

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way
    return app
