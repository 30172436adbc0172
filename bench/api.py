"""Benchmark of the read API at a million ledger entries.

``python -m bench.api [--entries N] [--requests R] [--data DIR]``

1. Builds (or reuses) a station whose ledger holds N realistic custody entries (cases
   registered with two items, handed over, stored, checked out and returned twice), written
   with the ledger's batched append and covered by a signed checkpoint.
2. Start-up: times ``locker api`` from launch to the first answered data request, first
   without the custody snapshot (``DATA/api-projection.json`` deleted: the projection is
   folded from all N entries, as every start did before the snapshot) and then twice with
   the snapshot the first run saved at shutdown. Baseline, in the same run: reading the N
   entry rows raw from the ledger's SQLite file. Prints each start as a ratio to it and the
   snapshot's speed-up over the replay.
3. Keeps the last API running and starts, in another subprocess, a bare FastAPI app with one
   trivial endpoint: the latency baseline, measured the same way in the same run.
4. Times R sequential requests over keep-alive HTTP for: an item's history (a random item,
   its whole chain), an inclusion proof (a random entry, tlog-proof@v1), and the bare
   endpoint, in 8 alternating rounds so that load from other processes hits all three.
   Prints p50 and p99 latency and requests/s, each also as a ratio to the bare endpoint.
   Goal: p99 <= 20 ms for history and proof.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from api.auth import Role, TokenStore
from api.index import INDEX_NAME
from api.snapshot import SNAPSHOT_NAME
from custody.errors import LockerError
from custody.labels import make_label
from custody.ledger import Ledger
from custody.ledger.station import init_station

ENTRIES_PER_CASE = 16  # register, handover, 2 x store, then 2 items x 2 x (out, back, store)
BATCH = 10_000
ROOT = Path(__file__).resolve().parent.parent


def bare_app() -> FastAPI:
    """The baseline: FastAPI with one endpoint that returns a constant."""
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


# ---------------------------------------------------------------- the ledger


def _photo(n: int) -> dict[str, Any]:
    return {"sha256": f"{n:064x}", "bytes": 50_000 + n % 1000}


def _case_entries(idx: int, t0: datetime) -> Iterator[tuple[str, dict[str, Any], str]]:
    """The 16 entries of one case, as ``(kind, body, actor)``."""
    case = f"B-{idx:06d}"
    officer, clerk = f"off{idx % 40}", f"clerk{idx % 4}"
    labels = [make_label("case_file", 2026, 2 * idx).text,
              make_label("exhibit", 2026, 2 * idx + 1).text]
    seized = (t0 - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    due = (t0 + timedelta(hours=21)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    back = (t0 + timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    compartment = f"C{idx // 100}/{idx % 100}"
    items = [
        {"label": lab, "kind": kind, "category": "", "description": f"{kind} of case {case}",
         "quantity": 1, "seized_from": "someone", "seized_at": seized,
         "seizing_officer": officer, "handover_due": due}
        for lab, kind in zip(labels, ("case_file", "exhibit"), strict=True)
    ]
    yield "case.registered", {"case": case, "title": f"Case {idx}", "officer": officer,
                              "officers": [officer], "complainant": None, "items": items}, officer
    yield "case.handed_over", {"case": case, "clerk": clerk, "items": labels, "missing": [],
                               "extra": [], "reason": "", "photos": [_photo(idx * 16)]}, clerk
    n = idx * 16 + 1
    for lab in labels:
        n += 1
        yield "item.stored", {"item": lab, "case": case, "compartment": compartment,
                              "photos": [_photo(n)]}, clerk
    for lab in labels:
        for _ in range(2):
            n += 3
            yield "item.checked_out", {"item": lab, "case": case, "officer": officer,
                                       "due": back, "photos": [_photo(n)]}, officer
            yield "item.returned", {"item": lab, "case": case, "officer": officer, "due": back,
                                    "late": False, "photos": [_photo(n + 1)]}, officer
            yield "item.stored", {"item": lab, "case": case, "compartment": compartment,
                                  "photos": [_photo(n + 2)]}, clerk


def build_ledger(data: Path, entries: int) -> tuple[int, float]:
    """Create the station (if its ledger is not already ``entries`` long); returns
    ``(cases, seconds spent appending)``."""
    cases = entries // ENTRIES_PER_CASE
    if (data / "ledger.db").is_file():
        try:
            with Ledger.open(data, readonly=True) as ledger:
                if ledger.size == cases * ENTRIES_PER_CASE:
                    return cases, 0.0
        except (LockerError, sqlite3.Error) as exc:  # e.g. made by an older ledger format
            raise SystemExit(f"{data} cannot be reused ({exc}); remove it") from None
        raise SystemExit(f"{data} holds a different ledger; remove it or pick another --data")
    init_station(data, "bench.example/api")
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    start = time.perf_counter()
    with Ledger.open(data) as ledger:
        pending: list[tuple[str, dict[str, Any], str]] = []
        for idx in range(cases):
            pending.extend(_case_entries(idx, t0))
            if len(pending) >= BATCH:
                ledger.append_many(pending)
                pending = []
        if pending:
            ledger.append_many(pending)
        ledger.checkpoint()
    return cases, time.perf_counter() - start


def raw_read(data: Path, size: int) -> tuple[float, int]:
    """The start-up baseline: read the ``size`` entry rows raw from the ledger's SQLite
    file (seconds, bytes), no decoding."""
    conn = sqlite3.connect(f"file:{data / 'ledger.db'}?mode=ro", uri=True)
    try:
        t = time.perf_counter()
        total = rows = 0
        for (raw,) in conn.execute("SELECT raw FROM entries WHERE seq < ? ORDER BY seq", (size,)):
            total += len(raw)
            rows += 1
        elapsed = time.perf_counter() - t
    finally:
        conn.close()
    if rows != size:
        raise SystemExit(f"read {rows} rows, expected {size}")
    return elapsed, total


def _index_ready(data: Path, size: int) -> bool:
    """Whether the API's derived index already covers the ``size`` entries."""
    if not (data / INDEX_NAME).is_file():
        return False
    conn = sqlite3.connect(f"file:{data / INDEX_NAME}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'size'").fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return row is not None and int(row[0]) == size


