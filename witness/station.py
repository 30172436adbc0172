"""The station's side: get each new checkpoint cosigned by every ``[[witness]]``.

One *round* (:func:`gather`) takes the latest signed checkpoint and, for each witness that
has not cosigned it yet, submits it with a consistency proof from the size that witness
last cosigned (-1/unknown: from 0, and the witness's 409 answer names its size), follows at
most three 409 size hints, checks every returned cosignature line against the witness's
key and stores it in ``DATA/cosignatures.db``. A witness that is down or slow costs one
bounded timeout and is tried again next round; nothing waits for it. A round also reports
every witness that has left a checkpoint uncosigned for longer than ``alarm_after_seconds``
(once per stall): the caller writes those as ``alarm.checkpoint_uncosigned`` entries.

:class:`CosignTask` runs rounds in the daemon: after each checkpoint (:meth:`CosignTask.wake`)
and every ``retry_seconds`` while a witness is behind, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from custody.errors import LockerError
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosign import CosignatureError, WitnessKey, add_signature_lines
from custody.ledger.cosigstore import CosignatureStore
from custody.ledger.ledger import Ledger, format_ts, parse_ts
from custody.ledger.note import split_note
from custody.ledger.publish import TILES_DIR, publish_tiles
from custody.ports import Clock, SystemClock
from witness.client import add_checkpoint

log = logging.getLogger(__name__)

ALARM_UNCOSIGNED = "alarm.checkpoint_uncosigned"
COSIGNED = "cosigned"
MAX_HINTS = 3


@dataclass(frozen=True)
class WitnessSettings:
    """One ``[[witness]]`` table: the submission prefix URL and the witness's key."""

    url: str
    key: str

    @property
    def witness_key(self) -> WitnessKey:
        return WitnessKey.from_vkey(self.key)


@dataclass(frozen=True)
class CosignSettings:
    """The ``[[witness]]`` list and the ``[witnessing]`` timings."""

    witnesses: tuple[WitnessSettings, ...] = ()
    alarm_after_seconds: int = 3600  # 0: never alarm
    retry_seconds: int = 60
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Outcome:
    """What one witness did with the latest checkpoint in a round."""

    witness: str  # its name
    ok: bool
    size: int  # the checkpoint's size
    detail: str


@dataclass(frozen=True)
class UncosignedAlarm:
    """A witness that has left checkpoints uncosigned for too long."""

    witness: str  # its verifier key
    cosigned_size: int
    body: dict[str, Any]


@dataclass
class RoundReport:
    """The outcome of one :func:`gather` round."""

    size: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    alarms: list[UncosignedAlarm] = field(default_factory=list)

    @property
    def behind(self) -> bool:
        """Whether some witness still lacks the latest checkpoint."""
        return any(not o.ok for o in self.outcomes)

    @property
    def new_cosignatures(self) -> bool:
        """Whether this round stored a cosignature (the published checkpoint is then out of
        date: :func:`republish` brings it up)."""
        return any(o.ok and o.detail == COSIGNED for o in self.outcomes)


def gather(
    data_dir: Path | str,
    settings: CosignSettings,
    *,
    clock: Clock | None = None,
    http: httpx.Client | None = None,
) -> RoundReport:
    """One round: bring every witness up to the latest checkpoint; see the module doc."""
    clock = clock or SystemClock()
    report = RoundReport()
    if not settings.witnesses:
        return report
    own = http is None
    client = http or httpx.Client(timeout=settings.timeout_seconds)
    store = CosignatureStore(data_dir)
    try:
        with Ledger.open(data_dir, readonly=True) as ledger:
            note = ledger.latest_checkpoint()
            if note is None:
                return report
            text, _sigs = split_note(note)
            cp = Checkpoint.parse(text)
            report.size = cp.size
            for w in settings.witnesses:
                report.outcomes.append(_bring_up(ledger, store, client, w, note, cp, clock))
            report.alarms = _overdue(ledger, store, settings, clock.now())
    finally:
        store.close()
        if own:
            client.close()
    return report


