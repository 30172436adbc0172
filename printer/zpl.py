"""ZPL II (Zebra): a label job.

Zebra printers carry no Chinese font unless one is downloaded, so text that is not plain
printable ASCII goes as a ``^GFA`` graphic field of the rendered text; ASCII text goes in the
scalable font 0 (``^A0N``). The code is a ``^BC`` Code 128 and a ``^BQ`` QR code. Text is
declared UTF-8 (``^CI28``).
"""

from __future__ import annotations

from custody.ports import PrintedLabel
from printer.layout import HEIGHT, LAYOUT, WIDTH, Layout, fit, pack_bits, text_bitmap, text_lines

STATUS_QUERY = b"~HS"  # answered with three STX...ETX CR LF strings


def _native(text: str) -> bool:
    return all(0x20 <= ord(ch) < 0x7F for ch in text) and "^" not in text and "~" not in text


def _text(x: int, y: int, text: str, height: int) -> str:
    if _native(text):
        return f"^FO{x},{y}^A0N,{height},{height * 5 // 6}^FD{text}^FS\n"
    bits = text_bitmap(text, height)
    row_bytes, data = pack_bits(bits, black_is_one=True)
    return f"^FO{x},{y}^GFA,{len(data)},{len(data)},{row_bytes},{data.hex().upper()}^FS\n"


def zpl_job(label: PrintedLabel, copies: int = 1, lang: str = "zh",
            layout: Layout = LAYOUT) -> bytes:
    """The ZPL commands printing ``copies`` of ``label``."""
    lo = layout
    out = [
        f"^XA\n^CI28\n^PW{WIDTH}\n^LL{HEIGHT}\n",
        _text(lo.code_xy[0], lo.code_xy[1], label.code, lo.code_height),
        f"^FO{lo.barcode_xy[0]},{lo.barcode_xy[1]}^BY{lo.narrow}"
        f"^BCN,{lo.barcode_height},N,N,N^FD{label.code}^FS\n",
        f"^FO{lo.qr_xy[0]},{lo.qr_xy[1]}^BQN,2,{lo.qr_cell}^FDMA,{label.code}^FS\n",
    ]
    x, y = lo.lines_xy
    for line in text_lines(label, lang):
        out.append(_text(x, y, fit(line, lo.line_height, lo.max_line_dots), lo.line_height))
        y += lo.line_height + lo.line_gap
    out.append(f"^PQ{copies}\n^XZ\n")
    return "".join(out).encode("utf-8")
