"""The SMS service: the ledger's notices, through the durable queue, out of a channel.

:class:`SmsService` runs as one task of the daemon. Each round it

1. feeds new ``notice.sent`` entries into the queue (:mod:`notify.queue`) with their text
   (:mod:`notify.texts`), the recipient's number and language, and, for a notice that can
   wait, the end of the quiet hours;
2. sends what is due, one text at a time (the modem's pace), retrying transient failures
   with exponential backoff and giving up on permanent ones;
3. turns delivery reports into outcomes and, after ``report_timeout_s`` without one, calls
   the delivery unconfirmed;
4. writes the ledger entries all this calls for (``notice.sms_sent``, ``notice.delivered``,
   ``notice.failed``, ``notice.unconfirmed``, and ``alarm.notice_failed`` when a notice
   fails for good) through its :class:`Host`, in the order they were decided.

Urgent notices (an overdue escalation to a supervisor or the legal section) are never held
by quiet hours and go before the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from custody.alarms import AlarmKind
from custody.delivery import (
    NOTICE_DELIVERED,
    NOTICE_FAILED,
    NOTICE_SMS_SENT,
    NOTICE_UNCONFIRMED,
)
from custody.domain.errors import CustodyError
from notify.channel import Channel, Outgoing, Report
from notify.errors import SendError
from notify.pdu import count_parts
from notify.queue import (
    DELIVERED,
    FAILED,
    SENDING,
    UNCONFIRMED,
    Entry,
    NewSms,
    QueueError,
    SmsQueue,
    SmsRow,
)
from notify.texts import Texts, kind_of, values_of

log = logging.getLogger(__name__)

ALARM_NOTICE_FAILED = AlarmKind.NOTICE_FAILED.entry_kind  # "alarm.notice_failed"
URGENT_ROLES = ("supervisor", "legal")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class Host(Protocol):
    """What the service needs of the station (the daemon implements it)."""

    async def notices_after(self, seq: int) -> tuple[list[Mapping[str, Any]], int]:
        """``notice.sent`` entry bodies (with ``seq``) after ``seq``, and the last seq read."""
        ...

    async def record(self, kind: str, body: Mapping[str, Any]) -> None:
        """Append a delivery entry (the custody core's ``record_delivery``)."""
        ...

    async def alarm(self, kind: str, body: Mapping[str, Any]) -> None:
        """Append an alarm entry."""
        ...


@dataclass(frozen=True)
class Recipient:
    """Where a person's texts go."""

    number: str  # E.164, or "" (undeliverable)
    language: str


_SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class SmsSettings:
    """The service's knobs (``[sms]`` in the station config)."""

    station: str = ""
    station_phone: str = ""
    language: str = "zh"
    zone: ZoneInfo = _SHANGHAI
    quiet_hours: tuple[dtime, dtime] | None = None
    max_attempts: int = 5
    retry_base_s: float = 30.0
    retry_max_s: float = 1800.0
    report_timeout_s: float = 86400.0
    country_code: str = "86"


def parse_quiet_hours(text: str) -> tuple[dtime, dtime] | None:
    """``"22:00-07:00"`` -> (22:00, 07:00); ``""`` -> None. ValueError when malformed."""
    if not text:
        return None
    m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)", text.strip())
    if m is None:
        raise ValueError(f"quiet hours must look like 22:00-07:00, got {text!r}")
    a, b, c, d = (int(g) for g in m.groups())
    return dtime(a, b), dtime(c, d)


def quiet_until(moment: datetime, hours: tuple[dtime, dtime] | None, zone: ZoneInfo) -> datetime:
    """``moment`` if it is outside the quiet hours, else when they end (local time)."""
    if hours is None:
        return moment
    start, end = hours
    local = moment.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return moment
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


def normalise_number(contact: str, country_code: str) -> str:
    """An E.164 number from a contact: ``+...`` as given, a national number (digits, an
    optional leading 0) with the station's country code; ``""`` when it is not a number."""
    cleaned = re.sub(r"[\s\-()]", "", contact)
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    elif cleaned.isdigit() and country_code:
        cleaned = f"+{country_code}{cleaned.lstrip('0')}"
    return cleaned if E164.match(cleaned) else ""


