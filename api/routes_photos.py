"""Photos and thumbnails by hash, each served with its hash so a client can check it.

The photo's bytes are read straight from the store's layout (``photos/<aa>/<sha256>``,
``photos/thumbs/<sha256>.jpg``, see docs/data-dir.md) and checked against their name
before they are sent; a thumbnail is first checked against the verified photo and its
checked sidecar, and rebuilt when it does not match (:mod:`scanner.derived`): nothing
unverified is shown beside a verified hash. Headers: ``X-Content-SHA256`` (hex SHA-256 of the body),
``Repr-Digest`` (RFC 9530, ``sha-256=:base64:``) and, for a thumbnail, ``X-Photo-SHA256``
(the photo it was made from). Officers get only photos of their own cases' entries.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi import Path as PathParam

from api.backend import Reader
from api.deps import AnyRole
from api.errors import NotFoundError
from api.responses import errors

router = APIRouter(prefix="/v1/photos", tags=["photos"])

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
Sha = Annotated[
    str,
    PathParam(pattern="^[0-9a-f]{64}$", description="the photo's SHA-256, lowercase hex"),
]

_IMAGE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the bytes"},
    **errors(500),
}


def photo_path(data_dir: Path, sha256: str) -> Path:
    """Where a photo's bytes live in the store's layout."""
    return data_dir / "photos" / sha256[:2] / sha256


def thumb_path(data_dir: Path, sha256: str) -> Path:
    """Where a photo's thumbnail lives in the store's layout."""
    return data_dir / "photos" / "thumbs" / f"{sha256}.jpg"


def media_type(data: bytes) -> str:
    """The image type from its magic bytes (the store keeps JPEG and PNG)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return "application/octet-stream"


def digest_headers(data: bytes) -> dict[str, str]:
    """The hash headers for a body."""
    raw = hashlib.sha256(data).digest()
    return {
        "X-Content-SHA256": raw.hex(),
        "Repr-Digest": f"sha-256=:{base64.b64encode(raw).decode()}:",
        "ETag": f'"{raw.hex()}"',
        "Cache-Control": "private, max-age=31536000, immutable",
    }


def read_photo(data_dir: Path, sha256: str) -> bytes:
    """A stored photo's bytes, checked against their hash; raises when absent or damaged."""
    if not _HEX64.match(sha256):
        raise NotFoundError(f"{sha256!r} is not a SHA-256 in lowercase hex")
    try:
        data = photo_path(data_dir, sha256).read_bytes()
    except FileNotFoundError:
        raise NotFoundError(f"no photo {sha256}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise HTTPException(500, f"photo {sha256} is damaged: its bytes do not match its hash")
    return data


def checked_thumbnail_bytes(data_dir: Path, sha256: str) -> bytes:
    """The photo's thumbnail, checked against the verified photo (rebuilt if it differs);
    404 when the photo or an image to make one from is missing, 500 when the photo no
    longer matches its hash."""
    # imported here: OpenCV is loaded only when a thumbnail is asked for
    from scanner.derived import checked_thumbnail
    from scanner.errors import PhotoNotFoundError, PhotoStoreError
    from scanner.photostore import FilePhotoStore

    try:
        return checked_thumbnail(FilePhotoStore(data_dir), sha256)
    except PhotoNotFoundError:
        raise NotFoundError(f"no photo {sha256}") from None
    except PhotoStoreError as exc:
        raise HTTPException(500, f"no thumbnail for photo {sha256}: {exc}") from None


async def _check_access(request: Request, who: AnyRole, sha256: str) -> None:
    if who.sees_everything:
        return

    def check(r: Reader) -> None:
        r.require_photo(who, sha256)

    await request.app.state.backend.call(check)


@router.get("/{sha256}", summary="A photo's bytes", responses=_IMAGE_RESPONSES)
async def photo(request: Request, who: AnyRole, sha256: Sha) -> Response:
    await _check_access(request, who, sha256)
    data = await asyncio.to_thread(read_photo, request.app.state.data_dir, sha256)
    return Response(data, media_type=media_type(data), headers=digest_headers(data))


@router.get(
    "/{sha256}/thumbnail",
    summary="A photo's thumbnail (JPEG, label boxes drawn)",
    responses={200: {"content": {"image/jpeg": {}}, "description": "the thumbnail"},
               **errors(500)},
)
async def thumbnail(request: Request, who: AnyRole, sha256: Sha) -> Response:
    await _check_access(request, who, sha256)
    data = await asyncio.to_thread(checked_thumbnail_bytes, request.app.state.data_dir, sha256)
    headers = digest_headers(data)
    headers["X-Photo-SHA256"] = sha256
    headers["Cache-Control"] = "private, max-age=3600"  # a thumbnail may be remade
    return Response(data, media_type="image/jpeg", headers=headers)
