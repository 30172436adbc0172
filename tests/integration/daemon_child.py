"""A station process for the crash test: stores N handed-over cases of one item each,
printing ``ACK <label> <seq>`` after each acknowledged ledger write, then ``DONE``.

``python -m tests.integration.daemon_child DATA N``: registers cases K-CRASH-1..N (one
item each) and hands them over if that was not done yet, then stores what is not stored.
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
        cases = [f"K-CRASH-{i}" for i in range(1, n + 1)]
        for i, case_id in enumerate(cases, start=1):
            if case_id not in proj.cases:
                await h.register_and_hand_over(case_id, "off1", [i])
        print("READY", flush=True)
        for case_id in cases:
            [label] = proj.cases[case_id].items
            if proj.items[label].state is not ItemState.HANDED_OVER:
                continue
            await h.store("clerk", case_id)
            print(f"ACK {label} {proj.items[label].state_seq}", flush=True)
        await h.rt.feed()
    print("DONE", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