# ---------------------------------------------------------------- servers and timing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(cmd: list[str], url: str, timeout: float) -> tuple[subprocess.Popen[bytes], float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"server exited: {' '.join(cmd)}\n{err}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, time.perf_counter() - t
        except httpx.HTTPError:
            pass
        if time.perf_counter() - t > timeout:
            proc.kill()
            raise SystemExit(f"server did not start in {timeout:.0f} s: {' '.join(cmd)}")
        time.sleep(0.05)


@dataclass
class Start:
    """One start of ``locker api``: when it listened, when it first answered a data request."""

    proc: subprocess.Popen[bytes]
    url: str
    listen_s: float
    first_s: float


def start_api(data: Path, token: str, first_path: str) -> Start:
    """Launch ``locker api`` and time it to the first answered ``first_path`` (which needs
    the derived state: requests queue behind the build on the ledger thread)."""
    port = _free_port()
    cmd = [sys.executable, "-m", "lockerd.cli", "api", "--data", str(data), "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    proc, listen_s = _start(cmd, url + "/v1/health", timeout=120)
    r = httpx.get(url + first_path, headers={"Authorization": f"Bearer {token}"}, timeout=900)
    first_s = time.perf_counter() - t
    if r.status_code != 200:
        proc.kill()
        raise SystemExit(f"{first_path}: {r.status_code} {r.text[:200]}")
    return Start(proc, url, listen_s, first_s)


def stop(proc: subprocess.Popen[bytes]) -> list[str]:
    """SIGTERM and wait (the API saves its custody snapshot on the way out); returns the
    API's log lines about the snapshot."""
    proc.terminate()
    _, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"the API exited with status {proc.returncode}\n{err.decode()}")
    return [line for line in err.decode().splitlines() if "custody" in line]


