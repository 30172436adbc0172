"""``locker terminal``'s console driving the step service, against hw_sim over Modbus:
sign-in with badge and PIN for every step, what to do at each compartment and why there."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from custody.domain.states import ItemState
from custody.domain.values import ItemSpec
from custody.labels import make_label
from lockerd.console import Console
from tests.integration.daemon_harness import Harness, running_station


def test_console_handover_checkin_checkout_return(tmp_path: Path) -> None:
    f1 = make_label("case_file", 2026, 501).text
    f2 = make_label("case_file", 2026, 502).text
    out: list[str] = []
    prompts: list[str] = []
    lines = [
        f"show {f1}",
        "handover K-CON",  # nobody signed in: refused
        "signin", "B-9", "8642",
        "handover K-CON", "", "done", "y", "y", "y", "y",
        "we only have one file today",  # the reason: f2 is missing
        "store K-CON",
        "store NOPE",  # refused, the console goes on
        "checkout",  # a clerk may not: refused
        "signin", "B-1", "0000",  # wrong PIN: refused
        "signin", "B-1", "2468",
        "checkout",
        "return", "", "done",
        "signin", "B-9", "8642",
        "store K-CON",  # the returned file, where its return put it
        "status",
        "alarms",
        "frobnicate",
        "quit",
    ]

    async def body(h: Harness) -> None:
        seized = datetime.now(UTC) - timedelta(hours=2)
        await h.rt.call(h.rt.custody.register_case, "K-CON", title="console", officer="off1",
                        items=[ItemSpec(f, "case_file", "file", 1, seized) for f in (f1, f2)])
        feed = iter(lines)

        async def read(prompt: str) -> str | None:
            prompts.append(prompt)
            return next(feed, None)

        await Console(h.daemon, read, out.append).run()
        proj = h.rt.custody.projection
        assert proj.items[f1].state is ItemState.STORED  # in, out, and back again
        assert proj.items[f2].state is ItemState.REGISTERED
        kinds = h.kinds()
        assert kinds.count("item.checked_out") == 1 and kinds.count("item.returned") == 1
        stored = [e.body for e in h.rt.ledger.entries() if e.kind == "item.stored"]
        assert len(stored) == 2 and stored[0]["compartment"] == stored[1]["compartment"]
        assert all(b["actor"] == "clerk" for b in stored)

    asyncio.run(_run(tmp_path, body))
    text = "\n".join(out)
    assert "refused: not signed in" in text
    assert f"ticked: {f1}" in text
    assert f"missing {f2}" in text
    assert "open A/0 now: put the item(s) in" in text and "a free compartment" in text
    assert "waiting for the door" in text
    assert f"{f1} stored in A/0" in text
    assert "refused: no case 'NOPE'" in text
    assert "refused: clerk may not do this" in text
    assert "wrong PIN" in text and "signed in: Officer One" in text
    assert f"{f1} taken from A/0" in text
    assert "goes back where it was taken from, A/0" in text and f"{f1} put back in A/0" in text
    assert "where its return put it" in text
    assert "cabinet A (online)" in text and "no alarms" in text
    assert "unknown command 'frobnicate'" in text
    assert "reason: " in "".join(prompts)


async def _run(tmp_path: Path, body: Callable[[Harness], Awaitable[None]]) -> None:
    async with running_station(tmp_path) as h:
        await body(h)
