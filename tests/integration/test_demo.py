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
    assert len(registered) == 3  # the day's two, and the evening's case with its stages
    for body in registered:
        assert _HAN.search(body["title"]), body
        assert body["items"] and all(_HAN.search(i["description"]) for i in body["items"]), body
    assert "officer 李伟 registers case C-2026-0101" in out
    # a case's statutory deadline: acceptance, detention, an arrest application that comes
    # late; the officer, the supervisor, the legal section told in turn, in Chinese, with the
    # next step named (in the ledger's notices and in their SMS)
    told = [line for line in out.splitlines() if "case notice -> " in line]
    assert [line.split("case notice -> ")[1].split(":")[0] for line in told] == [
        "officer off-li", "supervisor sup-zhao", "legal legal-chen"]
    for line in told:
        assert "案件C-2026-0103，当前环节：刑事拘留" in line and "拘留后提请批准逮捕" in line
        assert "下一步：制作提请批准逮捕书" in line and "第九十一条" in line
    assert "records the arrest application LATE" in out
    assert "case deadline detention.arrest_application closed" in out
    sms = [line for line in out.splitlines()
           if "SMS ->" in line and "C-2026-0103（刑事拘留）" in line]
    assert len(sms) == 3 and all("下一步：" in line for line in sms), sms
    stages = [e.body["stage"] for e in entries if e.kind == "case.stage"]
    assert stages[:3] == ["accepted", "filed", "detained"] and stages[-1] == "arrest_applied"


def test_demo_refuses_a_directory_with_data(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "something").write_text("x")
    res = subprocess.run(
        [sys.executable, "-m", "lockerd", "demo", "--once", "--data", str(tmp_path / "busy")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert res.returncode == 2
    assert "is not empty" in res.stderr
