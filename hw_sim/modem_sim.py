"""A simulated GSM modem on a pseudo-terminal: the peer :class:`notify.modem.AtModem` talks to.

It speaks the TS 27.005 PDU-mode dialogue a Quectel EC20 / SIMCom SIM7600 speaks
(``AT``, ``ATE0``, ``AT+CMEE``, ``AT+CPIN``, ``AT+CMGF``, ``AT+CSCA``, ``AT+CNMI``,
``AT+CSQ``, ``AT+CREG?``, ``AT+CMGS`` with its ``> `` prompt), decodes every PDU it is
given (recipient, text, concatenated parts) and reassembles the messages, so a test reads
what a phone would show. It can be made to misbehave: refuse sends (``+CMS ERROR``), stall
(stop answering), lose registration, and send delivery reports at once, late, never, or
when told to.

The modem side is the pty's master (served on the event loop); the daemon opens
:attr:`SimModem.path`, the slave, as its serial port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import tty
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from notify.pdu import PduError, Submit, decode_submit, encode_status_report


@dataclass
class SimMessage:
    """A message as the recipient's phone would show it (parts joined)."""

    number: str
    text: str
    parts: int
    references: list[int]  # the TP-MR the modem gave each part
    status_report: bool
    dcs: int


@dataclass
class Behaviour:
    """How the simulated modem and network behave; change it at any time."""

    pin: str = ""  # a SIM PIN to ask for ("" = SIM ready)
    registered: bool = True
    rssi: int = 21
    refuse: int | None = None  # +CMS ERROR code for every AT+CMGS
    refuse_times: int = -1  # refuse this many sends, then accept (-1: always)
    stall: bool = False  # answer nothing at all
    reports: str = "now"  # "now" | "late" | "never" | "manual"
    report_delay_s: float = 1.0  # for "late"
    report_status: int = 0x00  # TP-ST of the reports (0 = delivered)
    send_delay_s: float = 0.0  # network time per AT+CMGS (the line's pace)


@dataclass
class SimStats:
    """What the modem has seen."""

    commands: list[str] = field(default_factory=list)
    cmgs_attempts: int = 0
    reports_sent: int = 0


