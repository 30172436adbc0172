"""A damaged ledger file is found when the daemon opens it, and the daemon refuses to run.

The file is a real SQLite ledger with one page of its entries table overwritten, as a
failing disk sector or a bad copy would leave it. ``PRAGMA quick_check`` finds it; the
store's own checks find a file that SQLite reads but the ledger never wrote (an
append-only trigger dropped). The refusal points at ``locker audit verify`` and at the
restore drill (docs/offsite.md), and exits 4 (docs/reliability.md).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from custody.ledger import Ledger
from custody.ledger.errors import LedgerDamagedError
from lockerd import exitcodes
from lockerd.cli import main
from tests.conftest import REPO_ROOT
from tests.ledger_support import make_station, raw_sql


def damage_a_page(db: Path) -> int:
    """Overwrite the middle of one leaf page of the entries table; returns its number."""
    conn = sqlite3.connect(db)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        (page,) = conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'entries' AND pagetype = 'leaf' "
            "ORDER BY pageno LIMIT 1 OFFSET 2"
        ).fetchone()
    finally:
        conn.close()
    with db.open("r+b") as f:
        f.seek((page - 1) * page_size + 8)  # past the page header's first bytes
        f.write(b"\xde\xad\xbe\xef" * 64)
    return int(page)


@pytest.fixture()
def station(tmp_path: Path) -> Path:
    return make_station(tmp_path, 400, photo=True)


def test_the_daemon_refuses_a_ledger_with_a_damaged_page(
    station: Path, tmp_path: Path
) -> None:
    damage_a_page(station / "ledger.db")
    with pytest.raises(LedgerDamagedError) as caught:
        Ledger.open(station, check=True)
    message = str(caught.value)
    assert "quick_check" in message
    assert f"locker audit verify --data {station}" in message and "docs/offsite.md" in message

    config = tmp_path / "daemon.toml"
    config.write_text(f'[station]\ndata_dir = "{station}"\n\n[api]\nport = 0\n')
    before = (station / "ledger.db").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "lockerd", "daemon", "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False, cwd=REPO_ROOT,
    )
    assert done.returncode == exitcodes.LEDGER_DAMAGED, done.stderr
    assert "Traceback" not in done.stderr
    line = done.stderr.strip().splitlines()[-1]  # after the daemon's own log lines
    assert line.startswith("locker: error: the ledger file") and "is damaged" in line
    assert "locker audit verify" in line and "docs/offsite.md" in line
    assert (station / "ledger.db").read_bytes() == before  # nothing written to it


def test_audit_verify_finds_a_damaged_file_does_not_verify(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage_a_page(station / "ledger.db")
    code = main(["audit", "verify", "--data", str(station), "--no-progress"])
    out, err = capsys.readouterr()
    # SQLite reads past the damaged page as if its rows were not there: the rows after it
    # are missing from the chain, so the ledger does not verify (not a crash, not "OK")
    assert code == exitcodes.NOT_VERIFIED, err
    assert out.startswith("TAMPERED: seq_mismatch at seq ") and "Traceback" not in err


def test_a_dropped_append_only_trigger_is_damage(station: Path) -> None:
    raw_sql(station)  # drops the triggers, as an attacker editing the file would
    with pytest.raises(LedgerDamagedError, match="append-only trigger meta_no_update is missing"):
        Ledger.open(station, check=True)


def test_a_file_that_is_not_a_database_is_refused_even_unchecked(station: Path) -> None:
    (station / "ledger.db").write_bytes(b"this is not SQLite" * 300)
    with pytest.raises(LedgerDamagedError, match="not a database"):
        Ledger.open(station)


def test_a_sound_ledger_passes_the_check(station: Path) -> None:
    with Ledger.open(station, check=True) as ledger:
        assert ledger.size == 400
        ledger.append("note.added", {"text": "after the check"}, actor="clerk:wang")
