"""A station process whose clock is shifted: ``python -m tests.integration.clock_child DATA
SHIFT_S`` runs the daemon on the station DATA (its ``config.toml``) with a clock SHIFT_S
seconds off the machine's (negative: behind), runs the daemon's rules tick twice (the clock
check comes first in it), then prints ``DONE <ledger size>`` and stops."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from custody.testing import ShiftedClock
from lockerd.config import load_config
from lockerd.daemon import Daemon


async def main(data: Path, shift_s: float) -> None:
    clock = ShiftedClock(datetime.now(UTC) + timedelta(seconds=shift_s))
    daemon = Daemon(load_config(data / "config.toml"), clock=clock)
    await daemon.start()
    try:
        # the rules tick, as the daemon's rules task runs it (on the custody thread, so a
        # tick of the task in between is serialised with these)
        for _ in range(2):
            await daemon.rules_tick()
        print(f"DONE {daemon.rt.ledger.size}", flush=True)
    finally:
        await daemon.stop()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2])))
