"""Ledger benchmarks: ``python -m bench.ledger [--entries N]``.

Each figure is a ratio against a baseline measured in the same run:

1. durable single appends (one transaction each, ``synchronous=FULL``) vs raw SQLite
   single-row inserts of the same bytes at the same durability (goal >= 0.5);
2. batched appends, 100 per transaction, vs raw batched inserts (goal >= 0.5);
3. full verification of N (default 1,000,000) entries: entries/s (goal >= 200,000/s on
   2 cores) and the ratio to raw hashlib (one SHA-256 per entry) over the same bytes;
4. one inclusion and one consistency proof at N entries (goal <= 1 ms each), against one
   SQLite primary-key lookup in the same file.

Appends and baselines alternate in rounds so that drift on a shared machine hits both.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from custody.ledger import Ledger
from custody.ledger.station import init_station
from custody.ledger.verify import verify_data_dir

ORIGIN = "bench.example/station"


def _body(i: int, sha: str, size: int = 48213) -> dict[str, Any]:
    # a realistic check-in entry: ids, compartment, a photo reference, a note in Chinese
    return {
        "item": f"EV-2026-{i:07d}-K",
        "case": f"A2026-{i // 50:05d}",
        "compartment": f"A-{i % 48:02d}",
        "photos": [{"sha256": sha, "bytes": size}],
        "note": "核对无误,已入柜",
    }


def _station(root: Path, name: str, synchronous: str, every_n: int = 100) -> Path:
    data = root / name
    init_station(data, ORIGIN)
    cfg = data / "config.toml"
    text = cfg.read_text().replace('synchronous = "FULL"', f'synchronous = "{synchronous}"')
    text = text.replace("checkpoint_every_entries = 100", f"checkpoint_every_entries = {every_n}")
    cfg.write_text(text)
    return data


def _raw_db(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY, raw BLOB NOT NULL)")
    return conn


def _timed(fn: Callable[[], None]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_appends(root: Path, count: int, batch: int, rounds: int = 8) -> tuple[float, float]:
    """(our appends/s, raw inserts/s), interleaved rounds, same bytes, synchronous=FULL."""
    data = _station(root, f"appends-{batch}", "FULL")
    raw = _raw_db(root / f"raw-{batch}.db", "FULL")
    sha = hashlib.sha256(b"photo").hexdigest()
    ours = theirs = 0.0
    per_round = count // rounds
    with Ledger.open(data) as ledger:
        for _ in range(rounds):
            start = ledger.size
            # the callers' bodies are ready, as the raw baseline's bytes are
            items = [
                ("item.checked_in", _body(i, sha), "clerk:wang")
                for i in range(start, start + per_round)
            ]
            if batch == 1:

                def run_ours(items: list[tuple[str, dict[str, Any], str]] = items) -> None:
                    for kind, body, actor in items:
                        ledger.append(kind, body, actor=actor)
            else:

                def run_ours(items: list[tuple[str, dict[str, Any], str]] = items) -> None:
                    for b in range(0, len(items), batch):
                        ledger.append_many(items[b : b + batch])

            ours += _timed(run_ours)
            rows = [(e.seq, e.raw) for e in ledger.entries(start, start + per_round)]

            if batch == 1:

                def run_raw(rows: list[tuple[int, bytes]] = rows) -> None:
                    for s, r in rows:
                        raw.execute("BEGIN")
                        raw.execute("INSERT INTO t (seq, raw) VALUES (?, ?)", (s, r))
                        raw.execute("COMMIT")
            else:

                def run_raw(rows: list[tuple[int, bytes]] = rows) -> None:
                    for b in range(0, len(rows), batch):
                        raw.execute("BEGIN")
                        raw.executemany(
                            "INSERT INTO t (seq, raw) VALUES (?, ?)", rows[b : b + batch]
                        )
                        raw.execute("COMMIT")

            theirs += _timed(run_raw)
    raw.close()
    n = per_round * rounds
    return n / ours, n / theirs


def build_big(root: Path, n: int) -> Path:
    """A ledger of ``n`` realistic entries (checkpoint every 100), built fast (sync OFF)."""
    data = _station(root, "big", "OFF")
    photo = b"\xff\xd8 bench photo \xff\xd9" * 100
    sha = hashlib.sha256(photo).hexdigest()
    (data / "photos" / sha[:2]).mkdir(parents=True, exist_ok=True)
    (data / "photos" / sha[:2] / sha).write_bytes(photo)
    with Ledger.open(data) as ledger:
        for b in range(0, n, 100):
            ledger.append_many(
                [
                    ("item.checked_in", _body(i, sha, len(photo)), "clerk:wang")
                    for i in range(b, min(n, b + 100))
                ]
            )
    return data


def bench_verify(data: Path) -> tuple[int, float, float, int]:
    """(entries, verify s, raw hashlib s over the same bytes, checkpoints)."""
    report = None

    def run() -> None:
        nonlocal report
        report = verify_data_dir(data)

    t_verify = _timed(run)
    assert report is not None and report.ok, report.failures if report else None
    conn = sqlite3.connect(data / "ledger.db")
    raws = [r for (r,) in conn.execute("SELECT raw FROM entries ORDER BY seq")]
    conn.close()
    sha256 = hashlib.sha256

    def hash_all() -> None:
        for r in raws:
            sha256(r).digest()

    t_hash = _timed(hash_all)
    return report.size, t_verify, t_hash, report.checkpoints


def bench_proofs(data: Path, n: int, reps: int = 300) -> tuple[float, float, float]:
    """Median seconds: (inclusion proof, consistency proof, one SQLite PK lookup)."""
    rng = random.Random(7)
    conn = sqlite3.connect(data / "ledger.db")
    incl: list[float] = []
    cons: list[float] = []
    look: list[float] = []
    with Ledger.open(data, readonly=True) as ledger:
        for _ in range(reps):
            seq = rng.randrange(n)
            old = rng.randrange(1, n)
            t = time.perf_counter()
            ledger.inclusion_proof(seq, n)
            incl.append(time.perf_counter() - t)
            t = time.perf_counter()
            ledger.consistency_proof(old, n)
            cons.append(time.perf_counter() - t)
            t = time.perf_counter()
            conn.execute("SELECT raw FROM entries WHERE seq = ?", (seq,)).fetchone()
            look.append(time.perf_counter() - t)
    conn.close()
    return statistics.median(incl), statistics.median(cons), statistics.median(look)


def _report_appends(root: Path, single: int, batched: int) -> None:
    ours, raw = bench_appends(root, single, 1)
    print(
        f"durable single appends: {ours:,.0f}/s vs raw SQLite {raw:,.0f}/s  "
        f"ratio {ours / raw:.2f} (goal >= 0.5)",
        flush=True,
    )
    ours, raw = bench_appends(root, batched, 100)
    print(
        f"batched appends (100/txn): {ours:,.0f}/s vs raw SQLite {raw:,.0f}/s  "
        f"ratio {ours / raw:.2f} (goal >= 0.5)",
        flush=True,
    )


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__.split("\n")[0])
    p.add_argument("--entries", type=int, default=1_000_000, help="size of the verified ledger")
    p.add_argument("--appends", type=int, default=400, help="durable single appends to time")
    p.add_argument("--batched", type=int, default=8000, help="entries to append 100 per txn")
    p.add_argument("--keep", type=Path, help="reuse/keep the big ledger in this directory")
    p.add_argument(
        "--only",
        choices=("appends", "big"),
        help="run only the append figures, or only the big ledger's verify and proofs",
    )
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    try:
        if args.only != "big":
            _report_appends(root, args.appends, args.batched)
        if args.only == "appends":
            return 0
        big = args.keep / "big" if args.keep else None
        if big is None or not big.exists():
            t = time.perf_counter()
            built = build_big(args.keep or root, args.entries)
            print(
                f"(built a {args.entries:,}-entry ledger in {time.perf_counter() - t:.0f} s)",
                flush=True,
            )
        else:
            built = big
        n, t_verify, t_hash, cps = bench_verify(built)
        print(
            f"verify {n:,} entries ({cps:,} checkpoints): {t_verify:.2f} s = {n / t_verify:,.0f} "
            f"entries/s (goal >= 200,000/s); raw hashlib {n / t_hash:,.0f}/s; "
            f"ratio {t_hash / t_verify:.3f} of raw hashlib",
            flush=True,
        )
        incl, cons, look = bench_proofs(built, n)
        print(
            f"proofs at {n:,}: inclusion {incl * 1e3:.3f} ms, consistency {cons * 1e3:.3f} ms "
            f"(goal <= 1 ms); one SQLite lookup {look * 1e3:.3f} ms; ratios "
            f"{incl / look:.1f}x and {cons / look:.1f}x a lookup",
            flush=True,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
