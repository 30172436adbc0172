"""District benchmark: ``python -m bench.district [--stations 50] [--entries 20000]``.

1. Build N stations, each a real ledger written by the ledger code (a morning of custody
   through the custody services, then check-in notes with photo references up to M
   entries), its tiles published, all served over local HTTP by one static server (the
   ``/log/`` layout; one ``locker api`` per station would be 50 processes on this machine).
2. Catch-up: the district mirrors every station (verified pull), copies it into PostgreSQL
   and folds the projection. Figures: the whole catch-up in entries/s, and the PostgreSQL
   ingest alone against a raw ``COPY`` of the same rows into a table of the same shape in
   the same run (goal >= 0.5).
3. Steady state: every station appends (an entry, a checkpoint, a publish every
   ``--append-every`` seconds, staggered) while the district follows at ``--poll`` s; the lag
   from a station's checkpoint to the screen showing it (``/api/stations``), p50/p95 (goal
   p95 <= poll + 2 s).
4. The screen at that size: dashboard, search and item pages, p50/p99 (goal p99 <= 100 ms).
5. The district process's peak memory (RSS).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import resource
import shutil
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from api.server import running_server
from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.ledger import Ledger
from custody.ledger.publish import publish_tiles
from custody.ledger.station import init_station
from custody.ports import PhotoRef
from custody.services.custody import CustodyService
from custody.settings import DEFAULT_CHECKLIST
from custody.testing import FakeClock, ListNotifier, sample_directory
from district.auth import create_token
from district.config import DistrictConfig, parse_district_config
from district.db import create_schema
from district.follower import Follower, _entries
from district.pgserver import PgServer
from district.screen import create_screen
from district.service import District
from district.state import fold_station
from lockerd.broker import free_port


def build_station(root: Path, sid: str, n: int) -> None:
    data = root / sid
    init_station(data, f"bench.example/{sid}")
    cfg = data / "config.toml"
    cfg.write_text(cfg.read_text().replace('synchronous = "FULL"', 'synchronous = "NORMAL"'))
    photo = b"\xff\xd8 bench photo " + sid.encode() + b"\xff\xd9" * 100
    sha = hashlib.sha256(photo).hexdigest()
    (data / "photos" / sha[:2]).mkdir(parents=True, exist_ok=True)
    (data / "photos" / sha[:2] / sha).write_bytes(photo)
    clock = FakeClock()
    ref = PhotoRef(sha, len(photo))
    with Ledger.open(data, clock=clock) as ledger:
        service = CustodyService(ledger, sample_directory(), notifier=ListNotifier(),
                                 clock=clock)
        seized = clock.now() - timedelta(hours=1)
        for c in range(20):  # real custody: cases registered, handed over and stored
            labels = [make_label("exhibit", 2026, c * 3 + k + 1).text for k in range(3)]
            service.register_case(
                f"C-{sid}-{c}", title=f"case {c}", officer="wang",
                items=[ItemSpec(lb, "exhibit", f"exhibit {lb}", 1, seized, "-") for lb in labels],
            )
            service.handover(f"C-{sid}-{c}", clerk="zhou", scanned=labels,
                             checklist={k: True for k in DEFAULT_CHECKLIST}, photos=[ref])
            for k, lb in enumerate(labels):
                service.store(lb, compartment=f"A/{c * 3 + k + 1}", photos=[ref], clerk="zhou")
        photo_ref = {"sha256": sha, "bytes": len(photo)}
        i = ledger.size
        while i < n:
            batch = [("item.note", {"note": f"核对无误 {j}", "photos": [photo_ref]}, "clerk:zhou")
                     for j in range(i, min(n, i + 500))]
            ledger.append_many(batch)
            i += len(batch)
        ledger.checkpoint()
    publish_tiles(data)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """``/<sid>/log/<path>`` -> ``<root>/<sid>/tiles/<path>``; photos from the photo store."""

    def translate_path(self, path: str) -> str:
        parts = path.split("?")[0].strip("/").split("/")
        root = Path(self.directory)
        if len(parts) >= 3 and parts[1] == "log":
            sid, rest = parts[0], parts[2:]
            if rest[0] == "photos" and len(rest) == 2:
                return str(root / sid / "photos" / rest[1][:2] / rest[1])
            return str(root / sid / "tiles" / "/".join(rest))
        return str(root / "nothing")

    def log_message(self, format: str, *args: object) -> None:
        return


def serve_static(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_Handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def config(root: Path, dsn: str, url: str, ids: list[str], poll: float) -> DistrictConfig:
    text = (f'[district]\ndata = "{root / "district"}"\npoll_seconds = {poll}\n'
            f'page_size = 100\n[database]\ndsn = "{dsn}"\n'
            '[[people]]\nid = "li"\nname = "Li"\nrole = "legal"\n')
    for sid in ids:
        key = (root / "stations" / sid / "station.vkey").read_text().strip()
        text += (f'[[stations]]\nid = "{sid}"\nurl = "{url}/{sid}/log/"\nkey = "{key}"\n'
                 'rules = { timezone = "Asia/Shanghai" }\n')
    return parse_district_config(text, "bench")


def catch_up(cfg: DistrictConfig, dsn: str) -> dict[str, float]:
    """Pull, ingest and fold every station once, timing each part."""
    create_schema(dsn)
    d = District(cfg)
    t_pull = t_ingest = t_fold = 0.0
    rows = 0
    t0 = time.perf_counter()
    for f in d.followers:
        m = f._mirror()
        t = time.perf_counter()
        m.pull()
        m.close()
        t_pull += time.perf_counter() - t
        t = time.perf_counter()
        rows += f.ingest(d.conn)
        t_ingest += time.perf_counter() - t
        t = time.perf_counter()
        fold_station(d.conn, cfg, f.station)
        t_fold += time.perf_counter() - t
    total = time.perf_counter() - t0
    d.close()
    return {"rows": rows, "total": total, "pull": t_pull, "ingest": t_ingest, "fold": t_fold}


def raw_copy(cfg: DistrictConfig, dsn: str) -> float:
    """The same rows, prepared in memory, by one COPY into a table shaped like ``entries``."""
    data: list[tuple[Any, ...]] = []
    for s in cfg.stations:
        f = Follower(cfg, s)
        size = f.mdir.complete_size()
        for seq, raw in _entries(f.mdir, 0, size):
            body = json.loads(raw)
            data.append((s.origin, seq, body["kind"], body["ts"], raw.decode(), raw))
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE raw_entries (LIKE entries INCLUDING ALL)")
        conn.commit()
        t = time.perf_counter()
        with conn.cursor() as cur, cur.copy(
            "COPY raw_entries (origin, seq, kind, ts, body, raw) FROM STDIN"
        ) as cp:
            for row in data:
                cp.write_row(row)
        conn.commit()
        return time.perf_counter() - t


def steady(cfg: DistrictConfig, root: Path, ids: list[str], seconds: float,
           every: float, url: str) -> list[float]:
    """Lags (s) from a station's published checkpoint to the screen showing its size."""
    stop = threading.Event()
    district = District(cfg)
    runner = threading.Thread(target=district.run, args=(stop,), daemon=True)
    runner.start()
    published: dict[tuple[str, int], float] = {}
    lags: list[float] = []
    _, token = create_token(cfg.database.dsn, cfg, "legal", "li")

    def writer() -> None:
        ledgers = {sid: Ledger.open(root / "stations" / sid) for sid in ids}
        try:
            k = 0
            while not stop.is_set():
                sid = ids[k % len(ids)]
                led = ledgers[sid]
                led.append("item.note", {"note": "steady"}, actor="clerk:zhou")
                led.checkpoint()
                publish_tiles(root / "stations" / sid)
                published[(sid, led.size)] = time.monotonic()
                k += 1
                stop.wait(every / len(ids))
        finally:
            for led in ledgers.values():
                led.close()

    w = threading.Thread(target=writer, daemon=True)
    with running_server(create_screen(cfg)) as screen, httpx.Client(base_url=screen) as http:
        w.start()
        end = time.monotonic() + seconds
        seen: dict[str, int] = {}
        while time.monotonic() < end:
            got = http.get("/api/stations", headers={"Authorization": f"Bearer {token}"},
                           timeout=30).json()
            now = time.monotonic()
            for s in got["stations"]:
                size = int(s["folded_size"])
                if size > seen.get(s["id"], 0):
                    for (sid, n), at in list(published.items()):
                        if sid == s["id"] and n <= size:
                            lags.append(now - at)
                            del published[(sid, n)]
                    seen[s["id"]] = size
            time.sleep(0.1)
        stop.set()
        w.join(30)
    runner.join(60)
    district.close()
    return lags


