"""The project's barcode reader: raw decoders plus preprocessing, chosen by measurement.

:class:`LabelReader` implements :class:`custody.ports.BarcodeReader`. Every frame gets
zxing-cpp on the whole frame (label symbologies, upright dark-on-light scan: fast) and on
each tilted 1-D barcode region, cropped and rotated upright (``deskew``): the raw decoders
scan 1-D codes along rows, so a Code128 tilted by more than ~10 degrees is otherwise lost.
Only when nothing was read do the fallbacks run, in order: ZBar, zxing-cpp after contrast
equalisation (CLAHE), after 2x upscaling (small images), and zxing-cpp trying rotations
and inverted codes. Which passes, and in what order, was decided by ``bench/scanner.py`` on
the shared zxing corpus and on simulated-camera frames; ``docs/scanner.md`` has the table.

:func:`read_labels` then checks every read against the label scheme
(:func:`custody.labels.parse_label`): valid labels, reads that are not labels at all, and
labels with a wrong check character come back separated, so a misread can never name an item.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from custody.labels import Label, LabelError, parse_label
from custody.ports import LabelRead
from scanner.decoders import LABEL_FORMATS, Box, Decoder, Image, PyZbarDecoder, ZXingDecoder
from scanner.errors import EmptyFrameError, ImageDecodeError, LabelScanError

# OpenCV logs its own complaint about unreadable files on stderr; we raise a clear error
# instead, so its log is silenced.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def decode_image(data: bytes) -> Image:
    """Decode encoded image bytes (PNG, JPEG, WebP, ...) to 8-bit grayscale.

    Raises :class:`EmptyFrameError` for zero bytes or a zero-sized image and
    :class:`ImageDecodeError` for bytes OpenCV cannot decode.
    """
    if not data:
        raise EmptyFrameError("empty frame: the image has 0 bytes")
    buf = np.frombuffer(data, dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ImageDecodeError(
            f"cannot decode image ({len(data)} bytes, starts {data[:8]!r}): "
            "corrupt or not PNG/JPEG/WebP"
        )
    return as_gray(img)


def as_gray(frame: Image) -> Image:
    """A frame as 8-bit grayscale; raises :class:`EmptyFrameError` when it has no pixels."""
    if frame.size == 0 or frame.ndim < 2 or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise EmptyFrameError(f"empty frame: shape {tuple(frame.shape)}")
    if frame.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        frame = cv2.cvtColor(frame, code)
    if frame.dtype != np.uint8:
        # 16-bit or float frames: stretch to 0..255 rather than clip.
        lo, hi = float(frame.min()), float(frame.max())
        frame = ((frame - lo) * (255.0 / max(hi - lo, 1e-9))).astype(np.uint8)
    return np.ascontiguousarray(frame)


# --------------------------------------------------------------------------- preprocessing

# A preprocessed view: the image handed to a decoder and the 2x3 affine matrix that maps
# its pixel coordinates back to the frame's.
View = tuple[Image, NDArray[np.float64]]
_IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _scaled(img: Image, factor: float, interpolation: int) -> View:
    out = np.asarray(cv2.resize(img, None, fx=factor, fy=factor, interpolation=interpolation))
    return out, np.array([[1.0 / factor, 0.0, 0.0], [0.0, 1.0 / factor, 0.0]])


def _identity(img: Image) -> list[View]:
    return [(img, _IDENTITY)]


def _clahe(img: Image) -> list[View]:
    # Local contrast: lifts labels out of low light and next to glare.
    return [(np.asarray(cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(img)), _IDENTITY)]


def _sharpen(img: Image) -> list[View]:
    blurred = cv2.GaussianBlur(img, (0, 0), 2.0)
    return [(np.asarray(cv2.addWeighted(img, 1.8, blurred, -0.8, 0)), _IDENTITY)]


def _upscale(img: Image) -> list[View]:
    # Small images (corpus crops, thumbnails): modules of 1-2 px read better at twice the
    # size. Camera frames are not upscaled: the cost quadruples for little gain.
    if max(img.shape) > 1400:
        return []
    return [_scaled(img, 2.0, cv2.INTER_CUBIC)]


def _downscale(img: Image) -> list[View]:
    if max(img.shape) < 800:
        return []
    return [_scaled(img, 0.5, cv2.INTER_AREA)]


def _denoise(img: Image) -> list[View]:
    return [(np.asarray(cv2.medianBlur(img, 3)), _IDENTITY)]


def _deskew(img: Image) -> list[View]:
    """Each tilted 1-D barcode region, cropped and rotated so its bars stand upright.

    zxing-cpp and ZBar scan 1-D codes along rows (and columns): a Code128 tilted by more
    than ~10-15 degrees is crossed by no full scan line. Bars show up as small patches of
    strong, coherent gradient (structure tensor); each such region is rotated by its
    dominant gradient angle. Regions already square to the axes are left to the full pass.
    """
    views: list[View] = []
    for cx, cy, side, angle in find_bar_regions(img):
        if abs(angle) < 4.0 or abs(abs(angle) - 90.0) < 4.0:
            continue
        m = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
        m[0, 2] += side / 2 - cx
        m[1, 2] += side / 2 - cy
        n = max(16, int(side))
        crop = cv2.warpAffine(
            img, m, (n, n), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        views.append((np.asarray(crop), np.asarray(cv2.invertAffineTransform(m), np.float64)))
    return views


def find_bar_regions(
    img: Image, work: int = 640, max_regions: int = 6
) -> list[tuple[float, float, float, float]]:
    """Candidate 1-D barcode regions: ``(centre x, centre y, crop side, angle in degrees)``.

    The angle is the dominant gradient direction (across the bars), so rotating the crop by
    it makes the bars vertical. Computed on a copy reduced by a whole factor to at most
    ``work`` px on its longer side.
    """
    h, w = img.shape[:2]
    # An integer reduction: OpenCV's INTER_AREA is several times faster at whole ratios.
    n = max(1, math.ceil(max(h, w) / work))
    small = img if n == 1 else cv2.resize(img, (w // n, h // n), interpolation=cv2.INTER_AREA)
    f = small.shape[1] / w
    small32 = np.asarray(small, np.float32)
    gx = cv2.Sobel(small32, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small32, cv2.CV_32F, 0, 1, ksize=3)
    jxx = cv2.boxFilter(gx * gx, -1, (5, 5))
    jyy = cv2.boxFilter(gy * gy, -1, (5, 5))
    jxy = cv2.boxFilter(gx * gy, -1, (5, 5))
    energy = jxx + jyy
    # Coherence: |l1 - l2| / (l1 + l2) of the tensor, i.e. |(jxx - jyy, 2 jxy)| / energy.
    anisotropy = cv2.magnitude(jxx - jyy, 2 * jxy)
    # The energy threshold comes from a sparse sample: a full percentile sorts the frame.
    sample = energy[::4, ::4].ravel()
    k = int(0.97 * (sample.size - 1))
    threshold = max(float(np.partition(sample, k)[k]), 1.0) * 0.25
    mask: Image = ((energy > threshold) & (anisotropy > 0.75 * energy)).astype(np.uint8) * 255
    # Opening removes thin edges (item outlines, desk grain); closing joins the bars.
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8)))
    mask = np.asarray(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    found: list[tuple[float, float, float, float, int]] = []
    for i in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < 250:
            continue
        window = (slice(y, y + bh), slice(x, x + bw))
        sel = labels[window] == i
        angle = 0.5 * math.degrees(
            math.atan2(
                2 * float(jxy[window][sel].sum()),
                float(jxx[window][sel].sum() - jyy[window][sel].sum()),
            )
        )
        side = max(bw, bh) * 1.5 / f
        found.append(((x + bw / 2) / f, (y + bh / 2) / f, side, angle, area))
    found.sort(key=lambda r: -r[4])
    return [(cx, cy, side, angle) for cx, cy, side, angle, _ in found[:max_regions]]


PREPROCESSORS: dict[str, Callable[[Image], list[View]]] = {
    "identity": _identity,
    "clahe": _clahe,
    "sharpen": _sharpen,
    "upscale": _upscale,
    "downscale": _downscale,
    "denoise": _denoise,
    "deskew": _deskew,
}
DECODER_NAMES = ("zxing", "zxing-full", "zbar")


@dataclass(frozen=True)
class Pass:
    """One attempt: a preprocessing step, then a decoder.

    Decoders: ``zxing`` (zxing-cpp, upright dark-on-light scan: fast), ``zxing-full``
    (zxing-cpp also trying 90-degree rotations and inverted codes), ``zbar`` (pyzbar).
    """

    prep: str
    decoder: str

    def __str__(self) -> str:
        return f"{self.prep}+{self.decoder}"


def parse_passes(spec: str) -> tuple[Pass, ...]:
    """Passes from ``"identity+zxing,clahe+zbar"`` (used by the benchmark and config)."""
    passes = []
    for item in spec.split(","):
        if not item.strip():
            continue
        prep, _, decoder = item.strip().partition("+")
        if prep not in PREPROCESSORS or decoder not in DECODER_NAMES:
            raise ValueError(
                f"unknown pass {item!r}: expected <{'|'.join(PREPROCESSORS)}>+"
                f"<{'|'.join(DECODER_NAMES)}>"
            )
        passes.append(Pass(prep, decoder))
    return tuple(passes)


# Chosen by bench/scanner.py (docs/scanner.md has the table). ``passes`` always run and
# their reads are merged (so two labels in view are both reported); ``fallbacks`` run in
# order only while nothing has been read.
DEFAULT_PASSES: tuple[Pass, ...] = parse_passes("identity+zxing,deskew+zxing")
DEFAULT_FALLBACKS: tuple[Pass, ...] = parse_passes(
    "identity+zbar,clahe+zxing,upscale+zxing,identity+zxing-full"
)


@dataclass(frozen=True)
class PipelineConfig:
    """What the reader tries; ``formats`` limits the symbologies it reports."""

    passes: tuple[Pass, ...] = DEFAULT_PASSES
    fallbacks: tuple[Pass, ...] = DEFAULT_FALLBACKS
    formats: tuple[str, ...] = LABEL_FORMATS


def _center(box: Box) -> tuple[float, float]:
    return (sum(p[0] for p in box) / 4.0, sum(p[1] for p in box) / 4.0)


def _size(box: Box) -> float:
    xs = [p[0] for p in box]
    ys = [p[1] for p in box]
    return float(max(max(xs) - min(xs), max(ys) - min(ys), 1))


def _same(a: LabelRead, b: LabelRead) -> bool:
    """Two reads of one physical barcode: same text and format, overlapping positions."""
    if a.text != b.text or a.format != b.format:
        return False
    (ax, ay), (bx, by) = _center(a.box), _center(b.box)
    reach = max(_size(a.box), _size(b.box))
    return abs(ax - bx) <= reach and abs(ay - by) <= reach


def _to_frame(read: LabelRead, m: NDArray[np.float64]) -> LabelRead:
    if m is _IDENTITY:
        return read
    pts = [
        (round(m[0, 0] * x + m[0, 1] * y + m[0, 2]), round(m[1, 0] * x + m[1, 1] * y + m[1, 2]))
        for x, y in read.box
    ]
    return LabelRead(text=read.text, format=read.format, box=(pts[0], pts[1], pts[2], pts[3]))


@dataclass
class LabelReader:
    """The project's reader (:class:`custody.ports.BarcodeReader`)."""

    config: PipelineConfig = field(default_factory=PipelineConfig)

    def __post_init__(self) -> None:
        formats = self.config.formats
        self._decoders: dict[str, Decoder] = {
            "zxing": ZXingDecoder(formats, try_rotate=False, try_invert=False),
            "zxing-full": ZXingDecoder(formats),
            "zbar": PyZbarDecoder(formats),
        }

    def read(self, image: bytes) -> list[LabelRead]:
        """Every barcode in the encoded image, positions in the image's pixels.

        Raises :class:`EmptyFrameError` or :class:`ImageDecodeError` for bad bytes.
        """
        return self.read_frame(decode_image(image))

    def read_frame(self, frame: Image) -> list[LabelRead]:
        """Every barcode in an already decoded frame (grayscale or BGR)."""
        gray = as_gray(frame)
        found: list[LabelRead] = []
        cache: dict[str, list[View]] = {}
        for p in self.config.passes:
            self._run(p, gray, cache, found)
        for p in self.config.fallbacks:
            if found:
                break
            self._run(p, gray, cache, found)
        return found

    def _run(
        self, p: Pass, gray: Image, cache: dict[str, list[View]], found: list[LabelRead]
    ) -> None:
        if p.prep not in cache:
            cache[p.prep] = PREPROCESSORS[p.prep](gray)
        for img, m in cache[p.prep]:
            for read in self._decoders[p.decoder].decode(img):
                if read.format not in self.config.formats:
                    continue
                read = _to_frame(read, m)
                if not any(_same(read, f) for f in found):
                    found.append(read)


