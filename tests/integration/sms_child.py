"""A station process for the SMS crash test.

``python -m tests.integration.sms_child DATA MODEM [register]``: runs the daemon with SMS on
the modem at ``MODEM``; with ``register``, registers case K-KILL (its complainant is told by
SMS). Prints ``READY`` once the modem is set up, ``SENT`` once the ledger records the
``notice.sms_sent``, ``DELIVERED`` once it records ``notice.delivered``; then waits to be
killed (or runs until stdin closes).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from lockerd.daemon import Daemon
from tests.integration.sms_support import register, sms_station, until

KEY = "progress:K-KILL:received"


def status(daemon: Daemon) -> str:
    """(custody thread) The notice's delivery status as the ledger says."""
    custody = daemon.rt.custody
    with custody.lock:
        custody._sync()  # fold what the SMS task recorded
        record = custody.projection.deliveries.get(KEY)
    return "" if record is None else record.status


async def main(data: Path, modem: str, do_register: bool) -> None:
    async with sms_station(data, modem) as daemon:
        await until("modem ready", lambda: bool(
            daemon.sms and daemon.sms.last_status().get("ready")), timeout=60)
        print("READY", flush=True)
        if do_register:
            await register(daemon, "K-KILL")
        for wanted, line in ((("sent", "delivered"), "SENT"), (("delivered",), "DELIVERED")):
            while await daemon.rt.call(status, daemon) not in wanted:
                await asyncio.sleep(0.05)
            print(line, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], "register" in sys.argv[3:]))
