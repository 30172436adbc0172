"""Benchmark of the SMS path.

``python -m bench.sms [--notices N] [--send-delay S]``

1. **Drain at the modem's pace.** A real station (ledger, custody service, the daemon with
   its SMS task) on the simulated modem over a pty, whose network takes ``S`` seconds per
   ``AT+CMGS`` (the simulated line's limit: 60/S texts a minute). N cases are registered at
   once, each telling its complainant by SMS (N notices queued); the bench times until every
   one is ``notice.delivered`` in the ledger and reports texts per minute against the line's
   limit, while a probe task measures the daemon's event-loop lag (how late a 10 ms sleep
   wakes up): goal p99 and max under 50 ms.
2. **PDU encoding.** SMS-SUBMIT PDUs per second for a one-part 7-bit text, a one-part and
   a two-part Chinese text, against the baseline ``str.encode("utf-16-be")`` of the same
   text measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hw_sim.modem_sim import Behaviour, SimModem
from notify.pdu import encode_submit


def _rate(fn: Callable[[], object], seconds: float = 0.5) -> float:
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(100):
            fn()
        n += 100
    return n / (time.perf_counter() - t0)


def bench_pdu() -> None:
    texts = {
        "7-bit, 1 part (60 chars)": "Reminder: F2026-000201-B (case C-2026-0102) due 18:00 today",
        "UCS2, 1 part (44 chars)": "【城东派出所】您报案的案件C-2026-0101已受理，"
                                   "当前环节：已受理。",
        "UCS2, 2 parts (90 chars)": "【城东派出所】逾期督办：F2026-000201-B（案件C-2026-0102）"
                                    "应在当日规定时间前归还，期限2026-11-30 18:00已过，"
                                    "经办民警未处理（第2级）。",
    }
    print("| text | PDUs/s (encode_submit) | str.encode('utf-16-be')/s | ratio |")
    print("| --- | --- | --- | --- |")
    for name, text in texts.items():
        pdu = _rate(lambda t=text: encode_submit("+8613912345678", t))  # type: ignore[misc]
        raw = _rate(lambda t=text: t.encode("utf-16-be"))  # type: ignore[misc]
        print(f"| {name} | {pdu:,.0f} | {raw:,.0f} | {raw / pdu:.0f}x slower |")


async def _lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t0 = loop.time()
        await asyncio.sleep(0.01)
        samples.append((loop.time() - t0 - 0.01) * 1000)


async def bench_drain(n: int, send_delay: float) -> None:
    from tests.integration.sms_support import register, sms_station

    idle: list[float] = []  # the baseline: the same probe on an idle loop, this machine, now
    stop_idle = asyncio.Event()
    idle_probe = asyncio.create_task(_lag_probe(idle, stop_idle))
    await asyncio.sleep(10.0)
    stop_idle.set()
    await idle_probe
    sim = SimModem(Behaviour(reports="now", send_delay_s=send_delay))
    sim.start()
    lags: list[float] = []
    queued_at = 0
    stop = asyncio.Event()
    with tempfile.TemporaryDirectory(prefix="bench-sms-") as tmp:
        try:
            async with sms_station(Path(tmp) / "st", sim.path,
                                   sms={"command_timeout_s": 30.0}) as daemon:
                assert daemon.sms is not None
                probe = asyncio.create_task(_lag_probe(lags, stop))
                t0 = time.perf_counter()
                for i in range(n):
                    await register(daemon, f"K-{i:05d}")
                t_queued = time.perf_counter() - t0
                queued_at = len(lags)
                queue = daemon.sms.queue
                while queue.counts().get("delivered", 0) < n:
                    await asyncio.sleep(0.05)
                elapsed = time.perf_counter() - t0
                stop.set()
                await probe
        finally:
            sim.close()
    limit = 60.0 / send_delay
    rate = n * 60.0 / elapsed
    def spread(xs: list[float]) -> str:
        xs = sorted(xs)
        return (f"median {statistics.median(xs):.1f} ms, p99 {xs[int(len(xs) * 0.99)]:.1f} ms,"
                f" max {xs[-1]:.1f} ms ({len(xs)} samples)")

    print(f"{n} notices, simulated line limit {limit:.0f} texts/min "
          f"({send_delay * 1000:.0f} ms per AT+CMGS)")
    print(f"  registered (and queued) in {t_queued:.1f} s; all delivered after {elapsed:.1f} s")
    print(f"  drain rate {rate:.0f} texts/min = {rate / limit:.0%} of the line's limit")
    print(f"  event-loop lag while registering: {spread(lags[:queued_at])}")
    print(f"  event-loop lag while draining: {spread(lags[queued_at:])} (goal < 50 ms)")
    print(f"  baseline, the idle loop for 10 s just before: {spread(idle)}")
    print(f"  modem: {sim.stats.cmgs_attempts} AT+CMGS, {len(sim.messages)} texts")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sms", description=__doc__)
    parser.add_argument("--notices", type=int, default=500)
    parser.add_argument("--send-delay", type=float, default=0.1)
    args = parser.parse_args(argv)
    bench_pdu()
    asyncio.run(bench_drain(args.notices, args.send_delay))


if __name__ == "__main__":
    main()