class SimModem:
    """The simulated modem. ``start()`` inside a running loop, ``close()`` at the end."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.stats = SimStats()
        self.messages: list[SimMessage] = []
        self.parts: list[Submit] = []
        self._master, self._slave = pty.openpty()
        tty.setraw(self._slave)
        tty.setraw(self._master)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._buffer = b""
        self._echo = True
        self._pin_ok = False
        self._pdu_len: int | None = None  # waiting for a PDU after the prompt
        self._mr = 0
        self._concat: dict[tuple[str, int, int], dict[int, tuple[Submit, int]]] = {}
        self._held: list[tuple[int, str]] = []  # (mr, number) reports not sent yet
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self.on_message: Callable[[SimMessage], None] | None = None

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Serve the line on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._master, self._readable)

    def close(self) -> None:
        """Stop serving and close the pty."""
        if self._loop is not None:
            self._loop.remove_reader(self._master)
            self._loop = None
        for task in self._tasks:
            task.cancel()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    async def wait_messages(self, count: int, timeout: float = 30.0) -> list[SimMessage]:
        """Wait until ``count`` whole messages have arrived; all of them."""
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()
        return list(self.messages)

    async def wait_attempts(self, count: int, timeout: float = 30.0) -> None:
        """Wait until ``AT+CMGS`` has been tried ``count`` times."""
        async with asyncio.timeout(timeout):
            while self.stats.cmgs_attempts < count:
                self._changed.clear()
                await self._changed.wait()

    @property
    def held_reports(self) -> list[tuple[int, str]]:
        """Reports held back (``reports = "manual"`` or ``"never"``): (mr, number)."""
        return list(self._held)

    def release_reports(self, status: int | None = None) -> int:
        """Send every held report now (with ``status``, default the behaviour's); how many."""
        held, self._held = self._held, []
        for mr, number in held:
            self._send_report(mr, number, status)
        return len(held)

    # ------------------------------------------------------------------ the line

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._master, data)

    def _reply(self, *lines: str) -> None:
        self._write(b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines))

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError, OSError):
            return
        if self.behaviour.stall:
            return  # a hung modem: swallows everything
        self._buffer += data
        self._process()

    def _process(self) -> None:
        while True:
            if self._pdu_len is not None:
                end = self._buffer.find(b"\x1a")
                if end < 0:
                    return
                pdu, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
                length, self._pdu_len = self._pdu_len, None
                self._spawn(self._cmgs(pdu.decode("ascii", "replace").strip(), length))
                continue
            end = self._buffer.find(b"\r")
            if end < 0:
                return
            line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
            text = line.decode("ascii", "replace").strip()
            if not text:
                continue
            if self._echo:
                self._write(line + b"\r")
            self._command(text)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _command(self, text: str) -> None:
        b = self.behaviour
        self.stats.commands.append(text)
        up = text.upper()
        if up == "AT" or up.startswith(("AT+CMEE", "AT+CNMI", "AT+CSMP")):
            self._reply("OK")
        elif up == "ATE0":
            self._echo = False
            self._reply("OK")
        elif up == "ATE1":
            self._echo = True
            self._reply("OK")
        elif up == "AT+CPIN?":
            ready = not b.pin or self._pin_ok
            self._reply("+CPIN: READY" if ready else "+CPIN: SIM PIN", "OK")
        elif up.startswith("AT+CPIN="):
            given = text.split("=", 1)[1].strip().strip('"')
            if given == b.pin:
                self._pin_ok = True
                self._reply("OK")
            else:
                self._reply("+CME ERROR: 16")
        elif up in ("AT+CMGF=0", "AT+CMGF=1"):
            self._reply("OK" if up.endswith("0") else "+CMS ERROR: 303")
        elif up.startswith("AT+CSCA="):
            self._reply("OK")
        elif up == "AT+CSQ":
            self._reply(f"+CSQ: {b.rssi if b.registered else 99},99", "OK")
        elif up == "AT+CREG?":
            self._reply(f"+CREG: 0,{1 if b.registered else 2}", "OK")
        elif up.startswith("AT+CMGS="):
            self.stats.cmgs_attempts += 1
            self._changed.set()
            if b.pin and not self._pin_ok:
                self._reply("+CMS ERROR: 311")
                return
            self._pdu_len = int(up.split("=", 1)[1])
            self._write(b"\r\n> ")
        else:
            self._reply("ERROR")

    async def _cmgs(self, pdu: str, length: int) -> None:
        b = self.behaviour
        if b.send_delay_s:
            await asyncio.sleep(b.send_delay_s)
        if b.stall:
            return
        if not b.registered:
            self._reply("+CMS ERROR: 331")
            return
        if b.refuse is not None and b.refuse_times != 0:
            if b.refuse_times > 0:
                b.refuse_times -= 1
            self._reply(f"+CMS ERROR: {b.refuse}")
            return
        try:
            submit = decode_submit(pdu, None)
        except PduError:
            self._reply("+CMS ERROR: 304")
            return
        if len(bytes.fromhex(pdu)) - 1 - bytes.fromhex(pdu)[0] != length:
            self._reply("+CMS ERROR: 304")  # AT+CMGS=<n> must count the TPDU's octets
            return
        mr = self._mr
        self._mr = (self._mr + 1) % 256
        self.parts.append(submit)
        self._assemble(submit, mr)
        self._reply(f"+CMGS: {mr}", "OK")
        if submit.status_report:
            if b.reports == "now":
                self._send_report(mr, submit.number, None)
            elif b.reports == "late":
                self._spawn(self._late(mr, submit.number))
            else:
                self._held.append((mr, submit.number))

    async def _late(self, mr: int, number: str) -> None:
        await asyncio.sleep(self.behaviour.report_delay_s)
        self._send_report(mr, number, None)

    def _send_report(self, mr: int, number: str, status: int | None) -> None:
        st = self.behaviour.report_status if status is None else status
        report = encode_status_report(mr, number, st, datetime.now(UTC))
        self._write(f"\r\n+CDS: {report.tpdu_length}\r\n{report.hex}\r\n".encode())
        self.stats.reports_sent += 1

    def _assemble(self, submit: Submit, mr: int) -> None:
        if submit.concat is None:
            self._deliver(SimMessage(submit.number, submit.text, 1, [mr], submit.status_report,
                                     submit.dcs))
            return
        ref, total, seq = submit.concat
        slot = self._concat.setdefault((submit.number, ref, total), {})
        slot[seq] = (submit, mr)
        if len(slot) == total:
            del self._concat[(submit.number, ref, total)]
            ordered = [slot[i] for i in sorted(slot)]
            self._deliver(SimMessage(
                submit.number,
                "".join(s.text for s, _ in ordered),
                total,
                [m for _, m in ordered],
                submit.status_report,
                submit.dcs,
            ))

    def _deliver(self, message: SimMessage) -> None:
        self.messages.append(message)
        self._changed.set()
        if self.on_message is not None:
            self.on_message(message)
