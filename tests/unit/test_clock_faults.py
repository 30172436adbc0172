"""Clock faults with an injected clock: the station's clock jumps back (an NTP correction, a
dead RTC battery) or forward by a day. A jump beyond the threshold is recorded (a
``clock.jump`` entry and an alarm, through the custody service); entries stay ordered by
seq; every ladder rung due after a jump forward fires exactly once, and nothing re-fires
after a jump back. Also the one helper for a time as shown."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from custody.alarms import AlarmKind
from custody.clockwatch import BEHIND_LEDGER, CLOCK_JUMP, JUMPED, ClockWatch
from custody.domain import InvalidInputError, ItemSpec
from custody.labels import make_label
from custody.projection import NOTICE_SENT, Projection
from custody.queries import open_alarms
from custody.rules.catalogue import EMPTY
from custody.services import CustodyService
from custody.sink import MemorySink
from custody.testing import FakeClock, ListNotifier, photo, sample_directory

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 Monday in Shanghai
F1 = make_label("case_file", 2026, 1).text


class Monotonic:
    """A monotonic clock the test moves with the real passing of time (not with jumps)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def passes(clock: FakeClock, mono: Monotonic, seconds: float) -> None:
    """Time really passes: both clocks move."""
    clock.advance(seconds)
    mono.t += seconds


def test_watch_sees_jumps_either_way_beyond_the_threshold() -> None:
    clock, mono = FakeClock(T0), Monotonic()
    watch = ClockWatch(clock, 300, monotonic=mono)
    assert watch.check() is None  # first look, nothing to compare with
    passes(clock, mono, 3600)
    assert watch.check() is None  # an hour passed on both clocks
    clock.advance(-240)  # an NTP step back of 4 minutes: within the threshold
    assert watch.check() is None
    clock.advance(-2 * 3600)  # a step back of two hours
    jump = watch.check()
    assert jump is not None and jump.cause == JUMPED and jump.seconds == -7200
    assert jump.body()["jump_ms"] == -7_200_000 and "back by 7200 s" in jump.describe()
    assert watch.check() is None  # the new time is the new reference
    clock.advance(timedelta(days=1))
    forward = watch.check()
    assert forward is not None and forward.seconds == 86400
    with pytest.raises(ValueError):
        ClockWatch(clock, 0)


def test_a_clock_behind_the_ledgers_last_entry_at_start_is_a_jump() -> None:
    last = T0 + timedelta(hours=3)
    jump = ClockWatch(FakeClock(T0), 300, last_entry_at=last).check()
    assert jump is not None and jump.cause == BEHIND_LEDGER and jump.seconds == -3 * 3600
    # a clock ahead of the ledger (the station was off for a while) is normal
    assert ClockWatch(FakeClock(last + timedelta(days=2)), 300, last_entry_at=last).check() is None
    assert ClockWatch(FakeClock(last - timedelta(seconds=60)), 300,
                      last_entry_at=last).check() is None


def _station() -> tuple[FakeClock, MemorySink, ListNotifier, CustodyService]:
    clock = FakeClock(T0)
    sink = MemorySink(clock)
    notifier = ListNotifier()
    svc = CustodyService(sink, sample_directory(), notifier=notifier, clock=clock,
                         catalogue=EMPTY)
    svc.register_case("C1", title="Burglary", officer="wang", items=[
        ItemSpec(F1, "case_file", "file", 1, T0 - timedelta(hours=1), "-")])
    svc.handover("C1", clerk="zhou", scanned=[F1],
                 checklist={n: True for n in svc.settings.lawfulness_checklist},
                 photos=[photo("h")])
    svc.store(F1, compartment="A/1", photos=[photo("s")], clerk="zhou")
    svc.check_out(F1, officer="wang", photos=[photo("o")])  # due back 18:00 local
    return clock, sink, notifier, svc


def _ladder_keys(sink: MemorySink) -> list[str]:
    return [str(e.body["key"]) for e in sink.entries() if e.body["kind"] == NOTICE_SENT]


