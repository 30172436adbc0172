"""Content-addressed photo store: ``photos/<aa>/<sha256>`` plus metadata and a thumbnail.

Layout under the station data directory (``docs/data-dir.md``)::

    photos/<aa>/<sha256>        the photo's exact bytes (aa = first two hex digits)
    photos/<aa>/<sha256>.json   metadata: time, camera, compartment, labels read, boxes
    photos/thumbs/<sha256>.jpg  a small JPEG with the label boxes drawn

The sidecar and the thumbnail are derived files, not evidence: whatever shows them gets
them through :mod:`scanner.derived`, which checks them against the verified photo first
and rebuilds them from it when they do not match.

A photo is never overwritten: files are written to a temporary name, fsynced, then
hard-linked into place (which fails if the name exists) and the directory fsynced. Putting
identical bytes again is idempotent and completes a put interrupted by a crash (missing
metadata or thumbnail). Bytes that are not a decodable image are refused before anything
is written. The ledger entry of a custody step records :class:`PhotoRef` (hash and size).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from custody.ports import CapturedImage, LabelRead, PhotoRef
from scanner.errors import (
    ImageDecodeError,
    PhotoNotFoundError,
    PhotoStoreError,
    PhotoStoreFullError,
)
from scanner.pipeline import check_reads, decode_image

THUMB_MAX_SIDE = 320
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def photo_meta(
    image: CapturedImage,
    reads: Sequence[LabelRead],
    *,
    compartment: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The metadata the store keeps for a captured photo and the barcodes read in it.

    ``labels`` holds only valid item labels (right check character); every other read
    goes to ``other_reads`` with the reason, so no photo is ever filed under a misread.
    """
    scan = check_reads(reads)
    meta: dict[str, object] = {
        "time": image.taken_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "camera": image.camera_id,
        "compartment": compartment,
        "media_type": image.media_type,
        "width": image.width,
        "height": image.height,
        "labels": [read_to_json(r) for _, r in scan.valid],
        "other_reads": [dict(read_to_json(r.read), reason=r.reason) for r in scan.rejected],
    }
    if extra:
        meta.update(extra)
    return meta


