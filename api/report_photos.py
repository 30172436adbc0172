"""Photos as a report shows them: checked against their hash, scaled to read the label.

A report's photo must let a reader make out the label in it, so it is the photo itself,
scaled down to at most :data:`MAX_WIDTH` pixels (a 1280-pixel camera frame keeps its label
legible at that width) and re-encoded as JPEG, not the store's 320-pixel thumbnail. The
photo's bytes are checked against its SHA-256 first: a photo that does not match is not
shown, and the report says why.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import cv2
import numpy as np

from api.routes_photos import photo_path

MAX_WIDTH = 960
JPEG_QUALITY = 82


def scaled_jpeg(data: bytes, max_width: int = MAX_WIDTH) -> bytes:
    """The image scaled to at most ``max_width`` pixels wide, as JPEG (unchanged bytes when
    it is already a JPEG that small)."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("not an image")
    h, w = img.shape[:2]
    if w <= max_width and data.startswith(b"\xff\xd8"):
        return data
    if w > max_width:
        img = cv2.resize(img, (max_width, round(h * max_width / w)),
                         interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("cannot encode the image")
    return bytes(buf.tobytes())


def report_image(data_dir: Path, sha256: str, size: int) -> tuple[str | None, str]:
    """``(data: URI, "")`` for an intact photo, or ``(None, problem key)``: the words for
    ``photo_missing`` / ``photo_mismatch`` are in :mod:`api.report_i18n`."""
    try:
        data = photo_path(data_dir, sha256).read_bytes()
    except (FileNotFoundError, ValueError):
        return None, "photo_missing"
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        return None, "photo_mismatch"
    try:
        jpeg = scaled_jpeg(data)
    except ValueError:
        return None, "photo_mismatch"
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode(), ""
