"""Real processes for the off-site tests: a station served by ``locker api`` (a
subprocess), a small HTTP proxy in the test process that can flip a byte of or slow down
chosen responses, and ``locker`` subcommands run as subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from api.auth import Role, TokenStore
from custody.ledger.publish import checkpoint_size, publish_tiles
from custody.ledger.tiles import tiles_for_size
from tests.integration.api_support import REPO_ROOT, Station, build_station

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class OffsiteStation:
    """A station with entries over several tiles, real photos, its tiles published, and
    tokens of role mirror and clerk."""

    st: Station
    mirror_token: str
    clerk_token: str
    photos: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.st.data


def make_offsite_station(root: Path, extra: int = 600) -> OffsiteStation:
    st = build_station(root)
    refs = [st.photo(f"exhibit shelf {i}") for i in range(6)]
    st.ledger.append_many(
        [
            ("item.note", {"note": f"shelf check {i}", "photos": [refs[i % len(refs)].to_json()]},
             "clerk:zhou")
            for i in range(extra)
        ]
    )
    st.ledger.checkpoint()
    publish_tiles(st.data)
    store = TokenStore(st.data)
    try:
        mirror_token = store.create(Role.MIRROR, note="off-site")[1]
        clerk_token = store.create(Role.CLERK, "zhou")[1]
    finally:
        store.close()
    return OffsiteStation(st, mirror_token, clerk_token, [r.sha256 for r in st.photo_refs])


@contextmanager
def locker_api(data: Path) -> Iterator[str]:
    """``locker api`` on a free port as a subprocess; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockerd.cli", "api", "--data", str(data), "--port", str(port)],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "locker api did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


class Proxy:
    """A forwarding HTTP proxy for GETs: ``flip`` holds path suffixes whose response body
    gets one byte flipped in transit; ``delay`` seconds are added to every answer;
    ``paths`` records what was asked for."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.flip: set[str] = set()
        self.delay = 0.0
        self.paths: list[str] = []
        self.before: Callable[[str], None] | None = None  # called with each path first
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.paths.append(self.path)
                if proxy.before is not None:
                    proxy.before(self.path)
                headers = {k: v for k, v in self.headers.items() if k.lower() == "authorization"}
                r = httpx.get(proxy.upstream + self.path, headers=headers, timeout=60)
                body = bytearray(r.content)
                if body and any(self.path.endswith(s) for s in proxy.flip):
                    body[len(body) // 2] ^= 0x01
                if proxy.delay:
                    time.sleep(proxy.delay)  # a slow link, not a wait for anything
                try:
                    self.send_response(r.status_code)
                    self.send_header("Content-Type", r.headers.get("content-type", "text/plain"))
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(bytes(body))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed mid-answer (the resume test does that)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def proxy_to(upstream: str) -> Iterator[Proxy]:
    p = Proxy(upstream)
    try:
        yield p
    finally:
        p.close()


def run_locker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``locker ARGS`` as a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "lockerd.cli", *args],
        env=ENV, capture_output=True, text=True, timeout=timeout,
    )


def mirror_args(url: str, mdir: Path, token: str, *more: str) -> list[str]:
    return ["mirror", "--from", url + "/log", "--data", str(mdir), "--token", token, *more]


def tree_files(root: Path) -> dict[str, bytes]:
    """The checkpoint and every tile and bundle of its tree under a tlog-tiles directory,
    by path (a station also keeps the narrower partial tiles of its older checkpoints)."""
    note = (root / "checkpoint").read_text()
    size = checkpoint_size(note)[0]
    out = {"checkpoint": note.encode()}
    for ref in tiles_for_size(size):
        out[ref.path] = (root / ref.path).read_bytes()
        if ref.level == 0:
            out[ref.bundle().path] = (root / ref.bundle().path).read_bytes()
    return out


def extra_files(root: Path) -> set[str]:
    """Files under ``tile/`` that are not in the tree of the directory's checkpoint."""
    have = {str(p.relative_to(root)) for p in (root / "tile").rglob("*") if p.is_file()}
    return have - set(tree_files(root))


def rewrite_history(
    data: Path, origin: str, tmp: Path, *, entry: int, field: str, value: str
) -> None:
    """The operator's attack: the station's entries again, but entry ``entry`` with
    ``field`` set to ``value``, plus a new one, signed with the station's own key and
    published over the station's tiles (the witness and the mirror must catch it)."""
    import shutil

    from custody.ledger import Ledger
    from custody.ledger.publish import TILES_DIR
    from custody.ledger.station import init_station
    from custody.testing import FakeClock

    forged = tmp / "forged"
    init_station(forged, origin)
    for name in ("station.key", "station.vkey"):
        shutil.copy(data / name, forged / name)
    with Ledger.open(data, readonly=True) as ledger:
        bodies = [e.body for e in ledger.entries()]
    reserved = {"v", "seq", "prev", "ts", "kind", "actor"}
    with Ledger.open(forged, clock=FakeClock()) as ledger:
        for i, body in enumerate(bodies):
            rest = {k: v for k, v in body.items() if k not in reserved}
            if i == entry:
                rest[field] = value
            ledger.append(body["kind"], rest, actor=body["actor"])
        ledger.append("item.note", {"note": "after the rewrite"}, actor="clerk:zhou")
        ledger.checkpoint()
    publish_tiles(forged)
    shutil.rmtree(data / TILES_DIR)
    shutil.copytree(forged / TILES_DIR, data / TILES_DIR)
