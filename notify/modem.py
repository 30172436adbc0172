"""The AT dialogue with a GSM/4G modem in PDU mode (3GPP TS 27.005, TS 27.007).

:class:`AtModem` speaks over any :class:`notify.serialio.ByteStream`: one command at a time,
each until its final result (``OK``, ``ERROR``, ``+CMS ERROR: <n>``, ``+CME ERROR: <n>``)
or a timeout; unsolicited ``+CDS`` delivery reports are picked out of the stream whenever
they come and handed to a callback. Set-up (:meth:`AtModem.setup`): echo off, numeric
errors, SIM PIN (``AT+CPIN``), PDU mode (``AT+CMGF=0``), the SMSC (``AT+CSCA``), and
``AT+CNMI=2,1,0,1,0`` so status reports arrive as ``+CDS``. Sending
(:meth:`AtModem.send_pdu`): ``AT+CMGS=<TPDU length>``, wait for the ``> `` prompt, the PDU
and Ctrl-Z, then ``+CMGS: <mr>``: the message reference a report will carry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from notify.errors import ModemError, ModemTimeout, cms_error
from notify.pdu import PduError, StatusReport, decode_status_report
from notify.serialio import ByteStream

log = logging.getLogger(__name__)

CTRL_Z = b"\x1a"
_FINAL_OK = "OK"
_CMS = re.compile(r"^\+CMS ERROR:\s*(\d+)")
_CME = re.compile(r"^\+CME ERROR:\s*(.+)")
_PROMPT = ">"

# +CREG <stat> (TS 27.007 §7.2)
REGISTRATION = {
    0: "not registered, not searching",
    1: "registered, home network",
    2: "not registered, searching",
    3: "registration denied",
    4: "unknown",
    5: "registered, roaming",
}


@dataclass(frozen=True)
class Signal:
    """What ``AT+CSQ`` and ``AT+CREG?`` say: RSSI (0-31, 99 unknown), dBm, registration."""

    rssi: int
    ber: int
    registration: int

    @property
    def dbm(self) -> int | None:
        return None if self.rssi == 99 else -113 + 2 * self.rssi

    @property
    def registered(self) -> bool:
        return self.registration in (1, 5)

    def to_json(self) -> dict[str, object]:
        return {
            "rssi": self.rssi,
            "dbm": self.dbm,
            "ber": self.ber,
            "registered": self.registered,
            "registration": REGISTRATION.get(self.registration, str(self.registration)),
        }


ReportHandler = Callable[[StatusReport], None]


class AtModem:
    """One modem on one line. Create, then ``await start()``; ``await close()`` at the end."""

    def __init__(
        self,
        stream: ByteStream,
        *,
        timeout_s: float = 5.0,
        send_timeout_s: float = 60.0,
        on_report: ReportHandler | None = None,
    ) -> None:
        self._stream = stream
        self.timeout_s = timeout_s
        self.send_timeout_s = send_timeout_s
        self.on_report = on_report
        self._lines: asyncio.Queue[str] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._buffer = b""
        self._pending_cds: int | None = None  # a +CDS header came; its PDU line is next
        self.closed = asyncio.Event()

    async def start(self) -> None:
        """Start reading the line."""
        self._reader = asyncio.create_task(self._read_loop(), name="modem-reader")

    async def close(self) -> None:
        """Stop reading and release the line."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        await self._stream.close()

    # ------------------------------------------------------------------ reading

    async def _read_loop(self) -> None:
        while True:
            data = await self._stream.read()
            if not data:
                self.closed.set()
                return
            self._buffer += data
            self._split()

    def _split(self) -> None:
        while True:
            idx = min((i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n"))
                       if i >= 0), default=-1)
            if idx < 0:
                if self._buffer.strip() == b">":  # the CMGS prompt has no line end
                    self._buffer = b""
                    self._lines.put_nowait(_PROMPT)
                return
            raw, self._buffer = self._buffer[:idx], self._buffer[idx + 1 :]
            line = raw.decode("ascii", "replace").strip()
            if line:
                self._line(line)

    def _line(self, line: str) -> None:
        if self._pending_cds is not None:
            length, self._pending_cds = self._pending_cds, None
            self._report(line, length)
            return
        if line.startswith("+CDS:"):
            try:
                self._pending_cds = int(line.split(":", 1)[1].strip())
            except ValueError:
                log.warning("modem: malformed %r", line)
            return
        if line.startswith(("+CMTI:", "+CDSI:", "RING", "+CREG:")) and not self._lock.locked():
            return  # unsolicited and not ours to answer
        self._lines.put_nowait(line)

    def _report(self, pdu_hex: str, length: int) -> None:
        try:
            report = decode_status_report(pdu_hex, length)
        except PduError as exc:
            log.warning("modem: unreadable status report %r: %s", pdu_hex, exc)
            return
        if self.on_report is not None:
            self.on_report(report)

    # ------------------------------------------------------------------ commands

    async def _next(self, deadline: float, what: str) -> str:
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0 or self.closed.is_set():
            raise ModemTimeout(what, self.timeout_s)
        try:
            return await asyncio.wait_for(self._lines.get(), remaining)
        except TimeoutError:
            raise ModemTimeout(what, round(remaining, 3)) from None

    async def _final(self, deadline: float, what: str) -> list[str]:
        """Lines until the final result; raises on an error result."""
        out: list[str] = []
        while True:
            line = await self._next(deadline, what)
            if line == _FINAL_OK:
                return out
            if line == "ERROR":
                raise ModemError(f"the modem answered ERROR to {what!r}", transient=False)
            cms = _CMS.match(line)
            if cms:
                raise cms_error(int(cms.group(1)))
            cme = _CME.match(line)
            if cme:
                raise ModemError(f"+CME ERROR {cme.group(1)} on {what!r}", transient=True)
            if line != what and line != _PROMPT:  # an echo, or a stray prompt
                out.append(line)

    def _drain(self) -> None:
        while not self._lines.empty():
            stale = self._lines.get_nowait()
            log.debug("modem: dropping stale line %r", stale)

    async def command(self, cmd: str, timeout_s: float | None = None) -> list[str]:
        """Send one AT command; its information lines (final ``OK`` not included)."""
        async with self._lock:
            self._drain()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + (timeout_s or self.timeout_s)
            await self._stream.write(cmd.encode("ascii") + b"\r")
            return await self._final(deadline, cmd)

    async def send_pdu(self, pdu_hex: str, tpdu_length: int) -> int:
        """``AT+CMGS``: send one PDU; the message reference ``<mr>`` (0-255)."""
        cmd = f"AT+CMGS={tpdu_length}"
        async with self._lock:
            self._drain()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.timeout_s
            await self._stream.write(cmd.encode("ascii") + b"\r")
            while True:
                line = await self._next(deadline, cmd)
                if line == _PROMPT:
                    break
                if line == "ERROR" or _CMS.match(line) or _CME.match(line):
                    self._lines.put_nowait(line)
                    await self._final(deadline, cmd)  # raises the mapped error
            await self._stream.write(pdu_hex.encode("ascii") + CTRL_Z)
            lines = await self._final(loop.time() + self.send_timeout_s, cmd)
        for line in lines:
            if line.startswith("+CMGS:"):
                return int(line.split(":", 1)[1].split(",")[0].strip())
        raise ModemError(f"no +CMGS reference in the modem's answer {lines!r}", transient=True)

    # ------------------------------------------------------------------ set-up, status

    async def setup(self, *, pin: str = "", smsc: str = "") -> None:
        """Bring the modem to PDU mode with delivery reports as ``+CDS``."""
        for attempt in range(3):
            try:
                await self.command("AT", timeout_s=min(self.timeout_s, 2.0))
                break
            except ModemTimeout:
                if attempt == 2:
                    raise
        await self.command("ATE0")
        await self.command("AT+CMEE=1")
        state = " ".join(await self.command("AT+CPIN?"))
        if "SIM PIN" in state:
            if not pin:
                raise ModemError("the SIM asks for a PIN and [sms] pin is not set",
                                 transient=False)
            await self.command(f'AT+CPIN="{pin}"')
        elif "READY" not in state:
            raise ModemError(f"the SIM is not ready: {state or 'no answer'}", transient=False)
        await self.command("AT+CMGF=0")
        if smsc:
            await self.command(f'AT+CSCA="{smsc}",{145 if smsc.startswith("+") else 129}')
        await self.command("AT+CNMI=2,1,0,1,0")

    async def signal(self) -> Signal:
        """Signal quality and registration (``AT+CSQ``, ``AT+CREG?``)."""
        csq = await self.command("AT+CSQ")
        creg = await self.command("AT+CREG?")
        rssi, ber = 99, 99
        for line in csq:
            if line.startswith("+CSQ:"):
                rssi, ber = (int(x) for x in line.split(":", 1)[1].split(",")[:2])
        stat = 4
        for line in creg:
            if line.startswith("+CREG:"):
                fields = line.split(":", 1)[1].split(",")
                stat = int(fields[1] if len(fields) > 1 else fields[0])
        return Signal(rssi, ber, stat)
