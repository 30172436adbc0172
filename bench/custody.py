"""Benchmark of the custody rules tick.

``python -m bench.custody [--items N] [--repeat R]``

Builds, through the real services (on the in-memory sink, so the figure is the rules' cost
and not the ledger's), a station with N open items: 40 % registered and awaiting handover,
30 % stored (exhibits: watched by the starter catalogue's points), 30 % checked out for the
day. Then times, each as a ratio to the baseline, a bare Python loop over the same N items
(``for item in items: if item.x <= now``), measured in the same run:

* an idle rules tick (no step due: the common case, every 30 s in the daemon);
* a tick in which 1 % of the items have a ladder step due (each one a notice entry and a
  Notifier call);
* the engine's rebuild of every open matter (start-up) and the projection's rebuild from
  the entries.

Goal: one tick over 100,000 open items well under one second.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from custody.domain import ItemSpec, ItemState
from custody.labels import make_label
from custody.projection import Projection
from custody.rules import load_catalogue
from custody.services import CustodyService
from custody.sink import MemorySink
from custody.testing import FakeClock, ListNotifier, photo, sample_directory

PER_CASE = 100
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # Monday 08:00 in Shanghai


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The fastest of ``repeat`` runs, in seconds (GC off while timing)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        gc.enable()
    return min(times)


def build(n: int) -> tuple[CustodyService, FakeClock, MemorySink]:
    clock = FakeClock(START)
    sink = MemorySink(clock)
    svc = CustodyService(sink, sample_directory(), notifier=ListNotifier(), clock=clock,
                         catalogue=load_catalogue())
    checklist = dict.fromkeys(svc.settings.lawfulness_checklist, True)
    cases = (n + PER_CASE - 1) // PER_CASE
    serial = 0
    for c in range(cases):
        kind = "case_file" if c % 10 >= 7 else "exhibit"  # 30 % of the cases are files
        labels = []
        specs = []
        for _ in range(min(PER_CASE, n - serial)):
            serial += 1
            text = make_label(kind, 2026, serial).text
            labels.append(text)
            specs.append(ItemSpec(text, kind, "item", 1, clock.now() - timedelta(hours=1)))
        svc.register_case(f"C{c}", title="bench", officer="wang", items=specs)
        if c % 10 < 4:
            continue  # 40 %: registered, awaiting handover
        svc.handover(f"C{c}", clerk="zhou", scanned=labels, checklist=checklist,
                     photos=[photo("h")])
        for text in labels:
            svc.store(text, compartment=f"A/{c}", photos=[photo("s")], clerk="zhou")
            if kind == "case_file":
                svc.check_out(text, officer="wang", photos=[photo("o")])
    return svc, clock, sink


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.custody", description=__doc__)
    parser.add_argument("--items", type=int, default=100_000, help="open items (100000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs, best kept (5)")
    args = parser.parse_args(argv)
    n: int = args.items

    t0 = time.perf_counter()
    svc, clock, sink = build(n)
    setup = time.perf_counter() - t0
    items = list(svc.projection.open_items())
    states = {s: sum(1 for i in items if i.state is s) for s in ItemState}
    matters = len(svc.engine)
    print(f"custody rules benchmark: {len(items):,} open items, {matters:,} open matters, "
          f"{sink.size:,} entries (built in {setup:.1f} s)")
    print("  states: " + ", ".join(f"{s.value} {c:,}" for s, c in states.items() if c))

    now_ms = int(clock.now().timestamp() * 1000)

    def bare_loop() -> int:
        hits = 0
        for item in items:
            if item.registered_seq > now_ms:
                hits += 1
        return hits

    idle_now = clock.now() + timedelta(minutes=30)  # 08:30 Monday: nothing due yet
    baseline = best_of(args.repeat, bare_loop)
    idle = best_of(args.repeat, lambda: svc.tick(idle_now))
    assert svc.tick(idle_now) == []

    # 1 % due: move the handover deadline of some registered items into the past
    due_items = [i for i in items if i.state is ItemState.REGISTERED][: max(1, n // 100)]
    for item in due_items:
        item.handover_due = START - timedelta(hours=1)
        svc.engine.refresh(item)
    t0 = time.perf_counter()
    sent = svc.tick(idle_now)
    busy = time.perf_counter() - t0

    engine_rebuild = best_of(max(1, args.repeat // 2), lambda: svc.engine.rebuild(svc.projection))
    entries = list(sink.entries())
    proj_rebuild = best_of(1, lambda: Projection.rebuild(entries))

    def line(name: str, secs: float, note: str = "") -> None:
        print(f"  {name:<44} {secs * 1000:10.1f} ms  {secs / baseline:8.1f}x baseline {note}")

    print(f"  {'baseline: bare loop over the items':<44} {baseline * 1000:10.1f} ms")
    line("idle rules tick (nothing due)", idle, "<- goal: well under 1 s")
    line(f"tick with {len(sent):,} notices due", busy,
         f"({busy / max(1, len(sent)) * 1e6:.0f} us per notice)")
    line("rules engine rebuild (start-up)", engine_rebuild)
    line(f"projection rebuild from {len(entries):,} entries", proj_rebuild)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
