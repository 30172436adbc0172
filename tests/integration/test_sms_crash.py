"""A daemon SIGKILLed between sending a text and its delivery report neither sends it again
nor loses it: the restarted daemon takes the late report and records the delivery."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from hw_sim.modem_sim import Behaviour, SimModem
from tests.conftest import REPO_ROOT
from tests.integration.sms_child import KEY
from tests.integration.sms_support import delivery_kinds, entries

LINE_S = 90.0  # a loaded machine may take long to start a daemon process


async def _start(data: Path, modem: str, *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.sms_child", str(data), modem, *extra,
        cwd=REPO_ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _expect(proc: asyncio.subprocess.Process, line: str) -> None:
    assert proc.stdout is not None
    while True:
        got = (await asyncio.wait_for(proc.stdout.readline(), LINE_S)).decode().strip()
        if not got:
            raise AssertionError(f"the station exited before printing {line}")
        if got == line:
            return


def test_sigkill_between_send_and_report_neither_resends_nor_loses(tmp_path: Path) -> None:
    data = tmp_path / "station"

    async def main() -> None:
        sim = SimModem(Behaviour(reports="manual"))  # reports held until the test says
        sim.start()
        try:
            first = await _start(data, sim.path, "register")
            await _expect(first, "READY")
            await _expect(first, "SENT")
            assert len(sim.held_reports) == 1
            first.send_signal(signal.SIGKILL)
            assert await first.wait() == -signal.SIGKILL

            second = await _start(data, sim.path)
            await _expect(second, "READY")
            assert sim.release_reports() == 1  # the network's report, late
            await _expect(second, "DELIVERED")
            assert second.stdin is not None
            second.stdin.close()
            await asyncio.wait_for(second.wait(), LINE_S)
        finally:
            sim.close()
        assert len(sim.messages) == 1 and sim.stats.cmgs_attempts == 1  # sent once only

    asyncio.run(main())
    assert delivery_kinds(data, KEY) == ["notice.sms_sent", "notice.delivered"]
    [sent] = entries(data, "notice.sms_sent")
    [delivered] = entries(data, "notice.delivered")
    assert delivered["references"] == sent["references"]
