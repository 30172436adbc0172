"""``locker token`` (through the real command line entry point) and ``locker api`` (a real
subprocess): tokens are printed once and stored hashed; the served API accepts them and
stops accepting a revoked one."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lockerd.cli import main
from tests.integration.api_support import REPO_ROOT, Station, auth, build_station, serve_station

ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def locker(*args: str) -> Done:
    """Run ``locker ARGS`` in this process (the same ``main`` the console script calls)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Done(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    st = build_station(tmp_path_factory.mktemp("cli"))
    try:
        yield st
    finally:
        st.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_token_create_prints_once_and_stores_a_hash(station: Station) -> None:
    done = locker("token", "create", "--data", str(station.data), "--role", "clerk",
                  "--person", "wu", "--note", "front desk")
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip()
    assert secret.startswith("lkr_") and "\n" not in secret
    assert "role clerk" in done.stderr and "shown once" in done.stderr
    raw = (station.data / "api.db").read_bytes()
    wal = station.data / "api.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert secret.encode() not in raw
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in raw
    listed = json.loads(locker("token", "list", "--data", str(station.data), "--json").stdout)
    mine = [t for t in listed if t["note"] == "front desk"]
    assert len(mine) == 1 and mine[0]["role"] == "clerk" and mine[0]["person"] == "wu"
    assert secret not in json.dumps(listed)
    text = locker("token", "list", "--data", str(station.data)).stdout
    assert mine[0]["id"] in text and "revoked" in text  # the fixture's revoked token


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "officer"], "needs --person"),
        (["--role", "janitor"], "unknown role 'janitor'"),
        (["--role", "legal"], "legal needs --person"),
    ],
)
def test_token_create_refuses_bad_input(station: Station, args: list[str], message: str) -> None:
    before = locker("token", "list", "--data", str(station.data), "--json").stdout
    done = locker("token", "create", "--data", str(station.data), *args)
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""
    assert locker("token", "list", "--data", str(station.data), "--json").stdout == before


def test_a_token_for_a_person_who_does_not_exist_is_refused(station: Station) -> None:
    config = station.data / "config.toml"
    before = config.read_text()
    config.write_text(before + '\n[[people]]\nid = "li"\nname = "Li"\nrole = "legal"\n')
    try:
        ghost = locker("token", "create", "--data", str(station.data), "--role", "legal",
                       "--person", "ghost")
        assert ghost.returncode == 2 and "no person 'ghost'" in ghost.stderr
        made = locker("token", "create", "--data", str(station.data), "--role", "legal",
                      "--person", "li")
        assert made.returncode == 0, made.stderr
    finally:
        config.write_text(before)  # the module's station is shared by the other tests
    with serve_station(station) as url:
        got = httpx.get(url + "/v1/cases", headers=auth(made.stdout.strip()), timeout=30)
    assert got.status_code == 200 and {c["case_id"] for c in got.json()["items"]} >= {"C-1"}


def test_token_commands_need_a_data_directory(tmp_path: Path) -> None:
    done = locker("token", "list", "--data", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "does not exist" in done.stderr
    assert locker("token", "revoke", "--data", str(tmp_path), "nope").returncode == 2


def test_locker_api_serves_and_honours_revocation(station: Station) -> None:
    made = locker("token", "create", "--data", str(station.data), "--role", "officer",
                  "--person", "wang")
    secret = made.stdout.strip()
    token_id = made.stderr.split()[1].rstrip(":")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockerd.cli", "api", "--data", str(station.data),
         "--port", str(port)],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
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
        who = httpx.get(url + "/v1/whoami", headers=auth(secret), timeout=30).json()
        assert who == {"token_id": token_id, "role": "officer", "person": "wang"}
        cases = httpx.get(url + "/v1/cases", headers=auth(secret), timeout=30).json()
        assert [c["case_id"] for c in cases["items"]] == ["C-1"]
        assert locker("token", "revoke", "--data", str(station.data), token_id).returncode == 0
        again = httpx.get(url + "/v1/cases", headers=auth(secret), timeout=30)
        assert again.status_code == 401 and "revoked" in again.json()["detail"]
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def test_locker_api_refuses_a_directory_without_a_ledger(tmp_path: Path) -> None:
    done = locker("api", "--data", str(tmp_path), "--port", "8080")
    assert done.returncode == 2 and "not a station data directory" in done.stderr
