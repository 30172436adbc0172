"""Helpers shared by the ledger tests: a clock at a fixed start, a station with entries, raw SQL."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from custody.ledger import Ledger
from custody.ledger.station import init_station
from custody.testing import FakeClock

ORIGIN = "test.example/station-1"


# the ledger tests' expected timestamps start here (microseconds, to test the rounding)
LEDGER_START = datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC)


def ledger_clock() -> FakeClock:
    """A clock that moves only when told to, starting at :data:`LEDGER_START`."""
    return FakeClock(LEDGER_START)


def set_ledger_config(data: Path, every_n: int, every_s: int) -> None:
    cfg = data / "config.toml"
    text = cfg.read_text()
    text = text.replace("checkpoint_every_entries = 100", f"checkpoint_every_entries = {every_n}")
    text = text.replace("checkpoint_every_seconds = 600", f"checkpoint_every_seconds = {every_s}")
    cfg.write_text(text)


def make_station(
    tmp: Path, n: int = 0, *, every_n: int = 100, every_s: int = 600, photo: bool = False
) -> Path:
    """A new station with ``n`` custody entries (and a photo referenced by each if asked)."""
    data = tmp / "station"
    init_station(data, ORIGIN)
    set_ledger_config(data, every_n, every_s)
    ref = None
    if photo:
        ref = put_photo(data, b"\xff\xd8 a photo of exhibit EV-1 \xff\xd9")
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        for i in range(n):
            body: dict[str, object] = {"item": f"EV-2026-{i:04d}", "compartment": "A-03"}
            if ref is not None:
                body["photos"] = [ref]
            ledger.append("item.checked_in", body, actor="clerk:wang")
    return data


def put_photo(data: Path, content: bytes) -> dict[str, object]:
    sha = hashlib.sha256(content).hexdigest()
    path = data / "photos" / sha[:2] / sha
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return {"sha256": sha, "bytes": len(content)}


def raw_sql(data: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    """Run SQL on the ledger file as an attacker would: triggers dropped first."""
    conn = sqlite3.connect(data / "ledger.db", isolation_level=None)
    try:
        for table in ("meta", "entries", "nodes", "checkpoints"):
            conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        for stmt in statements:
            conn.execute(stmt, params if "?" in stmt else ())
    finally:
        conn.close()
