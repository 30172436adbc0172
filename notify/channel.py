"""How a text leaves the station: the :class:`Channel` interface and the GSM modem channel.

A channel sends one text (all its parts) and returns the references its delivery reports
will carry; it raises :class:`notify.errors.SendError` (transient or permanent) when it
cannot. Reports come back through the ``on_report`` callback given to ``start``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from notify.errors import ModemError, SendError
from notify.modem import AtModem, Signal
from notify.pdu import PduError, StatusReport, encode_submit, status_text
from notify.serialio import ByteStream, open_serial

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """One notice to send."""

    key: str
    number: str
    text: str
    kind: str
    params: Mapping[str, str]


@dataclass(frozen=True)
class Report:
    """What a delivery report (or a gateway callback) says about one reference."""

    reference: str
    delivered: bool
    final: bool
    reason: str
    number: str | None = None


ReportSink = Callable[[Report], None]


class Channel(Protocol):
    """A way out for texts (``modem`` or ``gateway``)."""

    name: str
    reports: bool  # whether delivery reports are expected at all

    async def start(self, on_report: ReportSink) -> None: ...

    async def send(self, msg: Outgoing) -> list[str]: ...

    async def status(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...


Opener = Callable[[], Any]  # async () -> ByteStream


class ModemChannel:
    """A GSM modem on a serial port. The line is (re)opened and set up on demand: after a
    timeout or a lost line the next send starts from a fresh set-up."""

    name = "modem"
    reports = True

    def __init__(
        self,
        port: str,
        *,
        baud: int = 115200,
        pin: str = "",
        smsc: str = "",
        timeout_s: float = 5.0,
        send_timeout_s: float = 60.0,
        opener: Callable[[], Any] | None = None,
    ) -> None:
        self.port = port
        self.baud = baud
        self.pin = pin
        self.smsc = smsc
        self.timeout_s = timeout_s
        self.send_timeout_s = send_timeout_s
        self._opener = opener
        self._modem: AtModem | None = None
        self._on_report: ReportSink | None = None
        self._concat = itertools.count(1)
        self.last_signal: Signal | None = None
        self.last_error = ""

    async def start(self, on_report: ReportSink) -> None:
        self._on_report = on_report
        with contextlib.suppress(SendError):  # a modem not ready yet is tried again on send
            await self._ready()

    async def _ready(self) -> AtModem:
        if self._modem is not None and not self._modem.closed.is_set():
            return self._modem
        await self._drop()
        stream: ByteStream = (await self._opener() if self._opener is not None
                              else await open_serial(self.port, self.baud))
        modem = AtModem(stream, timeout_s=self.timeout_s, send_timeout_s=self.send_timeout_s,
                        on_report=self._report)
        await modem.start()
        try:
            await modem.setup(pin=self.pin, smsc=self.smsc)
        except BaseException:
            await modem.close()
            raise
        self._modem = modem
        log.info("modem on %s ready", self.port)
        return modem

    async def _drop(self) -> None:
        if self._modem is not None:
            modem, self._modem = self._modem, None
            await modem.close()

    def _report(self, report: StatusReport) -> None:
        if self._on_report is not None:
            self._on_report(Report(str(report.reference), report.delivered, report.final,
                                   status_text(report.status), report.number))

    async def send(self, msg: Outgoing) -> list[str]:
        try:
            parts = encode_submit(msg.number, msg.text, smsc="", status_report=True,
                                  concat_ref=next(self._concat) % 256)
        except PduError as exc:
            raise SendError(str(exc), transient=False) from exc
        try:
            modem = await self._ready()
            refs = [str(await modem.send_pdu(p.hex, p.tpdu_length)) for p in parts]
        except ModemError as exc:
            self.last_error = exc.reason
            if exc.transient:  # the line may be confused or dead: set it up afresh next time
                await self._drop()
            raise
        self.last_error = ""
        return refs

    async def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"channel": self.name, "port": self.port,
                               "ready": self._modem is not None}
        if self._modem is not None:
            try:
                self.last_signal = await asyncio.wait_for(self._modem.signal(),
                                                          self.timeout_s * 2)
            except (ModemError, TimeoutError) as exc:
                out["error"] = str(exc)
        if self.last_signal is not None:
            out.update(self.last_signal.to_json())
        if self.last_error:
            out["last_error"] = self.last_error
        return out

    async def close(self) -> None:
        await self._drop()
