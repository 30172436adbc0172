"""Where everything goes on a label, and text as a bitmap where a printer has no font for it.

A 70 x 50 mm label at 203 dpi (8 dots per mm): 560 x 400 dots. Top to bottom: the label
code in large characters, its Code 128, then on the left the case number, the description,
the date and station, the officer in charge, and on the right the QR code of the label code.
Both printer languages place the same boxes (:data:`LAYOUT`), so a TSPL and a ZPL label
look alike.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from custody.ports import PrintedLabel

DOTS_PER_MM = 8
WIDTH_MM, HEIGHT_MM, GAP_MM = 70, 50, 3
WIDTH, HEIGHT = WIDTH_MM * DOTS_PER_MM, HEIGHT_MM * DOTS_PER_MM


@dataclass(frozen=True)
class Layout:
    """Positions in dots (x, y of the top-left corner) and sizes."""

    code_xy: tuple[int, int] = (24, 14)
    code_height: int = 36
    barcode_xy: tuple[int, int] = (40, 60)
    barcode_height: int = 90
    narrow: int = 2  # Code 128 module width, dots
    qr_xy: tuple[int, int] = (420, 196)
    qr_cell: int = 5
    lines_xy: tuple[int, int] = (24, 184)
    line_height: int = 24
    line_gap: int = 8
    max_line_dots: int = 380  # text lines end before the QR code


LAYOUT = Layout()


def text_lines(label: PrintedLabel, lang: str = "zh") -> list[str]:
    """The text lines under the barcode."""
    if lang == "en":
        return [f"Case {label.case_id}", label.description,
                f"{label.date}  {label.station}", f"Officer: {label.officer}"]
    return [f"案件 {label.case_id}", label.description, f"{label.date}  {label.station}",
            f"主办 {label.officer}"]


@functools.cache
def cjk_font_path() -> str:
    """The Noto Sans CJK font file (Debian's fonts-noto-cjk)."""
    known = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
    if known.is_file():
        return str(known)
    out = subprocess.run(["fc-match", "Noto Sans CJK SC", "-f", "%{file}"],
                         capture_output=True, text=True, check=False)
    return out.stdout.strip()


def text_bitmap(text: str, height: int) -> NDArray[np.bool_]:
    """``text`` rendered ``height`` dots high: True where a dot is black."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(cjk_font_path(), size=height, index=2)  # 2: the SC face
    left, top, right, bottom = (int(v) for v in font.getbbox(text))
    img = Image.new("L", (max(1, right - left), max(1, height)), 255)
    ImageDraw.Draw(img).text((-left, (height - (bottom - top)) // 2 - top), text, font=font,
                             fill=0)
    return np.asarray(img) < 128


def fit(text: str, height: int, max_dots: int) -> str:
    """``text`` cut (with an ellipsis) to fit ``max_dots`` at ``height`` (roughly: a full-width
    character is ``height`` wide, another half of it)."""
    width = 0
    for i, ch in enumerate(text):
        width += height if ord(ch) > 0x2E7F else height // 2
        if width > max_dots:
            return text[: max(0, i - 1)] + "…"
    return text


def pack_bits(bits: NDArray[np.bool_], black_is_one: bool) -> tuple[int, bytes]:
    """Rows of a bitmap packed 8 dots to a byte, MSB first: ``(bytes per row, data)``."""
    h, w = bits.shape
    row_bytes = (w + 7) // 8
    padded = np.zeros((h, row_bytes * 8), dtype=bool)
    padded[:, :w] = bits if black_is_one else ~bits
    if not black_is_one:
        padded[:, w:] = True  # padding is white
    return row_bytes, np.packbits(padded, axis=1).tobytes()
