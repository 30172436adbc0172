"""Benchmark of the rules tick over open case deadlines beside open items.

``python -m bench.stages [--cases N] [--repeat R]``

Builds, through the real services (on the in-memory sink, so the figure is the rules' cost
and not the ledger's), N cases of 4 items each (the items in the mix of ``bench.custody``:
40 % of the cases registered and awaiting handover, 30 % stored, 30 % checked out), and
records on every case the stages accepted, filed and detained (the starter catalogue then
opens 4 statutory deadlines per case: detention house, family notice, interrogation, arrest
application). With the default N = 25,000: 100,000 items and 100,000 open case deadlines.

Times, each as a ratio to the baseline (a bare Python loop over the same items and case
deadlines, ``for x in xs: if x.v > now``, measured in the same run):

* an idle rules tick (nothing due: the common case);
* a tick in which 1 % of the case deadlines have a ladder step due (each a notice entry and
  a Notifier call);
* the case deadlines' rebuild (start-up).

Goal: one tick over 100,000 open case deadlines plus 100,000 items well under one second.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from bench.custody import best_of
from custody.domain import ItemSpec
from custody.domain.values import millis
from custody.labels import make_label
from custody.rules import load_catalogue
from custody.services import CustodyService
from custody.sink import MemorySink
from custody.testing import FakeClock, ListNotifier, photo, sample_directory

PER_CASE = 4
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # Monday 08:00 in Shanghai


def build(cases: int) -> tuple[CustodyService, FakeClock, MemorySink]:
    clock = FakeClock(START)
    sink = MemorySink(clock)
    svc = CustodyService(sink, sample_directory(), notifier=ListNotifier(), clock=clock,
                         catalogue=load_catalogue())
    checklist = dict.fromkeys(svc.settings.lawfulness_checklist, True)
    serial = 0
    detained = clock.now() - timedelta(hours=1)
    for c in range(cases):
        kind = "case_file" if c % 10 >= 7 else "exhibit"
        labels = []
        for _ in range(PER_CASE):
            serial += 1
            labels.append(make_label(kind, 2026, serial).text)
        case_id = f"C{c}"
        svc.register_case(case_id, title="bench", officer="wang", items=[
            ItemSpec(x, kind, "item", 1, clock.now() - timedelta(hours=1)) for x in labels])
        for stage, ago in (("accepted", 30), ("filed", 20), ("detained", 1)):
            svc.record_stage(case_id, stage, actor="wang", role="officer", document="文书",
                             effective_at=detained - timedelta(hours=ago - 1))
        if c % 10 < 4:
            continue
        svc.handover(case_id, clerk="zhou", scanned=labels, checklist=checklist,
                     photos=[photo("h")])
        for text in labels:
            where = f"A{c // 1000}/{c % 1000}"  # at most 1,000 compartments a cabinet
            svc.store(text, compartment=where, photos=[photo("s")], clerk="zhou")
            if kind == "case_file":
                svc.check_out(text, officer="wang", photos=[photo("o")])
    return svc, clock, sink


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description=__doc__)
    parser.add_argument("--cases", type=int, default=25_000, help="cases, 4 items each (25000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs, best kept (5)")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    svc, clock, sink = build(args.cases)
    setup = time.perf_counter() - t0
    items = list(svc.projection.open_items())
    case_matters = list(svc.engine.cases.matters())
    print(f"case stages benchmark: {len(items):,} open items ({len(svc.engine):,} item "
          f"matters), {len(case_matters):,} open case deadlines, {sink.size:,} entries "
          f"(built in {setup:.1f} s)")

    now_ms = millis(clock.now())

    def bare_loop() -> int:
        hits = 0
        for item in items:
            if item.registered_seq > now_ms:
                hits += 1
        for m in case_matters:
            if m.epoch > now_ms:
                hits += 1
        return hits

    idle_now = clock.now() + timedelta(minutes=30)  # nothing due yet
    baseline = best_of(args.repeat, bare_loop)
    idle = best_of(args.repeat, lambda: svc.tick(idle_now))
    assert svc.tick(idle_now) == []

    # 1 % of the case deadlines due: pull their next step into the past
    for m in case_matters[: max(1, len(case_matters) // 100)]:
        m.next_due_ms = millis(START)
    t0 = time.perf_counter()
    sent = svc.tick(idle_now)
    busy = time.perf_counter() - t0
    rebuild = best_of(max(1, args.repeat // 2),
                      lambda: svc.engine.cases.rebuild(svc.projection))

    def line(name: str, secs: float, note: str = "") -> None:
        print(f"  {name:<48} {secs * 1000:10.1f} ms  {secs / baseline:8.1f}x baseline {note}")

    print(f"  {'baseline: bare loop over items and deadlines':<48} {baseline * 1000:10.1f} ms")
    line("idle rules tick (nothing due)", idle, "<- goal: well under 1 s")
    line(f"tick with {len(sent):,} case notices due", busy,
         f"({busy / max(1, len(sent)) * 1e6:.0f} us per notice)")
    line("case deadlines rebuild (start-up)", rebuild)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