def _bring_up(
    ledger: Ledger,
    store: CosignatureStore,
    http: httpx.Client,
    w: WitnessSettings,
    note: str,
    cp: Checkpoint,
    clock: Clock,
) -> Outcome:
    key = w.witness_key
    if store.has(key.vkey, cp.size, cp.root):
        return Outcome(key.name, True, cp.size, "already cosigned")
    state = store.state(key.vkey, w.url)
    old = max(state.size, 0)
    error = ""
    for _ in range(MAX_HINTS + 1):
        if old > cp.size:
            error = (
                f"the witness has cosigned size {old}, above this station's latest checkpoint "
                f"{cp.size}: the log was rolled back or forked"
            )
            break
        try:
            proof = ledger.consistency_proof(old, cp.size) if 0 < old < cp.size else []
            reply = add_checkpoint(http, w.url, old, proof, note)
        except httpx.HTTPError as exc:
            error = f"witness unreachable: {type(exc).__name__}: {exc}"
            break
        except LockerError as exc:
            error = f"cannot prove consistency from size {old}: {exc}"
            break
        if reply.status == 409 and reply.size_hint is not None:
            old = reply.size_hint
            error = f"the witness kept answering 409 (its last size hint: {old})"
            store.record_attempt(key.vkey, w.url, format_ts(clock.now()), size=old, error=None)
            continue
        if reply.status != 200:
            error = f"witness answered {reply.status}: {reply.text or '(no text)'}"
            break
        try:
            checked = add_signature_lines(note, reply.lines)
            lines = [ln for ln in reply.lines if ln.startswith(f"\u2014 {key.name} ")]
            stamps = _verify_lines(key, checked, lines)
        except (CosignatureError, LockerError) as exc:
            error = f"witness returned no valid cosignature: {exc}"
            break
        now = format_ts(clock.now())
        for line, ts in stamps:
            store.add(cp.size, cp.root, key.vkey, line, ts, now)
        store.record_attempt(key.vkey, w.url, now, size=cp.size, error=None)
        return Outcome(key.name, True, cp.size, COSIGNED)
    store.record_attempt(key.vkey, w.url, format_ts(clock.now()), size=None, error=error)
    log.warning("witness %s (%s): %s", key.name, w.url, error)
    return Outcome(key.name, False, cp.size, error)


def _verify_lines(key: WitnessKey, note: str, lines: Sequence[str]) -> list[tuple[str, int]]:
    """``(line, timestamp)`` of each returned line by this witness that verifies; raises
    :class:`CosignatureError` when none does."""
    text, _ = split_note(note)
    out = []
    for line in lines:
        _t, sigs = split_note(text + "\n" + line)
        for sig in sigs:
            out.append((line, key.verify(text, sig)))
    if not out:
        raise CosignatureError(f"no cosignature line by {key.name} in the answer")
    return out


def _overdue(
    ledger: Ledger, store: CosignatureStore, settings: CosignSettings, now: datetime
) -> list[UncosignedAlarm]:
    """Witnesses whose oldest uncosigned checkpoint is older than the alarm time (or that
    have cosigned more than the station holds: at once), not alarmed since their last
    progress."""
    out = []
    checkpoints = ledger.checkpoints()
    for w in settings.witnesses:
        key = w.witness_key
        state = store.state(key.vkey, w.url)
        cosigned = max(state.size, 0)
        if state.alarmed_size is not None and state.alarmed_size == cosigned:
            continue
        latest = checkpoints[-1] if checkpoints else None
        first = next((c for c in checkpoints if c.size > cosigned), None)
        if latest is not None and cosigned > latest.size:
            # the witness vouches for more than this station holds: a rollback or a fork,
            # alarmed at once
            first = latest
            detail = (
                f"witness {key.name} has cosigned size {cosigned}, above this station's "
                f"latest checkpoint {latest.size}: the log was rolled back or forked"
            )
        elif first is None:
            continue
        else:
            waited = (now - parse_ts(first.signed_at)).total_seconds()
            if settings.alarm_after_seconds <= 0 or waited < settings.alarm_after_seconds:
                continue
            detail = (
                f"witness {key.name} has not cosigned the checkpoint of size {first.size} "
                f"signed at {first.signed_at} ({int(waited)} s, alarm after "
                f"{settings.alarm_after_seconds} s); last cosigned size "
                f"{state.size if state.size >= 0 else 'none'}"
                + (f"; last error: {state.error}" if state.error else "")
            )
        out.append(
            UncosignedAlarm(
                key.vkey,
                cosigned,
                {
                    "witness": key.name,
                    "witness_key": key.vkey,
                    "url": w.url,
                    "checkpoint_size": first.size,
                    "signed_at": first.signed_at,
                    "cosigned_size": state.size if state.size >= 0 else None,
                    "detail": detail,
                },
            )
        )
    return out


