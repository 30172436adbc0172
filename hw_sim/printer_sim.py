"""A simulated label printer: a real TCP peer (port 9100 style) that speaks TSPL and ZPL.

It answers status queries (TSPL ``<ESC>!?``, ZPL ``~HS``), parses the jobs it receives and
renders each printed label to an image at 203 dpi (8 dots per mm): text in the Noto CJK
font (standing in for the printer's GB font), Code 128 and QR codes drawn by zxing-cpp,
bitmaps (TSPL ``BITMAP``, ZPL ``^GFA``) as sent. The language is recognised per job.

Faults for tests and the demo: :meth:`SimulatedPrinter.paper_out` (status says out of labels;
jobs are not printed), :meth:`~SimulatedPrinter.refuse_next_job` (the next job is not
printed and the printer pauses, as a printer does on an error), :meth:`~SimulatedPrinter.
go_offline` (the port stops answering) and :meth:`~SimulatedPrinter.resume`.
"""

from __future__ import annotations

import re
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from printer.layout import HEIGHT, WIDTH, cjk_font_path

# TSPL font name -> character height in dots
TSPL_FONTS = {"1": 12, "2": 20, "3": 24, "4": 32, "5": 48, "TSS24.BF2": 24, "TSS16.BF2": 16}
_BITMAP_HEAD = re.compile(rb"^BITMAP (\d+),(\d+),(\d+),(\d+),(\d+),")


@dataclass
class PrintedImage:
    """One label as the simulated printer printed it."""

    language: str  # "tspl" or "zpl"
    image: NDArray[np.uint8]  # grey, white background
    job: bytes

    def png(self) -> bytes:
        ok, buf = cv2.imencode(".png", self.image)
        if not ok:
            raise RuntimeError("cannot encode the label as PNG")
        return bytes(buf.tobytes())


class _Canvas:
    """A label being composed."""

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        self.img = Image.new("L", (width, height), 255)
        self.draw = ImageDraw.Draw(self.img)

    def text(self, x: int, y: int, text: str, height: int) -> None:
        font = ImageFont.truetype(cjk_font_path(), size=max(6, height), index=2)
        top = font.getbbox(text)[1]
        self.draw.text((x, y - top + (height - (font.getbbox(text)[3] - top)) // 2), text,
                       font=font, fill=0)

    def code(self, x: int, y: int, text: str, fmt: str, module: int, height: int = 0) -> None:
        barcode = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, fmt))
        mod = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=1), dtype=np.uint8)
        if fmt == "Code128":
            mod = np.repeat(mod[:1, :], max(1, height), axis=0)
            mod = np.repeat(mod, module, axis=1)
        else:
            mod = np.repeat(np.repeat(mod, module, axis=0), module, axis=1)
        self.img.paste(Image.fromarray(mod), (x, y))

    def bits(self, x: int, y: int, black: NDArray[np.bool_]) -> None:
        tile = np.where(black, 0, 255).astype(np.uint8)
        self.img.paste(Image.fromarray(tile), (x, y))

    def done(self) -> NDArray[np.uint8]:
        return np.asarray(self.img, dtype=np.uint8).copy()


def _unpack(data: bytes, row_bytes: int, rows: int, black_is_one: bool) -> NDArray[np.bool_]:
    bits = np.unpackbits(np.frombuffer(data, np.uint8).reshape(rows, row_bytes), axis=1)
    out: NDArray[np.bool_] = bits.astype(bool) if black_is_one else ~bits.astype(bool)
    return out


class JobError(ValueError):
    """A job the simulated printer cannot parse (it refuses it and pauses)."""


def _args(text: str) -> list[str]:
    """Comma-separated TSPL arguments, keeping quoted strings whole (quotes removed)."""
    out, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return out


