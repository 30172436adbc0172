"""The photo store's derived files, checked against the verified photo before use.

A photo's bytes are evidence: their SHA-256 is in the ledger. Its sidecar
(``photos/<aa>/<sha>.json``) and thumbnail (``photos/thumbs/<sha>.jpg``) are not: anyone
with the disk could edit them, and a screen or a report shows the thumbnail beside the
verified hash. So nothing shows them without :func:`checked_thumbnail` /
:func:`checked_meta`, which:

1. read the photo through the store (its bytes checked against their hash);
2. check the sidecar against the photo: a JSON object whose ``media_type``, ``width`` and
   ``height`` are the photo's, whose boxes lie inside the picture, and each of whose
   ``labels`` is a valid item label that a fresh read of the photo *at its box* finds
   again. A sidecar that fails is set aside as ``<sha>.json.rejected`` (kept for
   investigation, never shown) and rebuilt from the photo alone: its size and type, the
   labels a fresh read of the whole photo finds, and a ``rebuilt`` note with the reason.
   What the photo cannot tell (time, camera, compartment) is not carried over: the
   ledger entry that references the photo is where those are recorded;
3. check the thumbnail: it must be exactly :func:`make_thumbnail` of the photo and the
   checked sidecar's boxes (a deterministic encoding); otherwise it is rebuilt.

A verdict is remembered per photo until either derived file changes on disk (its inode,
size or mtime), so a screen asking again costs a ``stat``, not a barcode read.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from custody.ports import LabelRead
from scanner.errors import PhotoNotFoundError, PhotoStoreError
from scanner.photostore import FilePhotoStore, label_boxes, make_thumbnail, read_to_json
from scanner.pipeline import LabelReader, check_reads

_MARGIN = 0.25  # of a box's size, added on each side before the box is read again
_verdicts: dict[tuple[str, str], tuple[object, object]] = {}
_lock = threading.Lock()
_reader: LabelReader | None = None


def _read(frame: np.ndarray[Any, Any]) -> list[LabelRead]:
    global _reader
    if _reader is None:
        _reader = LabelReader()
    return _reader.read_frame(frame)


def _media_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    return "application/octet-stream"


def _decode(data: bytes) -> np.ndarray[Any, Any]:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise PhotoStoreError("the stored photo cannot be decoded as an image")
    return img


def meta_problem(data: bytes, meta: object) -> str | None:
    """Why a sidecar does not match the (verified) photo ``data``; None when it does."""
    if not isinstance(meta, dict):
        return "the sidecar is not a JSON object"
    frame = _decode(data)
    height, width = frame.shape[:2]
    if meta.get("media_type") != _media_type(data):
        return f"media_type {meta.get('media_type')!r} is not the photo's {_media_type(data)}"
    if (meta.get("width"), meta.get("height")) != (width, height):
        return f"size {meta.get('width')}x{meta.get('height')} is not the photo's {width}x{height}"
    try:
        boxes = label_boxes(meta, "labels")
        others = label_boxes(meta, "other_reads")
    except PhotoStoreError as exc:
        return str(exc)
    for box in (*boxes, *others):
        if not all(0 <= x <= width and 0 <= y <= height for x, y in box):
            return f"box {box} lies outside the {width}x{height} photo"
    for entry, box in zip(meta["labels"], boxes, strict=True):
        text = entry.get("text")
        corners = (box[0], box[1], box[2], box[3])
        if not isinstance(text, str) or not check_reads([LabelRead(text, "", corners)]).valid:
            return f"label {text!r} is not a valid item label"
        xs, ys = [x for x, _ in box], [y for _, y in box]
        mx = int((max(xs) - min(xs)) * _MARGIN) + 8
        my = int((max(ys) - min(ys)) * _MARGIN) + 8
        crop = frame[max(0, min(ys) - my): max(ys) + my, max(0, min(xs) - mx): max(xs) + mx]
        if not any(r.text == text for r in _read(crop)):
            return f"label {text!r} is not in the photo at {box}"
    return None


def rebuilt_meta(data: bytes, reason: str) -> dict[str, object]:
    """A sidecar made from the photo alone (see the module docstring)."""
    frame = _decode(data)
    scan = check_reads(_read(frame))
    return {
        "media_type": _media_type(data),
        "width": int(frame.shape[1]),
        "height": int(frame.shape[0]),
        "labels": [read_to_json(r) for _, r in scan.valid],
        "other_reads": [dict(read_to_json(r.read), reason=r.reason) for r in scan.rejected],
        "rebuilt": {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "reason": reason,
        },
    }


def _replace(path: Path, content: bytes) -> None:
    """Write a derived file atomically over whatever is there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _stamp(path: Path) -> object:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _check(store: FilePhotoStore, sha256: str) -> tuple[dict[str, object], bytes]:
    """The checked (or rebuilt) sidecar and thumbnail of one photo."""
    data = store.get(sha256)  # raises when the photo is missing or does not match its hash
    meta_path, thumb_path = store.meta_path(sha256), store.thumb_path(sha256)
    try:
        meta: object = json.loads(meta_path.read_text("utf-8"))
        problem = meta_problem(data, meta)
    except FileNotFoundError:
        problem = "the sidecar is missing"
    except (ValueError, UnicodeDecodeError) as exc:
        problem = f"the sidecar is not JSON ({exc})"
    if problem is not None:
        if meta_path.exists():
            os.replace(meta_path, meta_path.with_name(meta_path.name + ".rejected"))
        meta = rebuilt_meta(data, problem)
        _replace(meta_path, json.dumps(meta, sort_keys=True, indent=1).encode("utf-8"))
    assert isinstance(meta, dict)
    thumb = make_thumbnail(data, label_boxes(meta, "labels"), label_boxes(meta, "other_reads"))
    try:
        stored = thumb_path.read_bytes()
    except FileNotFoundError:
        stored = b""
    if stored != thumb:
        _replace(thumb_path, thumb)
    return meta, thumb


def _checked(store: FilePhotoStore, sha256: str) -> tuple[dict[str, object], bytes]:
    key = (str(store.root), sha256)
    meta_path, thumb_path = store.meta_path(sha256), store.thumb_path(sha256)
    with _lock:
        seen = _verdicts.get(key)
    if seen is not None and seen == (_stamp(meta_path), _stamp(thumb_path)):
        try:
            meta = json.loads(meta_path.read_text("utf-8"))
            return meta, thumb_path.read_bytes()
        except (OSError, ValueError):
            pass  # changed between the stat and the read: check again
    meta, thumb = _check(store, sha256)
    with _lock:
        _verdicts[key] = (_stamp(meta_path), _stamp(thumb_path))
    return meta, thumb


def checked_thumbnail(store: FilePhotoStore, sha256: str) -> bytes:
    """The photo's thumbnail, made to match the verified photo and its checked sidecar.
    Raises :class:`PhotoNotFoundError` when the photo is absent, :class:`PhotoStoreError`
    when its bytes no longer match their hash (then nothing is shown)."""
    return _checked(store, sha256)[1]


def checked_meta(store: FilePhotoStore, sha256: str) -> Mapping[str, object]:
    """The photo's sidecar, checked against the verified photo (or rebuilt from it)."""
    return _checked(store, sha256)[0]


__all__ = ["PhotoNotFoundError", "checked_meta", "checked_thumbnail", "meta_problem"]