# --------------------------------------------------------------------------- label checks


@dataclass(frozen=True)
class RejectedRead:
    """A barcode that was read but does not name an item, and why."""

    read: LabelRead
    reason: str


@dataclass(frozen=True)
class LabelScan:
    """The reads of one frame, checked against the label scheme."""

    valid: tuple[tuple[Label, LabelRead], ...]
    rejected: tuple[RejectedRead, ...]

    @property
    def labels(self) -> tuple[Label, ...]:
        return tuple(label for label, _ in self.valid)

    def only(self) -> Label:
        """The single valid label in view; raises :class:`LabelScanError` otherwise."""
        if len(self.valid) == 1:
            return self.valid[0][0]
        if len(self.valid) > 1:
            names = ", ".join(label.text for label in self.labels)
            raise LabelScanError(f"{len(self.valid)} labels in view ({names}): show one item")
        if self.rejected:
            raise LabelScanError(
                "no valid label in view: " + "; ".join(r.reason for r in self.rejected)
            )
        raise LabelScanError("no barcode in view: hold the item's label in front of the camera")

    def require(self, expected: str) -> Label:
        """The valid label with text ``expected``; raises :class:`LabelScanError` if absent."""
        for label, _ in self.valid:
            if label.text == expected.strip().upper():
                return label
        seen = ", ".join(label.text for label in self.labels) or "none"
        raise LabelScanError(f"label {expected!r} is not in view (valid labels read: {seen})")