def render_tspl(job: bytes) -> list[NDArray[np.uint8]]:
    """Every label a TSPL job prints (one image per PRINT, copies not repeated)."""
    canvas = _Canvas()
    labels: list[NDArray[np.uint8]] = []
    pos = 0
    while pos < len(job):
        m = _BITMAP_HEAD.match(job, pos)
        if m:
            x, y, row_bytes, rows = (int(v) for v in m.groups()[:4])
            start = m.end()
            data = job[start : start + row_bytes * rows]
            canvas.bits(x, y, _unpack(data, row_bytes, rows, black_is_one=False))
            pos = start + row_bytes * rows + 2
            continue
        end = job.find(b"\r\n", pos)
        end = len(job) if end < 0 else end
        line = job[pos:end].decode("gb18030").strip()
        pos = end + 2
        if not line:
            continue
        name, _, rest = line.partition(" ")
        a = _args(rest)
        if name in ("SIZE", "GAP", "DIRECTION", "CODEPAGE", "DENSITY", "SPEED", "REFERENCE"):
            continue
        if name == "CLS":
            canvas = _Canvas()
        elif name == "TEXT":
            height = TSPL_FONTS.get(a[2], 24) * int(a[5])
            canvas.text(int(a[0]), int(a[1]), a[6], height)
        elif name == "BARCODE" and a[2] == "128":
            canvas.code(int(a[0]), int(a[1]), a[8], "Code128", int(a[6]), int(a[3]))
        elif name == "QRCODE":
            canvas.code(int(a[0]), int(a[1]), a[6], "QRCode", int(a[3]))
        elif name == "PRINT":
            labels.append(canvas.done())
        else:
            raise JobError(f"unknown TSPL command {name!r}")
    return labels


_ZPL_CMD = re.compile(r"\^([A-Z][A-Z0-9@])")


