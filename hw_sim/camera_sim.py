"""A simulated camera that photographs labelled case files and exhibits.

:class:`SimulatedCamera` implements :class:`custody.ports.Camera`. Its *scene* says which
labels are in front of it (``show("E2026-000123-K")`` is a clerk holding that exhibit up);
each capture renders the item(s) with their barcode label (Code128, QR or DataMatrix,
written by zxing-cpp) onto a desk, under realistic trouble: in-plane rotation, perspective,
blur, sensor noise, glare, low light and a thumb over part of the label. Rendering is
deterministic: frame ``i`` of a camera with seed ``s`` is always the same image.
``vanish()`` makes the camera disappear (every capture then raises ``CameraError``), also
in the middle of a capture sequence (``vanish(after=n)``).

:func:`generate_frames` produces a labelled test set (frames plus the truth: text, format
and corners of every label) for the scanner's tests and benchmark.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

from custody.labels import make_label
from custody.ports import CapturedImage, Clock, Point, SystemClock
from scanner.camera import captured
from scanner.errors import CameraError

Frame = NDArray[np.uint8]
FORMATS: tuple[str, ...] = ("Code128", "QRCode", "DataMatrix")


@dataclass(frozen=True)
class SceneLabel:
    """One labelled item in view: the label's text and the symbology it is printed in."""

    text: str
    format: str = "Code128"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown symbology {self.format!r}: one of {', '.join(FORMATS)}")