def read_to_json(read: LabelRead) -> dict[str, object]:
    """A label read as JSON: ``{text, format, box}`` with the box as four ``[x, y]``."""
    return {"text": read.text, "format": read.format, "box": [list(p) for p in read.box]}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(path: Path, data: bytes) -> bool:
    """Write ``data`` at ``path`` atomically unless it exists; True when it was written.
    On any failure (a full disk) the temporary file is removed and ``path`` is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # unlike rename, link never replaces an existing file
            written = True
        except FileExistsError:
            written = False
    finally:
        tmp.unlink(missing_ok=True)
    if written:
        _fsync_dir(path.parent)
    return written


def label_boxes(meta: Mapping[str, object], key: str) -> list[list[tuple[int, int]]]:
    """The four-corner boxes of a sidecar's ``labels`` or ``other_reads``; raises
    :class:`PhotoStoreError` for a list or box of the wrong shape."""
    labels = meta.get(key, [])
    boxes: list[list[tuple[int, int]]] = []
    if not isinstance(labels, list):
        raise PhotoStoreError(f"photo metadata {key!r} must be a list of {{text, format, box}}")
    for entry in labels:
        box = entry.get("box") if isinstance(entry, dict) else None
        try:
            points = [(int(x), int(y)) for x, y in box]  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise PhotoStoreError(f"photo metadata label {entry!r} has no valid box") from None
        if len(points) != 4:
            raise PhotoStoreError(f"photo metadata label {entry!r}: a box has 4 corners")
        boxes.append(points)
    return boxes


def make_thumbnail(
    data: bytes,
    boxes: Sequence[Sequence[tuple[int, int]]],
    other_boxes: Sequence[Sequence[tuple[int, int]]] = (),
) -> bytes:
    """A JPEG at most ``THUMB_MAX_SIDE`` px on its longer side: valid labels' boxes drawn in
    green, other reads (not a label, wrong check character) in red."""
    buf = np.frombuffer(data, np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR) if data else None
    if img is None:
        decode_image(data)  # raises the precise error (empty or corrupt)
        raise ImageDecodeError("cannot decode the photo for its thumbnail")
    scale = min(1.0, THUMB_MAX_SIDE / max(img.shape[0], img.shape[1]))
    if scale < 1.0:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    for colour, group in (((0, 0, 220), other_boxes), ((0, 200, 0), boxes)):
        for box in group:
            pts = np.array([[round(x * scale), round(y * scale)] for x, y in box], np.int32)
            cv2.polylines(img, [pts.reshape(-1, 1, 2)], True, colour, 2)
    ok, out = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise PhotoStoreError("OpenCV could not encode the thumbnail")
    return bytes(out.tobytes())


class FilePhotoStore:
    """The photo store of one data directory (:class:`custody.ports.PhotoStore`)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir) / "photos"

    def path(self, sha256: str) -> Path:
        """Where the photo's bytes live (whether or not they exist yet)."""
        if not _HEX64.match(sha256):
            raise PhotoNotFoundError(f"{sha256!r} is not a SHA-256 in lowercase hex")
        return self.root / sha256[:2] / sha256

    def meta_path(self, sha256: str) -> Path:
        return self.path(sha256).with_name(f"{sha256}.json")

    def thumb_path(self, sha256: str) -> Path:
        self.path(sha256)  # validates the hash
        return self.root / "thumbs" / f"{sha256}.jpg"

    def put(self, data: bytes, meta: Mapping[str, object]) -> PhotoRef:
        """Store the photo, its metadata and thumbnail; idempotent for identical bytes."""
        try:
            meta_bytes = json.dumps(dict(meta), sort_keys=True, indent=1).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise PhotoStoreError(f"photo metadata is not JSON: {exc}") from exc
        # Building the thumbnail validates the image and the boxes before anything is written.
        thumb = make_thumbnail(data, label_boxes(meta, "labels"), label_boxes(meta, "other_reads"))
        sha = hashlib.sha256(data).hexdigest()
        ref = PhotoRef(sha256=sha, bytes=len(data))
        path = self.path(sha)
        made: list[Path] = []  # what this put created, removed again if it cannot finish
        try:
            if _write_new(path, data):
                made.append(path)
            elif path.read_bytes() != data:
                raise PhotoStoreError(
                    f"photo store damaged: {path} does not hold the bytes its name hashes"
                )
            for part, content in ((self.meta_path(sha), meta_bytes), (self.thumb_path(sha), thumb)):
                if _write_new(part, content):
                    made.append(part)
        except OSError as exc:
            for done in reversed(made):
                done.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise PhotoStoreFullError(
                    f"disk full: photo {sha} was not stored (nothing of it is kept); free "
                    "some space and take it again"
                ) from exc
            raise PhotoStoreError(f"cannot store photo {sha}: {exc}") from exc
        return ref

    def get(self, sha256: str) -> bytes:
        """The photo's bytes, checked against their hash."""
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise PhotoNotFoundError(f"no photo {sha256} in {self.root}") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise PhotoStoreError(f"photo {sha256} is damaged: its bytes no longer match")
        return data

    def meta(self, sha256: str) -> dict[str, object]:
        """The metadata stored with the photo."""
        try:
            loaded = json.loads(self.meta_path(sha256).read_text("utf-8"))
        except FileNotFoundError:
            raise PhotoNotFoundError(f"no metadata for photo {sha256} in {self.root}") from None
        if not isinstance(loaded, dict):
            raise PhotoStoreError(f"metadata of photo {sha256} is not a JSON object")
        return loaded

    def exists(self, sha256: str) -> bool:
        """True when the photo's bytes are in the store."""
        return self.path(sha256).is_file()
