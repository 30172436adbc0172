"""A station process for the crash test: checks in every handed-over item of one case,
printing ``ACK <label> <seq>`` after each acknowledged ledger write, then ``DONE``.

``python -m tests.integration.daemon_child DATA N``: registers case K-CRASH with N items
and hands them over if that was not done yet, then checks in what is still not stored.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from custody.domain.states import ItemState
from tests.integration.daemon_harness import running_station


async def main(data: Path, n: int) -> None:
    async with running_station(data.parent, data=data, compartments=n) as h:
        proj = h.rt.custody.projection
        if "K-CRASH" not in proj.cases:
            await h.register_and_hand_over("K-CRASH", "off1", list(range(1, n + 1)))
        print("READY", flush=True)
        for label in list(proj.cases["K-CRASH"].items):
            if proj.items[label].state is not ItemState.HANDED_OVER:
                continue
            step = await h.flows.check_in("clerk", await h.scan(label, "clerk"))
            print(f"ACK {label} {step.seqs[0]}", flush=True)
        await h.rt.feed()
    print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
