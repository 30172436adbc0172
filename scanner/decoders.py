"""Raw barcode decoders behind one interface: zxing-cpp and pyzbar (ZBar).

A decoder takes an 8-bit grayscale (or BGR) ``numpy`` image and returns
:class:`custody.ports.LabelRead` objects with the symbology under one naming scheme
(``Code128``, ``QRCode``, ``DataMatrix``, ...) and four corner points in pixels
(top-left, top-right, bottom-right, bottom-left as the decoder reports them).

These are the *raw* decoders: no preprocessing, no label checks. ``scanner.pipeline``
builds the project's reader on top of them, and the benchmark compares against them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray
from pyzbar import pyzbar

from custody.ports import LabelRead, Point

# OpenCV's stubs type every array as a generic ndarray; frames are 8-bit in practice.
Image = NDArray[Any]
Box = tuple[Point, Point, Point, Point]

# The symbologies printed on this project's labels.
LABEL_FORMATS: tuple[str, ...] = ("Code128", "QRCode", "DataMatrix")

# ZBar's type names mapped to ours (zxing-cpp's BarcodeFormat names are ours already).
_ZBAR_NAMES = {
    "CODE128": "Code128",
    "QRCODE": "QRCode",
    "CODE39": "Code39",
    "CODE93": "Code93",
    "EAN13": "EAN13",
    "EAN8": "EAN8",
    "UPCA": "UPCA",
    "UPCE": "UPCE",
    "I25": "ITF",
    "CODABAR": "Codabar",
    "PDF417": "PDF417",
    "DATABAR": "DataBar",
    "DATABAR_EXP": "DataBarExp",
}
_ZBAR_SYMBOLS = {v: k for k, v in _ZBAR_NAMES.items()}


class Decoder(Protocol):
    """One raw barcode decoder."""

    @property
    def name(self) -> str:
        """Short name used in benchmarks and docs (``zxing-cpp``, ``pyzbar``)."""
        ...

    def decode(self, image: Image) -> list[LabelRead]:
        """Every barcode the decoder finds in the image; ``[]`` when there is none."""
        ...


def _zxing_formats(names: Iterable[str] | None) -> zxingcpp.BarcodeFormats | None:
    if names is None:
        return None
    formats = [zxingcpp.barcode_format_from_str(n) for n in names]
    if not formats:
        raise ValueError("at least one barcode format is needed")
    return zxingcpp.BarcodeFormats(formats)


class ZXingDecoder:
    """zxing-cpp (``zxingcpp.read_barcodes``). Reads DataMatrix, which ZBar cannot.

    Text comes in zxing-cpp's ``Plain`` mode (the bytes as encoded, as ZBar gives them).
    ``formats=None`` decodes every symbology zxing-cpp knows (the "raw" baseline); the
    pipeline passes the label symbologies only, which is faster and gives fewer chances
    for a false read.
    """

    def __init__(
        self,
        formats: Sequence[str] | None = None,
        *,
        try_rotate: bool = True,
        try_downscale: bool = True,
        try_invert: bool = True,
        binarizer: str = "LocalAverage",
        text_mode: str = "Plain",
    ) -> None:
        self._formats = _zxing_formats(formats)
        self._try_rotate = try_rotate
        self._try_downscale = try_downscale
        self._try_invert = try_invert
        self._binarizer = getattr(zxingcpp.Binarizer, binarizer)
        # Plain: the symbol's text as encoded (GS1 separators stay control characters);
        # zxing-cpp's default HRI mode rewrites them as "(01)..." and "<GS>".
        self._text_mode = getattr(zxingcpp.TextMode, text_mode)

    @property
    def name(self) -> str:
        return "zxing-cpp"

    def decode(self, image: Image) -> list[LabelRead]:
        img = np.ascontiguousarray(image)
        if self._formats is None:
            results = zxingcpp.read_barcodes(
                img,
                try_rotate=self._try_rotate,
                try_downscale=self._try_downscale,
                try_invert=self._try_invert,
                binarizer=self._binarizer,
                text_mode=self._text_mode,
            )
        else:
            results = zxingcpp.read_barcodes(
                img,
                formats=self._formats,
                try_rotate=self._try_rotate,
                try_downscale=self._try_downscale,
                try_invert=self._try_invert,
                binarizer=self._binarizer,
                text_mode=self._text_mode,
            )
        reads: list[LabelRead] = []
        for r in results:
            if not r.valid:
                continue
            p = r.position
            box: Box = (
                (int(p.top_left.x), int(p.top_left.y)),
                (int(p.top_right.x), int(p.top_right.y)),
                (int(p.bottom_right.x), int(p.bottom_right.y)),
                (int(p.bottom_left.x), int(p.bottom_left.y)),
            )
            reads.append(LabelRead(text=str(r.text), format=str(r.format.name), box=box))
        return reads


def _polygon_box(points: Sequence[tuple[int, int]], rect: tuple[int, int, int, int]) -> Box:
    """Four corners from ZBar's polygon (for linear codes it is the scan-line hits)."""
    if len(points) >= 3:
        pts = np.array(points, dtype=np.float32)
        corners = cv2.boxPoints(cv2.minAreaRect(pts))
    else:
        left, top, width, height = rect
        corners = np.array(
            [[left, top], [left + width, top], [left + width, top + height], [left, top + height]],
            dtype=np.float32,
        )
    return order_corners(corners)


def order_corners(corners: NDArray[Any]) -> Box:
    """Corners as top-left, top-right, bottom-right, bottom-left (image axes)."""
    s = corners.sum(axis=1)
    d = corners[:, 0] - corners[:, 1]
    tl = corners[int(np.argmin(s))]
    br = corners[int(np.argmax(s))]
    tr = corners[int(np.argmax(d))]
    bl = corners[int(np.argmin(d))]
    return (
        (round(float(tl[0])), round(float(tl[1]))),
        (round(float(tr[0])), round(float(tr[1]))),
        (round(float(br[0])), round(float(br[1]))),
        (round(float(bl[0])), round(float(bl[1]))),
    )


class PyZbarDecoder:
    """ZBar through pyzbar. Reads Code128 and QR (and 1-D retail codes), not DataMatrix."""

    def __init__(self, formats: Sequence[str] | None = None) -> None:
        if formats is None:
            self._symbols: list[pyzbar.ZBarSymbol] | None = None
        else:
            self._symbols = [
                getattr(pyzbar.ZBarSymbol, _ZBAR_SYMBOLS[f]) for f in formats if f in _ZBAR_SYMBOLS
            ]

    @property
    def name(self) -> str:
        return "pyzbar"

    def decode(self, image: Image) -> list[LabelRead]:
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        if self._symbols is not None and not self._symbols:
            return []
        found = pyzbar.decode(np.ascontiguousarray(image), symbols=self._symbols)
        reads: list[LabelRead] = []
        for r in found:
            try:
                text = r.data.decode("utf-8")
            except UnicodeDecodeError:
                # ZBar hands back bytes; labels are ASCII, anything else is kept readable.
                text = r.data.decode("latin-1")
            fmt = _ZBAR_NAMES.get(str(r.type), str(r.type))
            points = [(int(p.x), int(p.y)) for p in r.polygon]
            rect = (int(r.rect.left), int(r.rect.top), int(r.rect.width), int(r.rect.height))
            reads.append(LabelRead(text=text, format=fmt, box=_polygon_box(points, rect)))
        return reads
