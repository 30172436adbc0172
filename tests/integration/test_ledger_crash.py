"""Crash safety: SIGKILL a writer process in the middle of appends, many times over; the
ledger stays intact and holds every append the writer acknowledged.

The writer is a forked child process (a real, separate process holding its own SQLite
connection and writer lock); forking instead of exec'ing a new interpreter keeps twenty
rounds fast.
"""

from __future__ import annotations

import os
import random
import signal
from collections import Counter
from pathlib import Path

from custody.ledger import Ledger
from custody.ledger.verify import verify_data_dir
from tests.ledger_support import make_station

ROUNDS = 20
BATCH = 5


def _writer(data: Path, rnd: int, out: int) -> None:
    """The child: append forever, writing each acknowledged seq to the pipe."""
    with Ledger.open(data) as ledger:
        i = 0
        while True:
            if i % 3 == 2:
                batch = [
                    ("crash.batch", {"round": rnd, "i": i, "part": p}, "child")
                    for p in range(BATCH)
                ]
                seq = ledger.append_many(batch)[-1].seq
            else:
                seq = ledger.append("crash.single", {"round": rnd, "i": i}, actor="child").seq
            os.write(out, f"{seq}\n".encode())  # acknowledged: the append returned
            i += 1


def _spawn(data: Path, rnd: int) -> tuple[int, int]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into the test runner
        try:
            os.close(r)
            _writer(data, rnd, w)
        finally:
            os._exit(1)
    os.close(w)
    return pid, r


def test_sigkill_never_loses_an_acknowledged_append(tmp_path: Path) -> None:
    data = make_station(tmp_path, every_n=7, every_s=0)
    rng = random.Random(20261128)
    acked: list[int] = []
    for rnd in range(ROUNDS):
        pid, r = _spawn(data, rnd)
        with os.fdopen(r) as pipe:
            wanted = rng.randint(1, 25)
            for _ in range(wanted):
                line = pipe.readline()
                assert line, "the writer died on its own"
                acked.append(int(line))
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            # lines already in the pipe were acknowledged before the kill
            acked.extend(int(line) for line in pipe.read().split())
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

    report = verify_data_dir(data)
    assert report.ok, report.failures
    assert report.size > max(acked)
    assert sorted(set(acked)) == sorted(acked)
    with Ledger.open(data) as ledger:
        assert [e.seq for e in ledger.entries()] == list(range(ledger.size))
        batches = Counter(
            (e.body["round"], e.body["i"]) for e in ledger.entries() if e.kind == "crash.batch"
        )
        assert batches and all(n == BATCH for n in batches.values()), "a batch was half written"
        # every acknowledged entry is there with the content the writer gave it
        for seq in acked:
            assert ledger.entry(seq).actor == "child"
        # the ledger is still writable after all that
        assert ledger.append("after", {}, actor="test").seq == report.size
