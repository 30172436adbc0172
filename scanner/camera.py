"""The OpenCV camera: a V4L2 device, an RTSP/HTTP stream, a video file, or a folder of images.

:class:`OpenCVCamera` implements :class:`custody.ports.Camera`. It opens the source lazily,
lets the sensor settle (auto-exposure and focus need a moment after opening), and on a
failed read closes, reopens and retries a few times before raising :class:`CameraError`:
a custody step needs its photo, so a camera that is gone stops the step with a clear
message instead of returning nothing.

Source strings (``camera.source`` in the station config, ``locker scan --camera``):

- ``"0"``, ``"1"``: a device index; ``"/dev/video0"``: a V4L2 device path;
- ``"rtsp://..."``, ``"http://..."``, ``"https://..."``: a network stream (FFmpeg);
- a directory: each capture returns its next image (sorted by name), for installation
  checks and tests; a video file: its frames in turn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from custody.ports import CapturedImage, Clock, SystemClock
from scanner.decoders import Image
from scanner.errors import CameraError, EmptyFrameError, ImageDecodeError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def encode_frame(frame: Image, media_type: str = "image/jpeg", quality: int = 92) -> bytes:
    """Encode a frame as JPEG or PNG bytes (the form photos are stored and hashed in)."""
    if frame.size == 0:
        raise EmptyFrameError(f"empty frame: shape {tuple(frame.shape)}")
    if media_type == "image/jpeg":
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    elif media_type == "image/png":
        ok, buf = cv2.imencode(".png", frame)
    else:
        raise ValueError(f"unsupported media type {media_type!r}: image/jpeg or image/png")
    if not ok:
        raise ImageDecodeError(f"OpenCV could not encode the frame as {media_type}")
    return bytes(buf.tobytes())


def captured(
    frame: Image, camera_id: str, clock: Clock, media_type: str = "image/jpeg"
) -> CapturedImage:
    """Wrap a raw frame as a :class:`CapturedImage` (encoded, stamped with the clock)."""
    data = encode_frame(frame, media_type)
    return CapturedImage(
        data=data,
        media_type=media_type,
        width=int(frame.shape[1]),
        height=int(frame.shape[0]),
        camera_id=camera_id,
        taken_at=clock.now(),
    )


class FolderCamera:
    """A folder of images as a camera: each capture returns the next file, sorted by name.

    With ``loop=False`` the camera is "gone" after the last image. Files are re-encoded
    only when their type is not JPEG or PNG, so stored photos keep the files' exact bytes.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        camera_id: str = "folder",
        loop: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.camera_id = camera_id
        self.loop = loop
        self.clock = clock or SystemClock()
        self._next = 0

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            raise CameraError(f"camera {self.camera_id!r}: folder {self.folder} is gone")
        return sorted(
            p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )

    def capture(self) -> CapturedImage:
        """The next image of the folder."""
        files = self._files()
        if not files:
            raise CameraError(f"camera {self.camera_id!r}: no images in {self.folder}")
        if self._next >= len(files):
            if not self.loop:
                raise CameraError(
                    f"camera {self.camera_id!r}: no more images in {self.folder} "
                    f"(all {len(files)} taken)"
                )
            self._next = 0
        path = files[self._next]
        self._next += 1
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CameraError(f"camera {self.camera_id!r}: cannot read {path}: {exc}") from exc
        frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if frame is None or frame.size == 0:
            raise CameraError(f"camera {self.camera_id!r}: {path} is not a readable image")
        suffix = path.suffix.lower()
        if suffix in (".jpg", ".jpeg", ".png"):
            media = "image/png" if suffix == ".png" else "image/jpeg"
            return CapturedImage(
                data=data,
                media_type=media,
                width=int(frame.shape[1]),
                height=int(frame.shape[0]),
                camera_id=self.camera_id,
                taken_at=self.clock.now(),
            )
        return captured(frame, self.camera_id, self.clock)


def _open_source(source: str) -> cv2.VideoCapture:
    if source.isdigit():
        return cv2.VideoCapture(int(source), cv2.CAP_V4L2)
    if source.startswith("/dev/video"):
        return cv2.VideoCapture(source, cv2.CAP_V4L2)
    return cv2.VideoCapture(source, cv2.CAP_FFMPEG)


class OpenCVCamera:
    """A camera read through ``cv2.VideoCapture``.

    ``settle_s``: after (re)opening, frames are read and dropped for this long, so
    auto-exposure settles. ``flush_frames``: frames dropped before each capture, because
    devices and streams buffer a few stale frames. ``retries``/``retry_delay_s``: on a
    failed read the source is reopened this many times before :class:`CameraError`.
    """

    def __init__(
        self,
        source: str | int,
        *,
        camera_id: str | None = None,
        width: int | None = None,
        height: int | None = None,
        settle_s: float = 0.5,
        flush_frames: int = 2,
        retries: int = 2,
        retry_delay_s: float = 0.5,
        media_type: str = "image/jpeg",
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = str(source)
        self.camera_id = camera_id or self.source
        self.width = width
        self.height = height
        self.settle_s = settle_s
        self.flush_frames = flush_frames
        self.retries = retries
        self.retry_delay_s = retry_delay_s
        self.media_type = media_type
        self.clock = clock or SystemClock()
        self._sleep = sleep
        self._cap: cv2.VideoCapture | None = None

    def _open(self) -> cv2.VideoCapture:
        cap = _open_source(self.source)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"camera {self.camera_id!r}: cannot open {self.source}")
        if self.width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        if self.height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        deadline = time.monotonic() + self.settle_s
        while time.monotonic() < deadline:
            if not cap.grab():
                break
        return cap

    def _read_once(self) -> Image:
        if self._cap is None:
            self._cap = self._open()
        cap = self._cap
        for _ in range(self.flush_frames):
            cap.grab()
        ok, frame = cap.read()
        if not ok or frame is None or frame.size == 0:
            raise CameraError(f"camera {self.camera_id!r}: no frame from {self.source}")
        return np.asarray(frame, dtype=np.uint8)

    def capture(self) -> CapturedImage:
        """One frame, encoded; raises :class:`CameraError` when the camera is gone."""
        last: CameraError | None = None
        for attempt in range(self.retries + 1):
            try:
                frame = self._read_once()
            except CameraError as exc:
                last = exc
                self.close()
                if attempt < self.retries:
                    self._sleep(self.retry_delay_s)
                continue
            return captured(frame, self.camera_id, self.clock, self.media_type)
        raise CameraError(
            f"{last} (after {self.retries + 1} attempts): the camera is gone or disconnected"
        )

    def close(self) -> None:
        """Release the device or stream (the next capture reopens it)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def open_camera(
    source: str,
    *,
    camera_id: str | None = None,
    clock: Clock | None = None,
    width: int | None = None,
    height: int | None = None,
    settle_s: float = 0.5,
    retries: int = 2,
) -> FolderCamera | OpenCVCamera:
    """The camera for a source string: a folder of images, or anything OpenCV opens."""
    path = Path(source)
    if path.is_dir():
        return FolderCamera(path, camera_id=camera_id or path.name, clock=clock)
    return OpenCVCamera(
        source,
        camera_id=camera_id,
        clock=clock,
        width=width,
        height=height,
        settle_s=settle_s,
        retries=retries,
    )
