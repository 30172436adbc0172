"""The daemon restarted on a clock behind its ledger (a dead RTC battery, a bad NTP step):
a real ``Daemon`` in a subprocess whose clock runs three hours behind the machine's, on a
station whose last entry was written at the machine's time. The jump is put on record (a
``clock.jump`` entry and an ``alarm.clock_jump``) before anything else is looked at, the
entries stay ordered by seq (their times go back), the ledger verifies, and a restart on
a right clock records nothing more."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from custody.clockwatch import BEHIND_LEDGER, CLOCK_JUMP
from custody.ledger import Ledger
from custody.ledger.station import init_station
from custody.ledger.verify import verify_data_dir
from tests.integration.api_support import REPO_ROOT

CONFIG = """
[station]
id = "t1"
origin = "test.example/t1"
rules_tick_seconds = 1
clock_jump_alarm_s = 300

[api]
enabled = false

[[people]]
id = "clerk"
name = "Clerk"
role = "clerk"
"""


def _run_child(data: Path, shift_s: float) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.clock_child", str(data), str(shift_s)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    done = [ln for ln in proc.stdout.splitlines() if ln.startswith("DONE ")]
    assert done, proc.stdout + proc.stderr[-4000:]
    return int(done[0].split()[1])


def _bodies(data: Path) -> list[dict[str, object]]:
    with Ledger.open(data) as ledger:
        return [dict(e.body) for e in ledger.entries()]


def test_a_daemon_restarted_on_a_clock_behind_its_ledger(tmp_path: Path) -> None:
    data = tmp_path / "station"
    init_station(data, "test.example/t1")
    (data / "config.toml").write_text(CONFIG, encoding="utf-8")
    with Ledger.open(data) as ledger:  # written at the machine's own time
        for n in range(3):
            ledger.append("test.note", {"n": n}, actor="test")
    before = _bodies(data)

    _run_child(data, -3 * 3600)

    after = _bodies(data)
    assert after[: len(before)] == before  # nothing before it touched
    new = after[len(before):]
    kinds = [b["kind"] for b in new]
    assert kinds[:2] == [CLOCK_JUMP, "alarm.clock_jump"], kinds
    jump = new[0]
    assert jump["cause"] == BEHIND_LEDGER and jump["actor"] == "lockerd"
    assert -3 * 3_600_000 - 120_000 < int(str(jump["jump_ms"])) < -3 * 3_600_000 + 120_000
    assert kinds.count(CLOCK_JUMP) == 1  # the second tick saw no new jump
    # order by seq; the times went back three hours, and that is fine
    assert [b["seq"] for b in after] == list(range(len(after)))
    last_before = datetime.fromisoformat(str(before[-1]["ts"]))
    assert datetime.fromisoformat(str(jump["ts"])) < last_before
    assert verify_data_dir(data).ok

    # the clock is right again: ahead of the ledger's last (wrong) entry is normal
    _run_child(data, 0)
    kinds_now = [b["kind"] for b in _bodies(data)]
    assert kinds_now.count(CLOCK_JUMP) == 1
    assert verify_data_dir(data).ok
