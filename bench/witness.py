"""Witness benchmark: ``python -m bench.witness [--entries N] [--rounds R]``.

A witness's ``add-checkpoint`` with a consistency proof at N (default 1,000,000) entries
(goal p50 <= 5 ms), measured two ways:

1. in process: :meth:`witness.core.Witness.add_checkpoint` (parse, verify the station's
   signature, verify the consistency proof, cosign, commit to SQLite with
   ``synchronous=FULL``);
2. over HTTP: a real ``locker witness serve`` process, one keep-alive client;

each against two baselines of the same run, as ratios of medians: a raw Ed25519 sign +
verify (the two signature operations a witness cannot avoid), and that plus one raw durable
SQLite commit of a row of the same size (WAL, ``synchronous=FULL``: the spec has the
witness persist before it answers, and on a shared disk that fsync dominates).

The tree is synthetic: N + R x STRIDE leaf hashes in memory, every perfect subtree computed
once, so proofs come from the project's own :func:`custody.ledger.merkle.consistency_proof`
without building a ledger.
Witness calls and baseline calls alternate, so drift on a shared machine hits both.
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.ledger import merkle
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.note import Signer, generate_signer
from witness.client import request_body
from witness.core import Witness
from witness.store import WitnessStore, init_witness

ORIGIN = "bench.example/station"
STRIDE = 7


def _levels(n: int) -> list[list[bytes]]:
    """Every perfect subtree of ``n`` synthetic leaves, by level."""
    level = [hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest() for i in range(n)]
    out = [level]
    node = merkle.node_hash
    while len(level) > 1:
        level = [node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        out.append(level)
    return out


def _ms(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s) * 1000, s[int(len(s) * 0.9)] * 1000


def _requests(n: int, rounds: int, levels: list[list[bytes]], signer: Signer) -> list[bytes]:
    """The first submission (old 0, size n) and ``rounds`` growing ones with proofs."""

    def get_node(level: int, index: int) -> bytes:
        return levels[level][index]

    def note(size: int) -> str:
        root = merkle.root_at(size, get_node)
        return signer.sign(Checkpoint(ORIGIN, size, root).body())

    out = [request_body(0, [], note(n))]
    for k in range(rounds):
        old, new = n + k * STRIDE, n + (k + 1) * STRIDE
        out.append(request_body(old, merkle.consistency_proof(old, new, get_node), note(new)))
    return out


def _baselines(tmp: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    """(sign+verify, sign+verify+durable commit)."""
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    msg = b"bench.example/station\n1000000\n" + bytes(44) + b"\n"
    conn = sqlite3.connect(tmp / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE latest (origin TEXT PRIMARY KEY, note TEXT)")

    def crypto() -> None:
        sig = key.sign(msg)
        pub.verify(sig, msg)

    def durable() -> None:
        crypto()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO latest VALUES (?, ?)", (ORIGIN, "x" * 400))
        conn.execute("COMMIT")

    return crypto, durable


def _alternate(
    reqs: list[bytes], submit: Callable[[bytes], int], bases: Sequence[Callable[[], None]]
) -> tuple[list[float], list[list[float]]]:
    assert submit(reqs[0]) == 200
    wit: list[float] = []
    raw: list[list[float]] = [[] for _ in bases]
    for body in reqs[1:]:
        t0 = time.perf_counter()
        status = submit(body)
        wit.append(time.perf_counter() - t0)
        if status != 200:
            raise RuntimeError(f"the witness answered {status}")
        for base, samples in zip(bases, raw, strict=True):
            t0 = time.perf_counter()
            base()
            samples.append(time.perf_counter() - t0)
    return wit, raw


def _report(how: str, n: int, wit: list[float], raw: list[list[float]]) -> None:
    (w50, w90), c50, d50 = _ms(wit), _ms(raw[0])[0], _ms(raw[1])[0]
    print(f"add-checkpoint {how} at {n:,}: p50 {w50:.2f} ms, p90 {w90:.2f} ms (goal p50 <= "
          f"5 ms); raw Ed25519 sign+verify p50 {c50:.3f} ms (ratio {w50 / c50:.1f}x); "
          f"plus a durable SQLite commit p50 {d50:.2f} ms (ratio {w50 / d50:.2f}x)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.witness", description=__doc__)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=300)
    args = ap.parse_args(argv)
    n, rounds = args.entries, args.rounds

    t0 = time.perf_counter()
    levels = _levels(n + rounds * STRIDE)
    skey, vkey = generate_signer(ORIGIN)
    reqs = _requests(n, rounds, levels, Signer.from_skey(skey))
    proof_lines = reqs[1].split(b"\n\n", 1)[0].count(b"\n")
    print(f"synthetic tree of {n + rounds * STRIDE:,} leaves and {rounds} requests "
          f"({proof_lines} proof hashes each at {n:,}) in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory(prefix="bench-witness-") as tmp:
        bases = _baselines(Path(tmp))
        # 1. in process
        init_witness(Path(tmp) / "w1", "bench.example/w1")
        store = WitnessStore(Path(tmp) / "w1")
        store.add_log(ORIGIN, vkey, "bench")
        w = Witness(store)
        wit, raw = _alternate(reqs, lambda b: w.add_checkpoint(b).status, bases)
        store.close()
        _report("in process", n, wit, raw)

        # 2. over HTTP, a real `locker witness serve`
        init_witness(Path(tmp) / "w2", "bench.example/w2")
        store = WitnessStore(Path(tmp) / "w2")
        store.add_log(ORIGIN, vkey, "bench")
        store.close()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen(
            [sys.executable, "-m", "lockerd", "witness", "serve", "--data", str(Path(tmp) / "w2"),
             "--listen", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/add-checkpoint"
            with httpx.Client(timeout=30) as http:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        http.get(url)
                        break
                    except httpx.TransportError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
                wit, raw = _alternate(
                    reqs, lambda b: http.post(url, content=b).status_code, bases
                )
        finally:
            proc.terminate()
            proc.wait(10)
        _report("over HTTP", n, wit, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
