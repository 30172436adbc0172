"""``locker district demo``: a district of three simulated stations, on this machine.

Everything is real and on loopback: a PostgreSQL (a private cluster on a free port), the
district's Mosquitto, and per station a Mosquitto bridged to it (the lines
``locker district bridge-config`` prints), a scripted day (``locker demo --once
--station-id sN --broker ...``, so its alarms cross the bridge as they happen), its log
published with the district witness's cosignature (``locker log publish``) and served by
``locker api`` at ``/log/``; then the district follows the three into PostgreSQL and serves
the legal section's screen. The URLs and a legal token are printed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import uvicorn

from district.auth import create_token
from district.config import DistrictConfig, parse_district_config
from district.db import create_schema
from district.live import AlarmListener, bridge_config
from district.pgserver import PgServer
from district.screen import create_screen
from district.service import District
from lockerd.broker import MosquittoBroker, free_port

STATIONS = ("s1", "s2", "s3")


def _locker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "lockerd.cli", *args], capture_output=True,
                          text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"locker {' '.join(args[:2])}: {proc.stderr.strip()[-800:]}")
    return proc


def _wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def _config(root: Path, dsn: str, stations: list[tuple[str, str, str, str]]) -> DistrictConfig:
    text = f"""[district]
name = "demo-district"
data = "{root / 'district'}"
witness = "{root / 'witness'}"
poll_seconds = 2
silent_after_seconds = 3600

[database]
dsn = "{dsn}"

[[people]]
id = "li"
name = "李法"
role = "legal"
"""
    for sid, url, token, key in stations:
        text += (f'\n[[stations]]\nid = "{sid}"\nurl = "{url}"\ntoken = "{token}"\n'
                 f'key = "{key}"\nrules = {{ timezone = "Asia/Shanghai" }}\n'
                 f'\n[[people]]\nid = "sup-{sid}"\nname = "所长 {sid}"\nrole = "supervisor"\n'
                 f'station = "{sid}"\n')
    (root / "district.toml").write_text(text)
    return parse_district_config(text, str(root / "district.toml"))


def run_demo(folder: Path | None, *, once: bool) -> int:
    """Set the district up, print the URLs; serve until Ctrl-C (or return with ``once``)."""
    root = folder or Path(tempfile.mkdtemp(prefix="locker-district-"))
    root.mkdir(parents=True, exist_ok=True)
    out = print
    with ExitStack() as stack:
        pg = PgServer(free_port()).start()
        stack.callback(pg.stop)
        dsn = pg.create_database("district")
        create_schema(dsn)
        hub = MosquittoBroker(root / "district-mosquitto")
        hub.start(30)
        stack.callback(hub.stop)
        listener = AlarmListener(dsn, "demo-district", "127.0.0.1", hub.port).start()
        stack.callback(listener.stop)
        # the witness
        _locker("witness", "init", "--data", str(root / "witness"), "--name",
                "district.demo/witness")
        wvkey = _locker("witness", "status", "--data", str(root / "witness"),
                        "--json").stdout
        witness_key = json.loads(wvkey)["witness"]
        # the stations: a bridged broker each, then their scripted days, in parallel
        brokers = {}
        days = {}
        for sid in STATIONS:
            b = MosquittoBroker(root / f"{sid}-mosquitto")
            with b.config.open("a") as f:
                f.write(bridge_config(sid, "127.0.0.1", hub.port))
            b.start(30)
            stack.callback(b.stop)
            brokers[sid] = b
            days[sid] = subprocess.Popen(
                [sys.executable, "-m", "lockerd.cli", "demo", "--once", "--data",
                 str(root / sid), "--station-id", sid, "--broker", f"127.0.0.1:{b.port}"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
        for sid, proc in days.items():
            log, _ = proc.communicate(timeout=600)
            (root / f"{sid}-demo.log").write_text(log)
            if proc.returncode != 0:
                raise RuntimeError(f"locker demo for {sid} failed: {log[-800:]}")
        wport = free_port()
        for sid in STATIONS:
            key = (root / sid / "station.vkey").read_text().strip()
            _locker("witness", "add-log", "--data", str(root / "witness"), "--origin",
                    f"demo.evidence-locker.example/{sid}", "--key", key)
        witness = subprocess.Popen(
            [sys.executable, "-m", "lockerd.cli", "witness", "serve", "--data",
             str(root / "witness"), "--listen", f"127.0.0.1:{wport}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        stack.callback(_stop, witness)
        _wait_http(f"http://127.0.0.1:{wport}/")
        served = []
        for sid in STATIONS:
            data = root / sid
            with (data / "config.toml").open("a") as f:
                f.write(f'\n[[witness]]\nurl = "http://127.0.0.1:{wport}"\n'
                        f'key = "{witness_key}"\n')
            _locker("log", "publish", "--data", str(data), check=False)
            token = _locker("token", "create", "--data", str(data), "--role", "mirror",
                            "--note", "district").stdout.strip()
            port = free_port()
            api = subprocess.Popen(
                [sys.executable, "-m", "lockerd.cli", "api", "--data", str(data), "--port",
                 str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            stack.callback(_stop, api)
            _wait_http(f"http://127.0.0.1:{port}/log/checkpoint")
            key = (data / "station.vkey").read_text().strip()
            served.append((sid, f"http://127.0.0.1:{port}/log/", token, key))
        cfg = _config(root, dsn, served)
        district = District(cfg)
        stack.callback(district.close)
        for r in district.pass_once():
            row = district.conn.execute("SELECT cosigned_size FROM stations WHERE id = %s",
                                        (r.station,)).fetchone()
            out(f"  {r.station}: {r.size} entries mirrored into PostgreSQL, cosigned by the "
                f"district witness up to {row[0] if row else 0}"
                + (f" ({r.error})" if r.error else ""))
        _, legal = create_token(dsn, cfg, "legal", "li")
        _, sup = create_token(dsn, cfg, "supervisor", "sup-s1")
        port = free_port()
        out(f"district demo in {root}")
        out(f"  PostgreSQL: {pg.dsn('district')}")
        out(f"  district Mosquitto: 127.0.0.1:{hub.port} ({listener.received} alarms bridged "
            "so far)")
        out(f"  witness: http://127.0.0.1:{wport} ({witness_key})")
        for sid, url, _t, _k in served:
            out(f"  station {sid}: {url} (broker 127.0.0.1:{brokers[sid].port}, bridged)")
        out(f"  the screen: http://127.0.0.1:{port}/  legal token: {legal}")
        out(f"              supervisor of s1: {sup}")
        if once:
            return 0
        stop = threading.Event()
        follow = threading.Thread(target=district.run, args=(stop,), daemon=True)
        follow.start()
        stack.callback(follow.join, 30)
        stack.callback(stop.set)
        uvicorn.run(create_screen(cfg), host="127.0.0.1", port=port, log_level="warning")
    return 0


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