@dataclass(frozen=True)
class Trouble:
    """How hard the scene is. Each capture draws its own values up to these limits."""

    rotation_deg: float = 30.0  # max in-plane rotation either way
    perspective: float = 0.10  # max corner displacement, as a fraction of the item size
    blur_sigma: float = 1.6  # max Gaussian blur (defocus), pixels at 1920 px width
    motion_blur_prob: float = 0.15  # chance of a short motion streak instead of defocus
    noise_sigma: float = 8.0  # max sensor noise (grey levels)
    glare_prob: float = 0.3  # chance of a specular highlight on the item
    low_light_prob: float = 0.25  # chance of an underexposed frame
    occlusion_prob: float = 0.2  # chance of a thumb covering part of a label
    occlusion_max: float = 0.22  # max fraction of the label's width covered
    label_scale: tuple[float, float] = (0.20, 0.34)  # barcode width / frame width

    @classmethod
    def clean(cls) -> Trouble:
        """A well-lit, square-on, sharp label (for tests of everything but the reader)."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class LabelTruth:
    """Where a label really is in a rendered frame."""

    text: str
    format: str
    box: tuple[Point, Point, Point, Point]
    occluded: bool


def _barcode(text: str, fmt: str, module_px: int) -> Frame:
    """The barcode as black on white, with its quiet zone, ``module_px`` per module."""
    code = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
    img: Frame = np.asarray(zxingcpp.write_barcode_to_image(code, scale=1), dtype=np.uint8)
    if fmt == "DataMatrix":  # zxing-cpp writes DataMatrix without its quiet zone
        img = np.asarray(cv2.copyMakeBorder(img, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=255))
    if fmt == "Code128":
        img = np.repeat(img[:1, :], max(1, img.shape[1] // 4), axis=0)
    return cv2.resize(
        img, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST
    ).astype(np.uint8)


def _sticker(label: SceneLabel, module_px: int) -> tuple[Frame, tuple[int, int, int, int]]:
    """A white sticker: barcode plus the human-readable text; returns the barcode's rect."""
    code = _barcode(label.text, label.format, module_px)
    h, w = code.shape
    font_scale = max(0.5, w / 420.0)
    (tw, th), base = cv2.getTextSize(label.text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 2)
    pad = max(8, module_px * 4)
    sw = max(w, tw) + 2 * pad
    sh = h + th + base + 3 * pad
    sticker = np.full((sh, sw), 250, np.uint8)
    x0 = (sw - w) // 2
    sticker[pad : pad + h, x0 : x0 + w] = code
    cv2.putText(
        sticker,
        label.text,
        ((sw - tw) // 2, pad + h + pad + th),
        cv2.FONT_HERSHEY_SIMPLEX,
        font_scale,
        30,
        2,
        cv2.LINE_AA,
    )
    return sticker, (x0, pad, w, h)


def _module_px(label: SceneLabel, target_width: float) -> int:
    modules = int(_barcode(label.text, label.format, 1).shape[1])
    return max(1, round(target_width / modules))


def _background(rng: np.random.Generator, width: int, height: int) -> Frame:
    """A desk: one muted colour, a smooth shading gradient and wood-like grain streaks."""
    base = rng.uniform(60, 160)
    shade = rng.normal(base, 14, size=(5, 8)).astype(np.float32)
    grain = rng.normal(0, 5, size=(max(1, height // 6), 1)).astype(np.float32)
    light = cv2.resize(shade, (width, height), interpolation=cv2.INTER_LINEAR)
    light = light + np.asarray(
        cv2.resize(grain, (width, height), interpolation=cv2.INTER_LINEAR), np.float32
    )
    grey = np.clip(light, 0, 255).astype(np.uint8)
    tint = rng.uniform(-25, 25, size=3)
    ramp = np.arange(256, dtype=np.float64)
    channels = [cv2.LUT(grey, np.clip(ramp + t, 0, 255).astype(np.uint8)) for t in tint]
    return np.asarray(cv2.merge(channels), np.uint8)


def _item(
    rng: np.random.Generator, label: SceneLabel, module_px: int, occlude: float
) -> tuple[Frame, NDArray[np.float64], bool]:
    """The item (manila folder or exhibit bag) carrying its sticker, and the barcode corners."""
    sticker, (bx, by, bw, bh) = _sticker(label, module_px)
    sh, sw = sticker.shape
    exhibit = label.text.startswith("E")
    iw = int(sw * rng.uniform(1.3, 1.8))
    ih = int(sh * rng.uniform(1.6, 2.6)) if not exhibit else int(sh * rng.uniform(1.3, 1.9))
    colour = (
        rng.uniform([150, 190, 210], [180, 215, 235])  # manila folder (BGR)
        if not exhibit
        else np.full(3, rng.uniform(175, 225))  # evidence bag (grey-white)
    )
    item = np.empty((ih, iw, 3), np.uint8)
    item[:] = colour.astype(np.uint8)
    ox = int(rng.uniform(0.1, 0.9) * (iw - sw))
    oy = int(rng.uniform(0.1, 0.9) * (ih - sh))
    item[oy : oy + sh, ox : ox + sw] = sticker[:, :, None]
    cv2.rectangle(item, (0, 0), (iw - 1, ih - 1), (60, 60, 60), 2)
    corners = np.array(
        [
            [ox + bx, oy + by],
            [ox + bx + bw, oy + by],
            [ox + bx + bw, oy + by + bh],
            [ox + bx, oy + by + bh],
        ],
        dtype=np.float64,
    )
    occluded = False
    if occlude > 0:
        # A thumb from the left or right edge over part of the barcode.
        reach = int(bw * occlude)
        cy = int(oy + by + rng.uniform(0.2, 0.8) * bh)
        ry = int(bh * rng.uniform(0.35, 0.7))
        cx = ox + bx if rng.random() < 0.5 else ox + bx + bw
        skin = tuple(int(v) for v in rng.uniform([90, 120, 170], [130, 160, 215]))
        cv2.ellipse(item, (cx, cy), (reach, ry), 0, 0, 360, skin, -1, cv2.LINE_AA)
        occluded = True
    return item, corners, occluded


def _place(
    rng: np.random.Generator,
    frame: Frame,
    item: Frame,
    corners: NDArray[np.float64],
    centre: tuple[float, float],
    scale: float,
    trouble: Trouble,
) -> NDArray[np.float64]:
    """Warp the item into the frame around ``centre``; returns the barcode corners there."""
    ih, iw = item.shape[:2]
    angle = math.radians(rng.uniform(-trouble.rotation_deg, trouble.rotation_deg))
    src = np.array([[0, 0], [iw, 0], [iw, ih], [0, ih]], dtype=np.float32)
    half = np.array([[-iw, -ih], [iw, -ih], [iw, ih], [-iw, ih]], dtype=np.float64) * scale / 2
    jitter = rng.uniform(-1, 1, size=(4, 2)) * trouble.perspective * scale * max(iw, ih) / 2
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    dst = (half + jitter) @ rot.T + np.array(centre)
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    h, w = frame.shape[:2]
    warped = cv2.warpPerspective(item, m, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((ih, iw), 255, np.uint8), m, (w, h))
    # A soft shadow under the item makes it sit on the desk (drawn at quarter size: cheap).
    small = cv2.resize(mask, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    shadow = cv2.resize(cv2.GaussianBlur(small, (0, 0), 2), (w, h)) // 3
    cv2.subtract(frame, cv2.merge([shadow, shadow, shadow]), dst=frame)
    cv2.copyTo(warped, mask, frame)
    pts = cv2.perspectiveTransform(corners.reshape(-1, 1, 2).astype(np.float32), m)
    return pts.reshape(4, 2).astype(np.float64)


def _trouble(rng: np.random.Generator, frame: Frame, trouble: Trouble) -> Frame:
    """Glare, low light, blur and noise on the whole frame (saturating 8-bit arithmetic)."""
    h, w = frame.shape[:2]
    img: Frame = frame
    if rng.random() < trouble.glare_prob:
        # A specular highlight, computed at 1/8 size: it is smooth anyway.
        sw, sh = max(1, w // 8), max(1, h // 8)
        gx, gy = rng.uniform(0.25, 0.75) * sw, rng.uniform(0.25, 0.75) * sh
        radius = rng.uniform(0.04, 0.12) * sw
        yy, xx = np.ogrid[:sh, :sw]
        blob = np.exp(-(((xx - gx) ** 2 + ((yy - gy) * 1.6) ** 2) / (2 * radius**2)))
        glare = cv2.resize((rng.uniform(120, 230) * blob).astype(np.uint8), (w, h))
        img = np.asarray(cv2.add(img, cv2.merge([glare, glare, glare])), np.uint8)
    if rng.random() < trouble.low_light_prob:
        img = np.asarray(cv2.convertScaleAbs(img, alpha=rng.uniform(0.18, 0.45)), np.uint8)
    px_scale = w / 1920.0
    if rng.random() < trouble.motion_blur_prob:
        length = max(2, int(rng.uniform(3, 9) * px_scale))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
        kernel = np.asarray(cv2.warpAffine(kernel, rot, (length, length)), np.float32)
        img = np.asarray(
            cv2.filter2D(img, -1, kernel / max(float(kernel.sum()), 1e-6)), np.uint8
        )
    elif trouble.blur_sigma > 0:
        sigma = rng.uniform(0.3, trouble.blur_sigma) * px_scale
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), sigma), np.uint8)
    if trouble.noise_sigma > 0:
        sigma = rng.uniform(1.0, trouble.noise_sigma)
        # Noise is drawn at half resolution and upscaled: sensor noise is a little blotchy
        # after demosaicing, and it is 4x cheaper to draw.
        small = rng.standard_normal(size=(h // 2 + 1, w // 2 + 1), dtype=np.float32) * sigma
        noise = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        noisy = cv2.add(img, cv2.merge([noise, noise, noise]), dtype=cv2.CV_16S)
        img = np.asarray(cv2.convertScaleAbs(noisy), np.uint8)
    return img


def render_scene(
    labels: Sequence[SceneLabel],
    rng: np.random.Generator,
    *,
    width: int = 1920,
    height: int = 1080,
    trouble: Trouble | None = None,
) -> tuple[Frame, list[LabelTruth]]:
    """Render one BGR frame with the labelled items in view and return the truth."""
    t = trouble or Trouble()
    frame = _background(rng, width, height)
    truths: list[LabelTruth] = []
    n = len(labels)
    for i, label in enumerate(labels):
        target = rng.uniform(*t.label_scale) * width / max(1, n) ** 0.5
        module = _module_px(label, target)
        occlude = rng.uniform(0.08, t.occlusion_max) if rng.random() < t.occlusion_prob else 0.0
        item, corners, occluded = _item(rng, label, module, occlude)
        fit = min(0.9 * width / max(1, n) / item.shape[1], 0.9 * height / item.shape[0])
        scale = min(1.0, fit)
        slot = width / max(1, n)
        centre = (
            slot * (i + 0.5) + rng.uniform(-0.05, 0.05) * slot,
            height * rng.uniform(0.45, 0.55),
        )
        pts = _place(rng, frame, item, corners, centre, scale, t)
        box = tuple((round(float(x)), round(float(y))) for x, y in pts)
        truths.append(
            LabelTruth(label.text, label.format, (box[0], box[1], box[2], box[3]), occluded)
        )
    return _trouble(rng, frame, t), truths


@dataclass(frozen=True)
class SimFrame:
    """One generated frame with the labels it shows."""

    index: int
    frame: Frame
    truths: tuple[LabelTruth, ...]


def random_label(rng: np.random.Generator) -> str:
    """A valid label (right check character) for a case file or an exhibit."""
    kind = "exhibit" if rng.random() < 0.5 else "case_file"
    return make_label(kind, int(rng.integers(2020, 2031)), int(rng.integers(0, 1_000_000))).text


def generate_frames(
    count: int,
    *,
    seed: int = 0,
    formats: Sequence[str] = FORMATS,
    width: int = 1920,
    height: int = 1080,
    trouble: Trouble | None = None,
    two_label_share: float = 0.15,
) -> Iterator[SimFrame]:
    """``count`` frames cycling through ``formats``; some show two labels. Deterministic."""
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        fmt = formats[i % len(formats)]
        n = 2 if rng.random() < two_label_share else 1
        labels = [SceneLabel(random_label(rng), fmt) for _ in range(n)]
        frame, truths = render_scene(labels, rng, width=width, height=height, trouble=trouble)
        yield SimFrame(i, frame, tuple(truths))


class SimulatedCamera:
    """A camera in front of which the simulation holds labelled items.

    ``show(...)`` sets what is in view (label texts, or :class:`SceneLabel` to choose the
    symbology; plain texts are printed as ``default_format``); ``clear()`` empties the
    view (the camera then sees the bare desk). ``vanish(after=n)`` lets ``n`` more
    captures succeed and then makes the camera gone until ``restore()``.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        width: int = 1920,
        height: int = 1080,
        camera_id: str = "sim-camera",
        trouble: Trouble | None = None,
        default_format: str = "Code128",
        media_type: str = "image/jpeg",
        clock: Clock | None = None,
    ) -> None:
        self.seed = seed
        self.width = width
        self.height = height
        self.camera_id = camera_id
        self.trouble = trouble or Trouble()
        self.default_format = default_format
        self.media_type = media_type
        self.clock = clock or SystemClock()
        self.captures = 0
        self._scene: tuple[SceneLabel, ...] = ()
        self._remaining: int | None = None
        self.last_truth: tuple[LabelTruth, ...] = ()

    @property
    def scene(self) -> tuple[SceneLabel, ...]:
        """The labels currently in view."""
        return self._scene

    def show(self, *labels: SceneLabel | str) -> None:
        """Hold these labelled items in front of the camera (replacing what was there)."""
        self._scene = tuple(
            lbl if isinstance(lbl, SceneLabel) else SceneLabel(lbl, self.default_format)
            for lbl in labels
        )

    def clear(self) -> None:
        """Take every item away: the camera sees the empty desk."""
        self._scene = ()

    def vanish(self, after: int = 0) -> None:
        """The camera disappears after ``after`` more successful captures."""
        self._remaining = after

    def restore(self) -> None:
        """The camera is back (plugged in again)."""
        self._remaining = None

    def with_trouble(self, trouble: Trouble) -> SimulatedCamera:
        """A camera like this one with other trouble limits (same seed and scene)."""
        cam = SimulatedCamera(
            seed=self.seed,
            width=self.width,
            height=self.height,
            camera_id=self.camera_id,
            trouble=replace(trouble),
            default_format=self.default_format,
            media_type=self.media_type,
            clock=self.clock,
        )
        cam.show(*self._scene)
        return cam

    def render(self) -> tuple[Frame, list[LabelTruth]]:
        """Render the next frame without encoding it (counts as a capture)."""
        if self._remaining is not None:
            if self._remaining <= 0:
                raise CameraError(
                    f"camera {self.camera_id!r} is gone: no frame after capture "
                    f"{self.captures} (disconnected)"
                )
            self._remaining -= 1
        rng = np.random.default_rng([self.seed, self.captures])
        self.captures += 1
        frame, truths = render_scene(
            self._scene, rng, width=self.width, height=self.height, trouble=self.trouble
        )
        self.last_truth = tuple(truths)
        return frame, truths

    def capture(self) -> CapturedImage:
        """Photograph what is in view now."""
        frame, _ = self.render()
        return captured(frame, self.camera_id, self.clock, self.media_type)
