"""The project's barcode reader: raw decoders plus preprocessing, chosen by measurement.

:class:`LabelReader` implements :class:`custody.ports.BarcodeReader`. It decodes the image
once with zxing-cpp (label symbologies only) and, when that finds nothing, retries with the
fallback passes of its :class:`PipelineConfig` (other decoders, contrast equalisation,
upscaling, ...). Which passes, and in what order, was decided by ``bench/scanner.py`` on the
shared zxing corpus and on simulated-camera frames; ``docs/scanner.md`` records the figures.

:func:`read_labels` then checks every read against the label scheme
(:func:`custody.labels.parse_label`): valid labels, reads that are not labels at all, and
labels with a wrong check character come back separated, so a misread can never name an item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

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

Prep = Callable[[Image], tuple[Image, float]]  # returns the image and its scale factor


def _identity(img: Image) -> tuple[Image, float]:
    return img, 1.0


def _clahe(img: Image) -> tuple[Image, float]:
    # Local contrast: lifts labels out of low light and next to glare.
    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(img), 1.0


def _sharpen(img: Image) -> tuple[Image, float]:
    blurred = cv2.GaussianBlur(img, (0, 0), 2.0)
    return cv2.addWeighted(img, 1.8, blurred, -0.8, 0), 1.0


def _upscale(img: Image) -> tuple[Image, float]:
    # Small or far labels: modules of 1-2 px read better at twice the size. Big frames are
    # not upscaled (the cost quadruples and their labels are rarely that small).
    if max(img.shape) > 1400:
        return img, 1.0
    return cv2.resize(img, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC), 2.0


def _downscale(img: Image) -> tuple[Image, float]:
    if max(img.shape) < 800:
        return img, 1.0
    return cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), 0.5


def _denoise(img: Image) -> tuple[Image, float]:
    return cv2.medianBlur(img, 3), 1.0


PREPROCESSORS: dict[str, Prep] = {
    "identity": _identity,
    "clahe": _clahe,
    "sharpen": _sharpen,
    "upscale": _upscale,
    "downscale": _downscale,
    "denoise": _denoise,
}


@dataclass(frozen=True)
class Pass:
    """One attempt: a preprocessing step, then a decoder (``zxing`` or ``zbar``)."""

    prep: str
    decoder: str

    def __str__(self) -> str:
        return f"{self.prep}+{self.decoder}"


def parse_passes(spec: str) -> tuple[Pass, ...]:
    """Passes from ``"identity+zxing,clahe+zbar"`` (used by the benchmark and config)."""
    passes = []
    for item in spec.split(","):
        prep, _, decoder = item.strip().partition("+")
        if prep not in PREPROCESSORS or decoder not in ("zxing", "zbar"):
            raise ValueError(f"unknown pass {item!r}: expected <prep>+zxing|zbar")
        passes.append(Pass(prep, decoder))
    return tuple(passes)


# Chosen by bench/scanner.py (docs/scanner.md has the table): zxing-cpp reads most on its
# own; ZBar adds a few damaged Code128/QR; CLAHE and 2x upscaling rescue dark, glared and
# small labels. Later passes only run when the earlier ones found nothing.
DEFAULT_PASSES: tuple[Pass, ...] = parse_passes(
    "identity+zxing,identity+zbar,clahe+zxing,upscale+zxing"
)


@dataclass(frozen=True)
class PipelineConfig:
    """What the reader tries. ``exhaustive`` runs every pass and merges their reads."""

    passes: tuple[Pass, ...] = DEFAULT_PASSES
    formats: tuple[str, ...] = LABEL_FORMATS
    exhaustive: bool = False


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


def _rescale(read: LabelRead, scale: float) -> LabelRead:
    if scale == 1.0:
        return read
    pts = tuple((round(x / scale), round(y / scale)) for x, y in read.box)
    box: Box = (pts[0], pts[1], pts[2], pts[3])
    return LabelRead(text=read.text, format=read.format, box=box)


@dataclass
class LabelReader:
    """The project's reader (:class:`custody.ports.BarcodeReader`)."""

    config: PipelineConfig = field(default_factory=PipelineConfig)

    def __post_init__(self) -> None:
        formats = self.config.formats
        self._decoders: dict[str, Decoder] = {
            "zxing": ZXingDecoder(formats),
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
        cache: dict[str, tuple[Image, float]] = {}
        for p in self.config.passes:
            if p.prep not in cache:
                cache[p.prep] = PREPROCESSORS[p.prep](gray)
            img, scale = cache[p.prep]
            for read in self._decoders[p.decoder].decode(img):
                if read.format not in self.config.formats:
                    continue
                read = _rescale(read, scale)
                if not any(_same(read, f) for f in found):
                    found.append(read)
            if found and not self.config.exhaustive:
                break
        return found


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


def read_labels(image: bytes, reader: LabelReader | None = None) -> LabelScan:
    """Read every barcode in the encoded image and check each against the label scheme."""
    return check_reads((reader or LabelReader()).read(image))
