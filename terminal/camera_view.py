"""The live camera view: the latest frame with every label read in it boxed.

The handover and return screens refresh ``camera.jpg`` every ``camera_refresh_ms``; each
refresh takes one frame, reads its labels and draws each one's box (green: a valid label,
red: a barcode that is not a valid label, e.g. a wrong check character) with its text, then
scales the frame down for the screen. A refresh that arrives while a frame is being made
gets that frame (so two screens or a fast poll never queue up captures).

Frames come from the step service's camera (one capture at a time, shared with the steps'
photos), so the live view never competes with a step for the camera.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import cv2
import numpy as np

from custody.labels import LabelError, parse_label
from custody.ports import CapturedImage, LabelRead

VIEW_WIDTH = 640


@dataclass(frozen=True)
class Shot:
    """One captured frame and the labels read in it."""

    image: CapturedImage
    reads: tuple[LabelRead, ...]


def draw_boxes(data: bytes, reads: tuple[LabelRead, ...], width: int = VIEW_WIDTH) -> bytes:
    """The frame scaled to ``width`` px with each read's box and text drawn, as JPEG."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("the camera frame cannot be decoded")
    scale = min(1.0, width / img.shape[1])
    if scale < 1.0:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    for read in reads:
        try:
            parse_label(read.text)
            colour = (40, 180, 40)
        except LabelError:
            colour = (30, 30, 220)
        pts = np.array([[round(x * scale), round(y * scale)] for x, y in read.box], np.int32)
        cv2.polylines(img, [pts.reshape(-1, 1, 2)], True, colour, 3)
        x = int(pts[:, 0].min())
        y = max(18, int(pts[:, 1].min()) - 8)
        cv2.putText(img, read.text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, colour, 2,
                    cv2.LINE_AA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("cannot encode the camera view")
    return bytes(buf.tobytes())


class CameraView:
    """The live view over the step service's camera (``shoot``: one capture at a time)."""

    def __init__(self, shoot: Callable[[], Awaitable[Shot]]) -> None:
        self._shoot = shoot
        self._pending: asyncio.Task[tuple[bytes, tuple[LabelRead, ...]]] | None = None

    async def photograph(self) -> Shot:
        """Take one photo now and read its labels (raises the camera's error if it is gone)."""
        return await self._shoot()

    async def _view(self) -> tuple[bytes, tuple[LabelRead, ...]]:
        shot = await self.photograph()
        jpeg = await asyncio.to_thread(draw_boxes, shot.image.data, shot.reads)
        return jpeg, shot.reads

    async def live_frame(self) -> tuple[bytes, tuple[LabelRead, ...]]:
        """The boxed view of a fresh frame (shared with a refresh already under way)."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self._view())
        return await asyncio.shield(self._pending)
