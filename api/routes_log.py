"""The station's ledger as a static C2SP tlog-tiles log, read-only, at ``/log/``.

The files are those ``locker log publish`` (and the daemon, after each checkpoint) keep in
``DATA/tiles/``; nothing here reads the ledger itself.

- ``/log/checkpoint`` and the hash tiles ``/log/tile/<L>/<N>[.p/<W>]``: anyone (hashes and
  a signed tree head reveal nothing); ``/log/key``, the verifier key, too (not part of
  tlog-tiles: a mirror may pin it on first use, docs/offsite.md);
- entry bundles ``/log/tile/entries/<N>[.p/<W>]`` and photos ``/log/photos/<sha256>``:
  a token of role ``auditor`` or ``mirror`` (entries carry personal data).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from api.auth import Principal, Role
from api.deps import require
from api.errors import NotFoundError
from api.responses import errors
from api.routes_photos import digest_headers, media_type, read_photo
from custody.ledger.publish import CHECKPOINT_FILE, TILES_DIR
from custody.ledger.tiles import TileError, parse_path

router = APIRouter(prefix="/log", tags=["log"])

LogReader = Annotated[Principal, Depends(require(Role.AUDITOR, Role.MIRROR))]
_OCTETS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "the bytes"}
}
# tlog-tiles: tiles are immutable (a partial tile has its width in its name); the
# checkpoint is mutable and must not be cached beyond a few seconds
_IMMUTABLE = "public, max-age=31536000, immutable"


def _tiles(request: Request) -> Path:
    root: Path = request.app.state.data_dir / TILES_DIR
    return root


def _file(request: Request, rel: str) -> Path:
    path = _tiles(request) / rel
    if not path.is_file():
        raise NotFoundError(f"no {rel} (has `locker log publish` run?)")
    return path


@router.get(
    "/checkpoint",
    summary="The latest published signed checkpoint (anyone)",
    responses={200: {"content": {"text/plain": {}}, "description": "a signed note"},
               **errors(404, s404="nothing published yet")},
)
async def checkpoint(request: Request) -> Response:
    path = _file(request, CHECKPOINT_FILE)
    data = await asyncio.to_thread(path.read_bytes)
    return Response(
        data,
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-cache, max-age=0"},
    )


@router.get(
    "/key",
    summary="The station's verifier key (anyone)",
    responses={200: {"content": {"text/plain": {}}, "description": "name+keyid+key"},
               **errors(404, s404="this station has no station.vkey")},
)
async def key(request: Request) -> Response:
    path: Path = request.app.state.data_dir / "station.vkey"
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise NotFoundError("this station has no station.vkey") from None
    return Response(data, media_type="text/plain; charset=utf-8")


def _tile_response(request: Request, rel: str) -> FileResponse:
    return FileResponse(
        _file(request, rel),
        media_type="application/octet-stream",
        headers={"Cache-Control": _IMMUTABLE},
    )


@router.get(
    "/tile/entries/{index:path}",
    summary="An entry bundle (auditor or mirror token)",
    responses=_OCTETS,
)
async def entry_bundle(request: Request, who: LogReader, index: str) -> FileResponse:
    rel = f"tile/entries/{index}"
    try:
        parse_path(rel)
    except TileError as exc:
        raise NotFoundError(str(exc)) from None
    resp = _tile_response(request, rel)
    resp.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return resp


@router.get("/tile/{path:path}", summary="A Merkle tree tile (anyone)", responses=_OCTETS)
async def tile(request: Request, path: str) -> FileResponse:
    rel = f"tile/{path}"
    try:
        ref = parse_path(rel)
    except TileError as exc:
        raise NotFoundError(str(exc)) from None
    if ref.is_bundle:  # (routed above; kept so no path reaches a bundle without a token)
        raise NotFoundError(f"no {rel}")
    return _tile_response(request, rel)


@router.get(
    "/photos/{sha256}",
    summary="A photo's bytes (auditor or mirror token)",
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "bytes"},
               **errors(500)},
)
async def photo(
    request: Request,
    who: LogReader,
    sha256: Annotated[str, PathParam(pattern="^[0-9a-f]{64}$")],
) -> Response:
    data = await asyncio.to_thread(read_photo, request.app.state.data_dir, sha256)
    headers = digest_headers(data)
    headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return Response(data, media_type=media_type(data), headers=headers)
