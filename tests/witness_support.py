"""Helpers for the witness tests: a real ``locker witness serve`` process on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from lockerd.cli import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def locker_cli(*args: str) -> str:
    """Run ``locker ARGS`` as a subprocess; its stdout (a non-zero exit fails the test)."""
    done = subprocess.run(
        [sys.executable, "-m", "lockerd", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"locker {' '.join(args)}: {done.stderr}"
    return done.stdout


def init_witness_dir(wdir: Path, name: str, origin: str, station_vkey: str) -> str:
    """``locker witness init`` + ``add-log`` (in this process); the witness's verifier key,
    taken from the LAST line ``init`` printed, as an operator would copy it."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["witness", "init", "--data", str(wdir), "--name", name]) == 0
        assert main(["witness", "add-log", "--data", str(wdir), "--origin", origin,
                     "--key", station_vkey]) == 0
    init_lines = [ln for ln in out.getvalue().splitlines() if ln]
    return init_lines[1]  # init printed two lines: the key is its last


class WitnessProcess:
    """``locker witness serve`` as a child process."""

    def __init__(self, wdir: Path, port: int | None = None) -> None:
        self.wdir = wdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> WitnessProcess:
        log = (self.wdir.parent / f"witness-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lockerd", "witness", "serve", "--data", str(self.wdir),
             "--listen", f"127.0.0.1:{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the witness did not start (exit {self.proc.poll()})")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
