"""TSPL (TSC printer language, the TSC-compatible printers common in China): a label job.

Text goes as ``TEXT`` in the printer's built-in simplified-Chinese font ``TSS24.BF2`` (GB2312,
24 x 24 dots; ASCII half width) whenever the text encodes in GB2312; anything else is sent
as a ``BITMAP`` of the rendered text. The code is a ``BARCODE "128"`` and a ``QRCODE``.
"""

from __future__ import annotations

from custody.ports import PrintedLabel
from printer.layout import (
    GAP_MM,
    HEIGHT_MM,
    LAYOUT,
    WIDTH_MM,
    Layout,
    fit,
    pack_bits,
    text_bitmap,
    text_lines,
)

STATUS_QUERY = b"\x1b!?"  # answered with one status byte
# Bits of the status byte (TSPL "<ESC>!?").
HEAD_OPEN, PAPER_JAM, PAPER_OUT, RIBBON_OUT, PAUSED, PRINTING, COVER_OPEN, OTHER_ERROR = (
    0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80,
)
CHINESE_FONT = "TSS24.BF2"
CODE_FONT = "4"  # 24 x 32 dots, ASCII


def _quoted(text: str) -> str:
    return text.replace('"', "'")


def _gb2312(text: str) -> bytes | None:
    try:
        return text.encode("gb2312")
    except UnicodeEncodeError:
        return None


def _text(x: int, y: int, text: str, height: int) -> bytes:
    encoded = _gb2312(_quoted(text))
    if encoded is not None:
        return f'TEXT {x},{y},"{CHINESE_FONT}",0,1,1,"'.encode() + encoded + b'"\r\n'
    bits = text_bitmap(text, height)
    row_bytes, data = pack_bits(bits, black_is_one=False)  # TSPL: a 0 bit prints
    return f"BITMAP {x},{y},{row_bytes},{bits.shape[0]},0,".encode() + data + b"\r\n"


def tspl_job(label: PrintedLabel, copies: int = 1, lang: str = "zh",
             layout: Layout = LAYOUT) -> bytes:
    """The TSPL commands printing ``copies`` of ``label``."""
    lo = layout
    out = [
        f"SIZE {WIDTH_MM} mm,{HEIGHT_MM} mm\r\n".encode(),
        f"GAP {GAP_MM} mm,0 mm\r\n".encode(),
        b"DIRECTION 1\r\nCODEPAGE 936\r\nCLS\r\n",
        f'TEXT {lo.code_xy[0]},{lo.code_xy[1]},"{CODE_FONT}",0,1,1,"{label.code}"\r\n'.encode(),
        f'BARCODE {lo.barcode_xy[0]},{lo.barcode_xy[1]},"128",{lo.barcode_height},0,0,'
        f'{lo.narrow},{lo.narrow},"{label.code}"\r\n'.encode(),
        f'QRCODE {lo.qr_xy[0]},{lo.qr_xy[1]},M,{lo.qr_cell},A,0,"{label.code}"\r\n'.encode(),
    ]
    x, y = lo.lines_xy
    for line in text_lines(label, lang):
        out.append(_text(x, y, fit(line, lo.line_height, lo.max_line_dots), lo.line_height))
        y += lo.line_height + lo.line_gap
    out.append(f"PRINT 1,{copies}\r\n".encode())
    return b"".join(out)