@dataclass
class Timing:
    """Latencies (seconds) of sequential requests."""

    name: str
    samples: list[float]

    def pct(self, p: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def rps(self) -> float:
        return len(self.samples) / sum(self.samples)


def measure(
    client: httpx.Client, paths: Callable[[int], str], start: int, n: int, out: list[float]
) -> None:
    """Time ``n`` GETs of ``paths(start..start+n)`` into ``out``, checking each answered 200."""
    for i in range(start, start + n):
        t = time.perf_counter()
        r = client.get(paths(i))
        out.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise SystemExit(f"{paths(i)}: {r.status_code} {r.text[:200]}")


def interleaved(
    runs: list[tuple[str, httpx.Client, Callable[[int], str]]], n: int, rounds: int = 8
) -> list[Timing]:
    """Time ``n`` requests of each kind in ``rounds`` alternating rounds (after 50 warm-up
    requests each), so that load from other processes on this shared machine hits every
    kind alike instead of one of them."""
    for _, client, paths in runs:
        for i in range(50):
            client.get(paths(i)).raise_for_status()
    samples: list[list[float]] = [[] for _ in runs]
    per = n // rounds
    for r in range(rounds):
        for (_, client, paths), out in zip(runs, samples, strict=True):
            measure(client, paths, 50 + r * per, per, out)
    return [Timing(name, out) for (name, _, _), out in zip(runs, samples, strict=True)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--data", type=Path, help="station directory (reused when it fits)")
    args = parser.parse_args(argv)
    data = args.data or Path(tempfile.gettempdir()) / f"evidence-locker-bench-api-{args.entries}"
    cases, build_s = build_ledger(data, args.entries)
    size = cases * ENTRIES_PER_CASE
    if build_s:
        print(f"ledger: {size} entries appended in {build_s:.1f} s "
              f"({size / build_s:,.0f} entries/s, batched append)")
    else:
        print(f"ledger: reusing {size} entries in {data}")
    store = TokenStore(data)
    token = store.create(Role.AUDITOR, "bench", note="bench.api")[1]
    store.close()

    first_path = "/v1/cases?limit=1"  # answered only once the custody state is built
    snapshot = data / SNAPSHOT_NAME
    if not _index_ready(data, size):  # a new station: build the index first, untimed
        stop(start_api(data, token, first_path).proc)
    snapshot.unlink(missing_ok=True)
    raw_s, raw_bytes = raw_read(data, size)
    replay = start_api(data, token, first_path)  # no snapshot: fold all N entries
    logs = stop(replay.proc)  # ... and save the snapshot on the way out
    snap_bytes = snapshot.stat().st_size
    restarts = [start_api(data, token, first_path)]
    logs += stop(restarts[0].proc)
    restarts.append(start_api(data, token, first_path))
    api, api_url = restarts[-1].proc, restarts[-1].url  # serves the latency measurements
    for line in logs:
        print(f"  api log: {line}")
    print(f"start-up baseline: {size} entry rows read raw from SQLite in {raw_s:.2f} s "
          f"({raw_bytes / 1e6:.0f} MB)")
    print(f"{'api start':<26} {'listening s':>11} {'+ state s':>9} {'first answer s':>14} "
          f"{'x raw read':>10}")
    for name, st in [("replay (no snapshot)", replay)] + [
        (f"from snapshot, run {i + 1}", st) for i, st in enumerate(restarts)
    ]:
        print(f"{name:<26} {st.listen_s:11.2f} {st.first_s - st.listen_s:9.2f} "
              f"{st.first_s:14.2f} {st.first_s / raw_s:10.2f}")
    best = min(st.first_s for st in restarts)
    print(f"snapshot: {snap_bytes / 1e6:.0f} MB; start-up {replay.first_s / best:.1f}x faster "
          f"than the replay ({replay.first_s:.1f} s -> {best:.1f} s)")

    bare_port = _free_port()
    bare_cmd = [sys.executable, "-m", "uvicorn", "--factory", "bench.api:bare_app",
                "--port", str(bare_port), "--log-level", "warning"]
    bare_url = f"http://127.0.0.1:{bare_port}"
    bare, _ = _start(bare_cmd, bare_url + "/ping", timeout=60)
    try:
        rng = random.Random(7)
        labels = [make_label("case_file" if k % 2 == 0 else "exhibit", 2026, k).text
                  for k in (rng.randrange(2 * cases) for _ in range(args.requests + 50))]
        seqs = [rng.randrange(size) for _ in range(args.requests + 50)]
        headers = {"Authorization": f"Bearer {token}"}
        with (
            httpx.Client(base_url=api_url, headers=headers, timeout=60) as c,
            httpx.Client(base_url=bare_url, timeout=60) as b,
        ):
            first = time.perf_counter()
            c.get(f"/v1/items/{labels[0]}/history").raise_for_status()
            first_s = time.perf_counter() - first
            base, hist, proof = interleaved(
                [
                    ("bare FastAPI", b, lambda i: "/ping"),
                    ("item history", c, lambda i: f"/v1/items/{labels[i]}/history"),
                    ("inclusion proof", c, lambda i: f"/v1/ledger/proofs/{seqs[i]}"),
                ],
                args.requests,
            )
            sample = c.get(f"/v1/items/{labels[0]}/history").json()
    finally:
        for proc in (api, bare):
            proc.terminate()
            proc.wait(120)

    print(f"first history request after start: {first_s * 1e3:.1f} ms")
    print(f"history length: {sample['total']} entries per item")
    print(f"{'endpoint':<18} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}  "
          f"{'p50 x bare':>10} {'p99 x bare':>10} {'req/s / bare':>12}")
    for row in (base, hist, proof):
        print(f"{row.name:<18} {row.pct(50) * 1e3:8.2f} {row.pct(99) * 1e3:8.2f} "
              f"{row.rps:8.0f}  {row.pct(50) / base.pct(50):10.2f} "
              f"{row.pct(99) / base.pct(99):10.2f} {row.rps / base.rps:12.2f}")
    goal = all(row.pct(99) <= 0.020 for row in (hist, proof))
    print(f"goal p99 <= 20 ms for history and proof: {'met' if goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
