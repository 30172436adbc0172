"""Tiles and mirror benchmarks: ``python -m bench.tiles [--entries N]``.

Each figure is a ratio against a baseline measured in the same run:

1. the first ``locker log publish`` of an N-entry ledger (default 1,000,000) against raw
   hashlib (one SHA-256 per entry, what the leaf tiles cost from scratch) plus a raw write
   of the same tile and bundle bytes into as many plain files (no fsync, no rename);
2. an incremental publish of 100 new entries at N (median of 7; goal <= 50 ms), against
   one fsynced 8 KiB file write (the unit a publish is made of);
3. ``locker mirror`` of the whole log from ``locker api`` on this machine, verified, against
   a raw HTTP download of the same files from the same server, on one connection and on
   four as the mirror uses (goal >= 0.5), with the mirror process's peak memory (goal
   <= 200 MB).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from api.auth import Role, TokenStore
from bench.ledger import build_big
from custody.ledger import Ledger
from custody.ledger.publish import TILES_DIR, publish_tiles
from custody.ledger.tiles import TILE_WIDTH, encode_bundle, tiles_for_size

REPO = Path(__file__).resolve().parents[1]


def bench_first_publish(data: Path, scratch: Path) -> tuple[float, float, int]:
    """(publish s, raw hashlib + raw write s, files written)."""
    shutil.rmtree(data / TILES_DIR, ignore_errors=True)
    t = time.perf_counter()
    result = publish_tiles(data)
    t_publish = time.perf_counter() - t
    conn = sqlite3.connect(data / "ledger.db")
    raws = [bytes(r) for (r,) in conn.execute("SELECT raw FROM entries ORDER BY seq")]
    conn.close()
    out = scratch / "raw-write"
    out.mkdir()
    sha256 = hashlib.sha256
    t = time.perf_counter()
    files = 0
    for start in range(0, len(raws), TILE_WIDTH):
        chunk = raws[start : start + TILE_WIDTH]
        leaves = b"".join(sha256(b"\x00" + r).digest() for r in chunk)
        for name, blob in ((f"t{start}", leaves), (f"e{start}", encode_bundle(chunk))):
            with open(out / name, "wb") as f:
                f.write(blob)
            files += 1
    t_raw = time.perf_counter() - t
    shutil.rmtree(out)
    return t_publish, t_raw, result.tiles + result.bundles


def bench_incremental(data: Path, scratch: Path, rounds: int = 7) -> tuple[float, float]:
    """Median seconds: (publish of 100 new entries, one fsynced 8 KiB file write)."""
    times: list[float] = []
    with Ledger.open(data) as ledger:
        for r in range(rounds):
            ledger.append_many(
                [("item.note", {"note": f"round {r} entry {i}"}, "clerk:wang") for i in range(100)]
            )
            ledger.checkpoint()
            t = time.perf_counter()
            publish_tiles(data)
            times.append(time.perf_counter() - t)
    writes: list[float] = []
    for i in range(rounds):
        t = time.perf_counter()
        fd = os.open(scratch / f"w{i}", os.O_WRONLY | os.O_CREAT, 0o644)
        os.write(fd, b"\x00" * 8192)
        os.fsync(fd)
        os.close(fd)
        writes.append(time.perf_counter() - t)
    return statistics.median(times), statistics.median(writes)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("locker api exited")
        time.sleep(0.2)
    raise RuntimeError("locker api did not start")


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def bench_mirror(data: Path, scratch: Path) -> tuple[float, float, float, float, int]:
    """(mirror s, raw download s, the same on 4 connections, mirror peak RSS MB, files)."""
    store = TokenStore(data)
    _, token = store.create(Role.MIRROR, note="bench")
    store.close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    port = _free_port()
    api = subprocess.Popen(
        [sys.executable, "-m", "lockerd.cli", "api", "--data", str(data), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, api)
        note = httpx.get(url + "/log/checkpoint").text
        size = int(note.split("\n")[1])
        paths = ["checkpoint"]
        for ref in tiles_for_size(size):
            paths.append(ref.path)
            if ref.level == 0:
                paths.append(ref.bundle().path)
        photos = {p.name for p in (data / "photos").glob("??/*") if "." not in p.name}
        paths += [f"photos/{sha}" for sha in sorted(photos)]
        raw_dir = scratch / "raw-download"
        raw_dir.mkdir()
        headers = {"Authorization": f"Bearer {token}"}
        t = time.perf_counter()
        with httpx.Client(base_url=url + "/log/", headers=headers, timeout=60) as client:
            for i, p in enumerate(paths):
                body = client.get(p).content
                with open(raw_dir / str(i), "wb") as f:
                    f.write(body)
        t_raw = time.perf_counter() - t
        shutil.rmtree(raw_dir)
        # the same download on 4 connections, as the mirror fetches
        raw_dir.mkdir()
        t = time.perf_counter()
        with httpx.Client(base_url=url + "/log/", headers=headers, timeout=60) as client:

            def get(item: tuple[int, str]) -> None:
                body = client.get(item[1]).content
                with open(raw_dir / str(item[0]), "wb") as f:
                    f.write(body)

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(get, enumerate(paths)))
        t_raw4 = time.perf_counter() - t
        shutil.rmtree(raw_dir)
        mdir = scratch / "mirror"
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "lockerd.cli", "mirror", "--from", url + "/log",
             "--data", str(mdir), "--token", token],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        # The peak is read from /proc (VmHWM, the high-water mark of the process image after
        # exec): getrusage's ru_maxrss of a child also counts the pages it shared with this
        # (big) process between fork and exec.
        peak_kb = 0
        while proc.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            time.sleep(0.05)
        t_mirror = time.perf_counter() - t
        if proc.returncode != 0:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"locker mirror failed ({proc.returncode}): {err}")
        return t_mirror, t_raw, t_raw4, peak_kb / 1024, len(paths)
    finally:
        api.terminate()
        api.wait(30)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tiles", description=__doc__.split("\n")[0])
    p.add_argument("--entries", type=int, default=1_000_000, help="size of the ledger")
    p.add_argument("--keep", type=Path, help="reuse/keep the big ledger in this directory")
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-tiles-"))
    try:
        big = args.keep / "big" if args.keep else None
        if big is None or not big.exists():
            t = time.perf_counter()
            big = build_big(args.keep or root, args.entries)
            with Ledger.open(big) as ledger:
                ledger.checkpoint()
            print(f"(built a {args.entries:,}-entry ledger in {time.perf_counter() - t:.0f} s)",
                  flush=True)
        n = args.entries
        t_pub, t_raw, files = bench_first_publish(big, root)
        print(
            f"first publish of {n:,} entries: {t_pub:.2f} s ({files:,} files) vs raw hashlib + "
            f"raw write {t_raw:.2f} s: ratio {t_raw / t_pub:.2f} of raw",
            flush=True,
        )
        t_inc, t_write = bench_incremental(big, root)
        print(
            f"incremental publish of 100 entries at {n:,}: {t_inc * 1e3:.1f} ms (goal <= 50 ms); "
            f"one fsynced 8 KiB write {t_write * 1e3:.2f} ms ({t_inc / t_write:.0f}x)",
            flush=True,
        )
        t_m, t_d, t_d4, peak, nfiles = bench_mirror(big, root)
        print(
            f"mirror of {n:,} entries ({nfiles:,} files), verified: {t_m:.1f} s vs raw HTTP "
            f"download {t_d:.1f} s (one connection) / {t_d4:.1f} s (4 connections, as the "
            f"mirror): ratio {t_d / t_m:.2f} / {t_d4 / t_m:.2f} (goal >= 0.5); mirror peak "
            f"memory {peak:.0f} MB (goal <= 200 MB)",
            flush=True,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