def republish(data_dir: Path | str) -> None:
    """Rewrite the published ``DATA/tiles/checkpoint`` with the new cosignatures (when the
    station publishes tiles at all)."""
    if (Path(data_dir) / TILES_DIR).is_dir():
        publish_tiles(data_dir)


def mark_alarmed(data_dir: Path | str, alarm: UncosignedAlarm) -> None:
    """Remember that the stall of ``alarm`` was written to the ledger (once per stall)."""
    store = CosignatureStore(data_dir)
    try:
        store.mark_alarmed(alarm.witness, alarm.cosigned_size)
    finally:
        store.close()


AlarmWriter = Callable[[str, dict[str, Any]], Awaitable[object]]


class CosignTask:
    """The daemon's cosigning loop (one round at a time, in a worker thread)."""

    def __init__(
        self,
        data_dir: Path | str,
        settings: CosignSettings,
        write_alarm: AlarmWriter,
        *,
        clock: Clock | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.settings = settings
        self.write_alarm = write_alarm
        self.clock = clock or SystemClock()
        # how often it looks for a grown checkpoint (the ledger signs some inside appends)
        self.poll_seconds = poll_seconds or min(5.0, float(settings.retry_seconds))
        self.last: RoundReport | None = None
        self.rounds = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A checkpoint was just signed: run a round soon."""
        self._wake.set()

    async def round(self) -> RoundReport:
        """Run one round now, and write the alarms it found."""
        report = await asyncio.to_thread(gather, self.data_dir, self.settings, clock=self.clock)
        if report.new_cosignatures:
            await asyncio.to_thread(republish, self.data_dir)
        for alarm in report.alarms:
            await self.write_alarm(ALARM_UNCOSIGNED, alarm.body)
            await asyncio.to_thread(mark_alarmed, self.data_dir, alarm)
        self.last = report
        self.rounds += 1
        return report

    async def run(self) -> None:
        """Until cancelled: a round when woken, when the latest checkpoint grew (the ledger
        also signs checkpoints inside appends), and every ``retry_seconds`` while behind."""
        if not self.settings.witnesses:
            return
        waited = 0.0
        seen = -1
        while True:
            try:
                latest = await asyncio.to_thread(self._latest_size)
                behind = self.last is not None and self.last.behind
                due = latest != seen or (behind and waited >= self.settings.retry_seconds)
                if due or self._wake.is_set() or (
                    self.settings.alarm_after_seconds and waited >= self.settings.retry_seconds
                ):
                    self._wake.clear()
                    waited = 0.0
                    await self.round()
                    seen = self.last.size if self.last is not None else latest
            except Exception:
                log.exception("cosigning round failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            except TimeoutError:
                waited += self.poll_seconds

    def _latest_size(self) -> int:
        with Ledger.open(self.data_dir, readonly=True) as ledger:
            note = ledger.latest_checkpoint()
        return -1 if note is None else int(note.split("\n", 2)[1])
