"""``locker demo --once`` plays the whole scripted day and exits 0 with a verified ledger."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from custody.domain.languages import Language
from custody.ledger.ledger import Ledger
from custody.ledger.verify import verify_data_dir
from lockerd.config import load_config
from tests.conftest import REPO_ROOT

_HAN = re.compile(r"[\u4e00-\u9fff]")


def test_demo_once_plays_the_day_and_verifies(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    res = subprocess.run(
        [sys.executable, "-m", "lockerd", "demo", "--once", "--mqtt", "--data", str(data)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = res.stdout
    for expected in (
        "takes over C-2026-0102: MISSING",
        "removal confirmed",
        "LATE (late=True)",
        "notice -> supervisor sup-zhao",
        "ALARM alarm.door_forced",
        "ALARM alarm.item_removed",
        "verification: OK",
        "0 pending",
    ):
        assert expected in out, out
    assert "PROBLEM" not in out
    assert verify_data_dir(data, workers=1).ok  # --data keeps the station
    with Ledger.open(data, readonly=True) as ledger:
        entries = list(ledger.entries())
    kinds = [e.kind for e in entries]
    assert kinds.count("item.checked_out") == 3 and kinds.count("alarm.door_forced") == 1
    # the screens are Chinese by default: so are the demo's people, cases and items
    cfg = load_config(data / "config.toml")
    assert cfg.terminal.language is Language.ZH_CN
    assert all(_HAN.search(p.name) for p in cfg.people)
    registered = [e.body for e in entries if e.kind == "case.registered"]
    assert len(registered) == 2
    for body in registered:
        assert _HAN.search(body["title"]), body
        assert body["items"] and all(_HAN.search(i["description"]) for i in body["items"]), body
    assert "officer 李伟 registers case C-2026-0101" in out


def test_demo_refuses_a_directory_with_data(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "something").write_text("x")
    res = subprocess.run(
        [sys.executable, "-m", "lockerd", "demo", "--once", "--data", str(tmp_path / "busy")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert res.returncode == 2
    assert "is not empty" in res.stderr
