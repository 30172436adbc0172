"""A label printer on the wire: TSPL or ZPL, over TCP (port 9100) or a device file.

``tcp://HOST:PORT`` (or ``HOST:PORT``): before a job the printer's status is asked (TSPL
``<ESC>!?``, ZPL ``~HS``); out of paper or paused refuses the job before it is sent; after
it, the status is asked again, and a printer that paused or ran out meanwhile means the
label was not printed. A device file (``/dev/usb/lp0``) is write-only: the job is written
and nothing more can be known.

Every failure is a :class:`printer.errors.PrinterError` whose message says what to do; the
same label can be printed again (nothing is recorded for a label that was not printed).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from custody.ports import PrintedLabel
from printer import tspl, zpl
from printer.errors import JobRefusedError, PaperOutError, PrinterOfflineError, PrinterSetupError

LANGUAGES = ("tspl", "zpl")
DEFAULT_PORT = 9100


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said about itself."""

    paper_out: bool = False
    paused: bool = False
    error: str = ""  # head open, ribbon out, another error ("" when none)

    @property
    def ready(self) -> bool:
        return not (self.paper_out or self.paused or self.error)


def parse_tspl_status(byte: int) -> PrinterStatus:
    """The TSPL status byte."""
    errors = [name for bit, name in ((tspl.HEAD_OPEN, "print head open"),
                                     (tspl.PAPER_JAM, "paper jam"),
                                     (tspl.RIBBON_OUT, "ribbon out"),
                                     (tspl.COVER_OPEN, "cover open"),
                                     (tspl.OTHER_ERROR, "printer error")) if byte & bit]
    return PrinterStatus(bool(byte & tspl.PAPER_OUT), bool(byte & tspl.PAUSED),
                         ", ".join(errors))


def parse_zpl_status(text: str) -> PrinterStatus:
    """The first two strings of ZPL ``~HS``: paper out and pause flags (string 1, fields 2
    and 3), head up (string 2, field 3) and ribbon out (string 2, field 4)."""
    strings = [s.strip("\x02\x03\r\n") for s in text.split("\x03") if s.strip()]
    if len(strings) < 2:
        raise PrinterOfflineError("the printer's status answer (~HS) is incomplete")
    first, second = strings[0].split(","), strings[1].split(",")
    errors = []
    if len(second) > 3 and second[2] == "1":
        errors.append("print head open")
    if len(second) > 3 and second[3] == "1":
        errors.append("ribbon out")
    return PrinterStatus(first[1] == "1", first[2] == "1", ", ".join(errors))


def parse_target(url: str) -> tuple[str, int] | Path:
    """``tcp://HOST:PORT`` / ``HOST:PORT`` / ``HOST`` (port 9100), or a device path."""
    if url.startswith("/") or url.startswith("file:"):
        return Path(url.removeprefix("file:"))
    rest = url.removeprefix("tcp://")
    host, sep, port = rest.rpartition(":")
    if not sep:
        return rest, DEFAULT_PORT
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise PrinterSetupError(f"printer address {url!r}: expected tcp://HOST:PORT or a path")
    return host, int(port)


class NetworkLabelPrinter:
    """:class:`custody.ports.LabelPrinter` for a TSPL or ZPL printer (see the module doc)."""

    def __init__(self, url: str, language: str = "tspl", *, timeout: float = 5.0,
                 lang: str = "zh") -> None:
        if language not in LANGUAGES:
            raise PrinterSetupError(f"printer language {language!r}: expected tspl or zpl")
        self.url = url
        self.language = language
        self.timeout = timeout
        self.lang = lang
        self.target = parse_target(url)

    def job(self, label: PrintedLabel, copies: int = 1) -> bytes:
        """The bytes sent for a label."""
        if self.language == "tspl":
            return tspl.tspl_job(label, copies, self.lang)
        return zpl.zpl_job(label, copies, self.lang)

    def print_label(self, label: PrintedLabel, copies: int = 1) -> None:
        if not 1 <= copies <= 99:
            raise PrinterSetupError("copies must be 1 to 99")
        data = self.job(label, copies)
        if isinstance(self.target, Path):
            self._write_device(self.target, data)
            return
        try:
            with socket.create_connection(self.target, timeout=self.timeout) as sock:
                self._check(self._status(sock), before=True)
                sock.sendall(data)
                self._check(self._status(sock), before=False)
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise PrinterOfflineError(
                f"label printer {self.url} does not answer ({exc.strerror or exc}): check it "
                f"is switched on and connected, then print {label.code} again"
            ) from None

    def _status(self, sock: socket.socket) -> PrinterStatus:
        if self.language == "tspl":
            sock.sendall(tspl.STATUS_QUERY)
            byte = sock.recv(1)
            if not byte:
                raise ConnectionError("the printer closed the connection")
            return parse_tspl_status(byte[0])
        sock.sendall(zpl.STATUS_QUERY)
        buf = b""
        while buf.count(b"\x03") < 3:
            chunk = sock.recv(256)
            if not chunk:
                raise ConnectionError("the printer closed the connection")
            buf += chunk
        return parse_zpl_status(buf.decode("ascii", errors="replace"))

    def _check(self, status: PrinterStatus, *, before: bool) -> None:
        when = "" if before else " the label was not printed:"
        if status.paper_out:
            raise PaperOutError(
                f"label printer {self.url} is out of labels:{when} load labels and print again"
            )
        if status.error:
            raise JobRefusedError(
                f"label printer {self.url} reports {status.error}:{when} put it right and "
                "print again"
            )
        if status.paused:
            raise JobRefusedError(
                f"label printer {self.url} is paused:{when} resume it (PAUSE/FEED key) and "
                "print again"
            )

    def _write_device(self, path: Path, data: bytes) -> None:
        try:
            with path.open("wb", buffering=0) as dev:
                dev.write(data)
        except OSError as exc:
            raise PrinterOfflineError(
                f"label printer {path} cannot be written ({exc.strerror or exc}): check it is "
                "connected and switched on, then print again"
            ) from None
