"""A station process for the return-restart test.

``python -m tests.integration.return_child DATA first``: three cases of one file each are
stored in A/0, A/1, A/2; the officer takes the files of A/0 and A/2 out and brings the A/2
one back (``item.returned`` names A/2, where it was, while A/0 is free); the clerk's store
step then opens A/2 and the person has not touched the door yet: prints ``RETURNED <where>``
and ``OPENED <where>``, then waits to be killed.

``python -m tests.integration.return_child DATA again``: the restarted station stores the
returned file: prints ``FREE <first free compartment>`` and ``STORED <where>``, then ``DONE``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.integration.daemon_harness import running_station


async def first(data: Path) -> None:
    async with running_station(data.parent, data=data) as h:
        labels = [(await h.register_and_hand_over(f"K-{n}", "off1", [n]))[0] for n in (1, 2, 3)]
        for n in (1, 2, 3):
            await h.store("clerk", f"K-{n}")
        await h.check_out("off1", labels[0])
        await h.check_out("off1", labels[2])
        back = await h.return_file("off1", labels[2])
        print(f"RETURNED {back.compartment}", flush=True)
        h.person.plan("walk_away")
        step = await h.steps.open_store("clerk", "K-3")
        print(f"OPENED {step.compartment}", flush=True)
        await asyncio.Event().wait()  # killed here, the store step half done


async def again(data: Path) -> None:
    async with running_station(data.parent, data=data) as h:
        print(f"FREE {h.steps.hand.first_free()}", flush=True)
        step = await h.store("clerk", "K-3")
        print(f"STORED {step.compartment}", flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    phase = {"first": first, "again": again}[sys.argv[2]]
    asyncio.run(phase(Path(sys.argv[1])))