class SmsService:
    """Feeds, sends, follows up and records. ``await run()`` as a task; ``wake()`` when a
    notice was written."""

    def __init__(
        self,
        queue: SmsQueue,
        channel: Channel,
        texts: Texts,
        host: Host,
        recipients: Callable[[str, str], Recipient],
        settings: SmsSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue = queue
        self.channel = channel
        self.texts = texts
        self.host = host
        self.recipients = recipients
        self.settings = settings
        self.clock = clock
        self._wake = asyncio.Event()
        self._reports: list[Report] = []
        self.rounds = 0
        self._status: dict[str, Any] = {}

    def wake(self) -> None:
        """New notices (or reports) wait: go round now rather than at the next tick."""
        self._wake.set()

    # ------------------------------------------------------------------ the task

    async def run(self, idle_s: float = 0.5) -> None:
        """Forever: one round, then wait for a wake-up, the next due text, or ``idle_s``."""
        await self.channel.start(self._on_report)
        await self._recover()
        with contextlib.suppress(Exception):  # a modem not up yet shows as such later
            await self.refresh_status()
        try:
            while True:
                try:
                    await self.round()
                except (OSError, QueueError) as exc:  # a full disk, a locked file: next round
                    log.error("SMS round failed, trying again: %s", exc)
                self._wake.clear()
                wait = idle_s
                nxt = self.queue.next_due_at()
                if nxt is not None:
                    wait = max(0.0, min(wait, nxt - self.clock()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
        finally:
            await self.channel.close()
            self.queue.close()

    async def round(self) -> None:
        """Feed, take in reports, send what is due, expire, record."""
        self.rounds += 1
        await self.feed()
        await self._take_reports()
        await self._record()
        while True:
            await self.feed()  # an overdue escalation queued meanwhile goes next
            row = self.queue.due(self.clock())
            if row is None:
                break
            await self._send(row)
            await self._take_reports()
            await self._record()
        await self._expire()
        await self._record()

    async def refresh_status(self) -> dict[str, Any]:
        """Ask the channel (signal, registration) and count the queue; kept as
        :meth:`last_status` for readers that cannot wait (the health endpoint)."""
        out = await self.channel.status()
        out["queue"] = self.queue.counts()
        self._status = out
        return out

    def last_status(self) -> dict[str, Any]:
        """The latest :meth:`refresh_status` (``{}`` before the first)."""
        return dict(self._status)

    # ------------------------------------------------------------------ feeding

    async def feed(self) -> int:
        """Queue the notices written since the cursor; how many."""
        bodies, last = await self.host.notices_after(self.queue.cursor())
        if last <= self.queue.cursor():
            return 0
        items = [self._prepare(b) for b in bodies]
        return await asyncio.to_thread(self.queue.enqueue, items, last)

    def _prepare(self, body: Mapping[str, Any]) -> NewSms:
        role, person = str(body["role"]), str(body["person"])
        refs: Mapping[str, str] = body.get("refs", {})
        who = self.recipients(role, person)
        kind = kind_of(role, refs)
        s = self.settings
        values = values_of(body, who.language, s.zone, s.station, s.station_phone)
        urgent = kind.startswith("ladder.") and role in URGENT_ROLES
        now = datetime.fromtimestamp(self.clock(), tz=s.zone)
        not_before = now if urgent else quiet_until(now, s.quiet_hours, s.zone)
        return NewSms(
            key=str(body["key"]),
            notice_seq=int(body["seq"]),
            role=role,
            person=person,
            number=who.number,
            kind=kind,
            text=self.texts.render(kind, who.language, values),
            params=values,
            urgent=urgent,
            not_before=not_before.timestamp(),
        )

    # ------------------------------------------------------------------ sending

    async def _recover(self) -> None:
        """Rows caught ``sending`` by a crash may have gone out: never send them again."""
        for row in self.queue.rows(SENDING):
            reason = "the daemon stopped while the text was being sent; not sent again"
            await asyncio.to_thread(self.queue.finish, row.key, UNCONFIRMED, reason, [
                (NOTICE_UNCONFIRMED, {"key": row.key, "channel": row.channel,
                                      "reason": reason, "attempt": row.attempts}),
            ])

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        return float(min(s.retry_max_s, s.retry_base_s * 2 ** (attempt - 1)))

    async def _send(self, row: SmsRow) -> None:
        ch = self.channel
        if not row.number:
            reason = f"no phone number for {row.role} {row.person!r}"
            await self._fail_for_good(row, reason, row.attempts, ch.name)
            return
        attempt = await asyncio.to_thread(self.queue.mark_sending, row.key, ch.name)
        try:
            refs = await ch.send(Outgoing(row.key, row.number, row.text, row.kind, row.params))
        except SendError as exc:
            if exc.transient and attempt < self.settings.max_attempts:
                at = self.clock() + self._backoff(attempt)
                log.warning("SMS %s attempt %d failed (%s); retrying", row.key, attempt,
                            exc.reason)
                body: dict[str, Any] = {
                    "key": row.key, "channel": ch.name, "reason": exc.reason, "final": False,
                    "attempt": attempt, "retry_at": _iso(at),
                }
                if exc.code is not None:
                    body["code"] = exc.code
                await asyncio.to_thread(self.queue.retry, row.key, at, exc.reason,
                                        [(NOTICE_FAILED, body)])
            else:
                reason = exc.reason if not exc.transient else (
                    f"gave up after {attempt} attempts: {exc.reason}")
                await self._fail_for_good(row, reason, attempt, ch.name, exc.code)
            return
        sent: dict[str, Any] = {
            "key": row.key, "channel": ch.name, "references": refs, "attempt": attempt,
            "parts": count_parts(row.text), "number": row.number, "report": ch.reports,
        }
        entries: list[Entry] = [(NOTICE_SMS_SENT, sent)]
        if not ch.reports:
            entries.append((NOTICE_UNCONFIRMED, {
                "key": row.key, "channel": ch.name, "attempt": attempt,
                "reason": "this channel gives no delivery reports"}))
        await asyncio.to_thread(self.queue.mark_sent, row.key, refs, self.clock(), ch.reports,
                                entries)

    async def _fail_for_good(self, row: SmsRow, reason: str, attempt: int, channel: str,
                             code: int | None = None) -> None:
        body: dict[str, Any] = {"key": row.key, "channel": channel, "reason": reason,
                                "final": True, "attempt": attempt}
        if code is not None:
            body["code"] = code
        alarm = {"key": row.key, "role": row.role, "person": row.person, "reason": reason}
        log.error("SMS %s to %s failed for good: %s", row.key, row.person, reason)
        await asyncio.to_thread(self.queue.finish, row.key, FAILED, reason,
                                [(NOTICE_FAILED, body), (ALARM_NOTICE_FAILED, alarm)])

    # ------------------------------------------------------------------ reports

    def _on_report(self, report: Report) -> None:
        self._reports.append(report)
        self._wake.set()

    async def take_report(self, report: Report) -> bool:
        """Apply one delivery report (or gateway callback); False when it matches nothing."""
        row = self.queue.find_sent(self.channel.name, report.reference, report.number)
        if row is None:
            log.info("delivery report for unknown reference %s", report.reference)
            return False
        if not report.final:
            return True  # the network is still trying: a final report follows
        reports = dict(row.reports)
        reports[report.reference] = "delivered" if report.delivered else report.reason
        if not report.delivered:
            reason = f"not delivered: {report.reason}"
            await self._fail_for_good(row, reason, row.attempts, row.channel)
        elif all(reports.get(r) == "delivered" for r in row.refs):
            await asyncio.to_thread(self.queue.finish, row.key, DELIVERED, "", [
                (NOTICE_DELIVERED, {"key": row.key, "channel": row.channel,
                                    "references": row.refs, "attempt": row.attempts,
                                    "status": report.reason}),
            ])
        else:
            await asyncio.to_thread(self.queue.set_reports, row.key, reports)
        return True

    async def _take_reports(self) -> None:
        while self._reports:
            await self.take_report(self._reports.pop(0))

    async def _expire(self) -> None:
        for row in self.queue.sent_before(self.clock() - self.settings.report_timeout_s):
            if row.sent_at is not None:
                reason = f"no delivery report within {self.settings.report_timeout_s:g} s"
                await asyncio.to_thread(self.queue.finish, row.key, UNCONFIRMED, reason, [
                    (NOTICE_UNCONFIRMED, {"key": row.key, "channel": row.channel,
                                          "reason": reason, "attempt": row.attempts}),
                ])

    # ------------------------------------------------------------------ the ledger

    async def _record(self) -> None:
        for entry in self.queue.pending_entries():
            try:
                if entry.kind.startswith("alarm."):
                    await self.host.alarm(entry.kind, entry.body)
                else:
                    await self.host.record(entry.kind, entry.body)
            except CustodyError as exc:  # refused for good (it could never be written)
                log.error("SMS entry %s %s refused, dropped: %s", entry.kind,
                          entry.body.get("key"), exc)
            await asyncio.to_thread(self.queue.entry_done, entry.id)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