def dashboard(cfg: DistrictConfig, n: int = 200) -> dict[str, list[float]]:
    _, token = create_token(cfg.database.dsn, cfg, "legal", "li")
    h = {"Authorization": f"Bearer {token}"}
    label = make_label("exhibit", 2026, 1).text
    sid = cfg.stations[0].id
    times: dict[str, list[float]] = {"dashboard": [], "search": [], "item": []}
    with running_server(create_screen(cfg)) as url, httpx.Client(base_url=url) as http:
        paths = {"dashboard": "/?lang=en&ep=2", "search": f"/search?q=C-{sid}-1",
                 "item": f"/item/{sid}/{label}"}
        for path in paths.values():
            assert http.get(path, headers=h).status_code == 200, path
        for _ in range(n):
            for name, path in paths.items():
                t = time.perf_counter()
                r = http.get(path, headers=h)
                times[name].append(time.perf_counter() - t)
                assert r.status_code == 200
    return times


def trivial_baseline(n: int = 200) -> list[float]:
    """The same client and server harness answering a constant (the floor of a request
    here: a loaded 2-core machine, client and server in one process)."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/x")
    def x() -> dict[str, int]:
        return {"a": 1}

    out = []
    with running_server(app) as url, httpx.Client(base_url=url) as http:
        http.get("/x")
        for _ in range(n):
            t = time.perf_counter()
            http.get("/x")
            out.append(time.perf_counter() - t)
    return out


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.district", description=__doc__)
    ap.add_argument("--stations", type=int, default=50)
    ap.add_argument("--entries", type=int, default=20_000)
    ap.add_argument("--poll", type=float, default=2.0)
    ap.add_argument("--append-every", type=float, default=5.0)
    ap.add_argument("--steady-seconds", type=float, default=30.0)
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-district-"))
    pg = PgServer(free_port(), fsync=True).start()
    try:
        ids = [f"st{i:03d}" for i in range(args.stations)]
        t = time.perf_counter()
        for sid in ids:
            build_station(root / "stations", sid, args.entries)
        print(f"built {args.stations} stations x {args.entries} entries in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        server, url = serve_static(root / "stations")
        dsn = pg.create_database("bench")
        cfg = config(root, dsn, url, ids, args.poll)
        c = catch_up(cfg, dsn)
        rss_catchup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t_raw = raw_copy(cfg, dsn)
        rows = c["rows"]
        print(f"catch-up: {rows:,.0f} entries in {c['total']:.1f} s = {rows / c['total']:,.0f}/s "
              f"(verified pull {c['pull']:.1f} s, PG ingest {c['ingest']:.1f} s, projection "
              f"fold {c['fold']:.1f} s)")
        print(f"PG ingest {rows / c['ingest']:,.0f} entries/s vs raw COPY {rows / t_raw:,.0f}/s"
              f": ratio {t_raw / c['ingest']:.2f} (goal >= 0.5)", flush=True)
        times = dashboard(cfg)
        base = trivial_baseline()
        print(f"baseline, a constant answered by the same harness: p50 "
              f"{_pct(base, 50) * 1000:.1f} ms, p99 {_pct(base, 99) * 1000:.1f} ms")
        for name, ts in times.items():
            print(f"screen {name}: p50 {_pct(ts, 50) * 1000:.1f} ms, p99 "
                  f"{_pct(ts, 99) * 1000:.1f} ms (goal p99 <= 100 ms)")
        lags = steady(cfg, root, ids, args.steady_seconds, args.append_every, url)
        print(f"steady state ({len(lags)} checkpoints, poll {args.poll} s): lag p50 "
              f"{_pct(lags, 50):.2f} s, p95 {_pct(lags, 95):.2f} s (goal <= "
              f"{args.poll + 2:.1f} s)")
        print(f"peak RSS of the process after the catch-up: {rss_catchup:.0f} MB (the district, "
              "and the stations it built and serves; before the raw COPY's rows are loaded)")
        server.shutdown()
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