def test_jump_forward_a_day_fires_each_due_rung_once_and_back_refires_nothing() -> None:
    clock, sink, notifier, svc = _station()
    mono = Monotonic()
    watch = ClockWatch(clock, 300, monotonic=mono)
    watch.check()
    assert svc.tick() == []
    # the clock jumps forward a day and ten hours: 19:00 local the next day. The return
    # ladder's three rungs (officer 17:30, supervisor 19:00, legal 18:00 the next day) are
    # all due: each fires once, in ladder order.
    clock.advance(timedelta(days=1, hours=10))
    jump = watch.check()
    assert jump is not None and jump.seconds == 34 * 3600
    alarm = svc.record_clock_jump(jump)
    sent = svc.tick()
    assert [n.role for n in sent] == ["officer", "supervisor", "legal"]
    assert [n.person for n in sent] == ["wang", "zhao", "legal1"]
    assert svc.tick() == []
    # the clock is put right (a day and ten hours back): recorded, and nothing re-fires,
    # neither now nor when the clock passes the rungs' times again
    clock.advance(-timedelta(days=1, hours=10))
    back = watch.check()
    assert back is not None and back.seconds == -34 * 3600
    svc.record_clock_jump(back)
    for _ in range(4):
        passes(clock, mono, 12 * 3600)
        assert watch.check() is None
        assert svc.tick() == []
    keys = _ladder_keys(sink)
    assert len(keys) == 3 and Counter(keys).most_common(1)[0][1] == 1
    assert len(notifier.sent) == 3
    # both jumps are on record, as entries and as open alarms
    entries = list(sink.entries())
    jumps = [e.body for e in entries if e.body["kind"] == CLOCK_JUMP]
    assert [j["jump_ms"] for j in jumps] == [34 * 3_600_000, -34 * 3_600_000]
    alarms = [a for a in open_alarms(svc.projection) if a.kind == AlarmKind.CLOCK_JUMP]
    assert len(alarms) == 2 and alarms[0].seq == alarm.seq
    assert "forward by 122400 s" in alarms[0].detail
    # order is by seq, never by time: entries after the jump back carry earlier times
    # than the ones before it, and the state rebuilt from the entries is the live one
    assert [e.seq for e in entries] == list(range(len(entries)))
    times = [datetime.fromisoformat(str(e.body["ts"])) for e in entries]
    assert times != sorted(times)
    assert Projection.rebuild(sink.entries()) == svc.projection


def test_a_restart_on_a_clock_behind_the_ledger_refires_nothing() -> None:
    clock, sink, notifier, svc = _station()
    clock.advance(timedelta(hours=12))  # 21:00 local: officer and supervisor rungs
    assert [n.role for n in svc.tick()] == ["officer", "supervisor"]
    last_ts = datetime.fromisoformat(str(list(sink.entries())[-1].body["ts"]))
    # the station restarts with its RTC battery dead: the clock reads a day early
    clock.advance(-timedelta(days=1))
    again = CustodyService(sink, sample_directory(), notifier=notifier, clock=clock,
                           catalogue=EMPTY)
    jump = ClockWatch(clock, 300, last_entry_at=last_ts).check()
    assert jump is not None and jump.cause == BEHIND_LEDGER
    again.record_clock_jump(jump)
    assert again.tick() == []
    clock.advance(timedelta(days=1, hours=1))  # right again, past the first two rungs
    assert again.tick() == []
    clock.advance(timedelta(hours=22))  # the legal rung: 18:00 the next day
    assert [n.role for n in again.tick()] == ["legal"]
    assert len(_ladder_keys(sink)) == 3


def test_a_time_as_shown_carries_its_true_offset() -> None:
    from custody.domain.values import shown_time

    shanghai = ZoneInfo("Asia/Shanghai")
    moment = datetime(2026, 3, 2, 20, 30, 5, 123456, tzinfo=shanghai)
    assert shown_time(moment) == "2026-03-02T12:30:05.123Z"
    assert shown_time(moment, shanghai) == "2026-03-02T20:30:05.123+08:00"
    assert shown_time(moment.astimezone(UTC), shanghai) == "2026-03-02T20:30:05.123+08:00"
    assert shown_time(moment, ZoneInfo("America/New_York")) == "2026-03-02T07:30:05.123-05:00"
    with pytest.raises(InvalidInputError, match="no time zone"):
        shown_time(datetime(2026, 3, 2, 12, 0))
