"""A private PostgreSQL server in a folder, on a port: for the tests, ``locker district
demo`` and the benchmark (a production district points ``[database] dsn`` at its own server).

Debian's ``postgresql`` package ships the binaries under ``/usr/lib/postgresql/<ver>/bin``.
``initdb`` and ``postgres`` refuse to run as root, so when this process is root the cluster
folder is owned by the ``postgres`` user and every server command runs through ``runuser``.
The server listens on 127.0.0.1 only, with ``trust`` authentication (loopback, a throwaway
cluster); the caller chooses durability (``fsync=off`` for tests and demos).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from custody.errors import LockerError


class PgServerError(LockerError):
    """The private PostgreSQL server could not be found, set up or started."""


def bindir() -> Path:
    """The newest installed ``/usr/lib/postgresql/<ver>/bin`` (Debian's layout)."""
    base = Path("/usr/lib/postgresql")
    found = sorted(
        (p for p in base.glob("*/bin") if (p / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not found:
        raise PgServerError(
            "PostgreSQL is not installed (apt-get install -y postgresql; `make test` does it)"
        )
    return found[-1]


class PgServer:
    """One PostgreSQL cluster in ``root`` listening on ``127.0.0.1:port``."""

    def __init__(self, port: int, root: Path | None = None, *, fsync: bool = False) -> None:
        self.port = port
        # pytest's and the demo's folders are private to root: the server user needs its own
        self.root = root or Path(tempfile.mkdtemp(prefix="locker-pg-"))
        self.fsync = fsync
        self._as_root = os.geteuid() == 0

    @property
    def datadir(self) -> Path:
        return self.root / "pgdata"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise PgServerError(f"{' '.join(args[:2])}: {proc.stderr.strip() or proc.stdout}")

    def start(self, timeout: float = 60.0) -> PgServer:
        """initdb (first time) and start the server; returns when it accepts connections."""
        bins = bindir()
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        if not (self.datadir / "PG_VERSION").is_file():
            self._run(str(bins / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                f"-c fsync={'on' if self.fsync else 'off'} -c max_connections=200 "
                "-c shared_buffers=128MB")
        if not self.fsync:
            opts += " -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(bins / "pg_ctl"), "-D", str(self.datadir), "-o", opts,
                  "-l", str(self.root / "server.log"), "-w", "-t", str(int(timeout)), "start")
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.dsn(), connect_timeout=2).close()
                return self
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PgServerError(f"PostgreSQL did not accept connections: {exc}") from None
                time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """A fresh, empty database; returns its DSN."""
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def stop(self, *, remove: bool = True) -> None:
        """Stop the server (fast shutdown) and, by default, delete its folder."""
        if (self.datadir / "postmaster.pid").is_file():
            self._run(str(bindir() / "pg_ctl"), "-D", str(self.datadir), "-m", "fast",
                      "-w", "stop")
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)