def render_zpl(job: bytes) -> list[NDArray[np.uint8]]:
    """Every label of a ZPL job (one image per ^XA...^XZ)."""
    text = job.decode("utf-8")
    labels: list[NDArray[np.uint8]] = []
    for fmt in re.findall(r"\^XA(.*?)\^XZ", text, re.S):
        canvas = _Canvas()
        x = y = 0
        module = 2
        field: tuple[str, list[str]] | None = None
        parts = _ZPL_CMD.split(fmt)
        for i in range(1, len(parts), 2):
            cmd, arg = parts[i], parts[i + 1].strip("\n")
            a = arg.split(",")
            if cmd == "FO":
                x, y = int(a[0]), int(a[1])
            elif cmd == "BY":
                module = int(a[0])
            elif cmd in ("A0", "BC", "BQ"):
                field = (cmd, a)
            elif cmd == "GF":
                row_bytes, data = int(a[3]), bytes.fromhex(a[4])
                canvas.bits(x, y, _unpack(data, row_bytes, len(data) // row_bytes, True))
            elif cmd == "FD":
                if field is None:
                    raise JobError("^FD without a font or barcode")
                kind, fa = field
                if kind == "A0":
                    canvas.text(x, y, arg, int(fa[1]))
                elif kind == "BC":
                    canvas.code(x, y, arg, "Code128", module, int(fa[1]))
                else:
                    canvas.code(x, y, arg.split(",", 1)[1], "QRCode", int(fa[2]))
                field = None
            elif cmd in ("FS", "CI", "PW", "LL", "PQ", "LH"):
                continue
            else:
                raise JobError(f"unknown ZPL command ^{cmd}")
        labels.append(canvas.done())
    return labels


@dataclass
class _State:
    printed: list[PrintedImage] = field(default_factory=list)
    paper_out: bool = False
    paused: bool = False
    refuse_next: bool = False
    jobs: int = 0
    refused: int = 0


class SimulatedPrinter:
    """A TSPL/ZPL printer on ``host:port`` (port 0: a free one). ``start()``, ``stop()``."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, save_to: str | Path | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.save_to = Path(save_to) if save_to else None  # a PNG per printed label
        self.state = _State()
        self._lock = threading.Condition()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ life cycle

    def start(self) -> SimulatedPrinter:
        printer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                printer._serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server = socketserver.ThreadingTCPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="printer-sim",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    # ------------------------------------------------------------------ faults

    def paper_out(self, out: bool = True) -> None:
        with self._lock:
            self.state.paper_out = out

    def refuse_next_job(self) -> None:
        with self._lock:
            self.state.refuse_next = True

    def resume(self) -> None:
        """Clear a pause and put labels back (the operator fixed it)."""
        with self._lock:
            self.state.paused = self.state.paper_out = False

    def go_offline(self) -> None:
        """Stop answering (the port refuses connections) until :meth:`come_online`."""
        self.stop()

    def come_online(self) -> None:
        self.start()

    @property
    def printed(self) -> list[PrintedImage]:
        with self._lock:
            return list(self.state.printed)

    # ------------------------------------------------------------------ the wire

    def _status_tspl(self) -> bytes:
        s = self.state
        return bytes([(0x04 if s.paper_out else 0) | (0x10 if s.paused else 0)])

    def _status_zpl(self) -> bytes:
        s = self.state
        first = f"\x02030,{int(s.paper_out)},{int(s.paused)},0560,000,0,0,0,000,0,0,0\x03\r\n"
        second = "\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n"
        third = "\x021234,0\x03\r\n"
        return (first + second + third).encode()

    def _job(self, language: str, job: bytes) -> None:
        with self._lock:
            s = self.state
            s.jobs += 1
            if s.paper_out or s.paused or s.refuse_next:
                s.refused += 1
                if s.refuse_next:
                    s.refuse_next, s.paused = False, True
                return
            try:
                images = render_tspl(job) if language == "tspl" else render_zpl(job)
            except (JobError, ValueError, IndexError, UnicodeDecodeError):
                s.refused += 1
                s.paused = True
                return
            for img in images:
                printed = PrintedImage(language, img, job)
                s.printed.append(printed)
                if self.save_to is not None:
                    self.save_to.mkdir(parents=True, exist_ok=True)
                    (self.save_to / f"label-{len(s.printed):04d}.png").write_bytes(printed.png())
            self._lock.notify_all()

    def _serve(self, sock: socket.socket) -> None:
        buf = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                return
            if not chunk:
                break
            buf += chunk
            buf = self._consume(sock, buf)
        if buf.strip():
            self._consume(sock, buf, final=True)

    def _consume(self, sock: socket.socket, buf: bytes, final: bool = False) -> bytes:
        while True:
            if buf.startswith(b"\x1b!?"):
                with self._lock:
                    sock.sendall(self._status_tspl())
                buf = buf[3:]
            elif buf.startswith(b"~HS"):
                with self._lock:
                    sock.sendall(self._status_zpl())
                buf = buf[3:]
            elif buf.startswith(b"^XA"):
                end = buf.find(b"^XZ")
                if end < 0:
                    return buf
                end = buf.find(b"\n", end)
                end = len(buf) if end < 0 else end + 1
                self._job("zpl", buf[:end])
                buf = buf[end:]
            elif buf[:1].isalpha():
                end = self._tspl_end(buf)
                if end < 0:
                    if final:
                        self._job("tspl", buf)
                        return b""
                    return buf
                self._job("tspl", buf[:end])
                buf = buf[end:]
            elif buf[:1] in (b"\r", b"\n", b" "):
                buf = buf[1:]
            else:
                return buf if not final else b""

    @staticmethod
    def _tspl_end(buf: bytes) -> int:
        """Where a TSPL job ends (after its PRINT line), or -1 when it is not all here."""
        pos = 0
        while True:
            m = _BITMAP_HEAD.match(buf, pos)
            if m:
                size = int(m.group(3)) * int(m.group(4))
                pos = m.end() + size + 2
                if pos > len(buf):
                    return -1
                continue
            end = buf.find(b"\r\n", pos)
            if end < 0:
                return -1
            if buf[pos:end].startswith(b"PRINT"):
                return end + 2
            pos = end + 2
