"""The terminal flows driven from the console, against hw_sim over Modbus."""

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
        "handover K-CON clerk", "", "done", "y", "y", "y", "y",
        "we only have one file today",  # the reason: f2 is missing
        "checkin clerk",
        "checkin nobody",  # refused, the console goes on
        "checkout", "B-1", "0000",  # wrong PIN: refused
        "checkout", "B-1", "2468",
        "return clerk", "B-1", "2468", "", "done",
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

    asyncio.run(_run(tmp_path, body))
    text = "\n".join(out)
    assert f"read {f1}" in text
    assert f"missing {f2}" in text
    assert f"{f1} stored in A/" in text
    assert "refused: " in text and "wrong PIN" in text
    assert f"taken: {f1}" in text and f"back: {f1}" in text
    assert "cabinet A (online)" in text and "no alarms" in text
    assert "unknown command 'frobnicate'" in text
    assert "reason: " in "".join(prompts)


async def _run(tmp_path: Path, body: Callable[[Harness], Awaitable[None]]) -> None:
    async with running_station(tmp_path) as h:
        await body(h)
