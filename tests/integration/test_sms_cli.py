"""``locker sim --modem-pty`` serves the simulated modem: a real AT dialogue with the process."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from notify.modem import AtModem
from notify.pdu import encode_submit
from notify.serialio import open_serial
from tests.conftest import REPO_ROOT


def test_locker_sim_serves_a_modem_that_prints_what_it_is_given() -> None:
    async def main() -> tuple[str, list[int]]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lockerd", "sim", "--no-tcp", "--modem-pty", "--json",
            cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        try:
            endpoints = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
            modem = AtModem(await open_serial(endpoints["modem"]), timeout_s=10)
            await modem.start()
            await modem.setup()
            refs = [await modem.send_pdu(p.hex, p.tpdu_length)
                    for p in encode_submit("+8613900000001", "取件提醒：请于18:00前归还卷宗。")]
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
            await modem.close()
        finally:
            proc.send_signal(signal.SIGINT)
            await asyncio.wait_for(proc.wait(), 30)
        return line, refs

    line, refs = asyncio.run(main())
    assert refs == [0]
    assert line == "sms to +8613900000001 (1 part(s)): 取件提醒：请于18:00前归还卷宗。"