def check_reads(reads: Sequence[LabelRead]) -> LabelScan:
    """Split reads into valid labels and rejected reads (not a label, wrong check char)."""
    valid: list[tuple[Label, LabelRead]] = []
    rejected: list[RejectedRead] = []
    for read in reads:
        try:
            label = parse_label(read.text)
        except LabelError as exc:
            rejected.append(RejectedRead(read, str(exc)))
            continue
        if all(label != v for v, _ in valid):
            valid.append((label, read))
    return LabelScan(tuple(valid), tuple(rejected))


def reader_for(name: str) -> LabelReader:
    """The reader for the station config's ``scanner.pipeline``: ``default`` (the measured
    pipeline), ``zxing`` or ``pyzbar`` (one raw decoder, no preprocessing)."""
    if name == "default":
        return LabelReader()
    if name == "zxing":
        return LabelReader(PipelineConfig(passes=parse_passes("identity+zxing-full"), fallbacks=()))
    if name == "pyzbar":
        return LabelReader(PipelineConfig(passes=parse_passes("identity+zbar"), fallbacks=()))
    raise ValueError(f"unknown scanner pipeline {name!r}: default, zxing or pyzbar")


def read_labels(image: bytes, reader: LabelReader | None = None) -> LabelScan:
    """Read every barcode in the encoded image and check each against the label scheme."""
    return check_reads((reader or LabelReader()).read(image))
