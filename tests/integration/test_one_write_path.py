"""One write path: the same scenario played through the kiosk over HTTP and through the
console, on two fresh stations, writes the same entries, compared entry by entry.

The scenario: two registrations, a handover with a missing item (and one without), storage,
a check-out, a return (where the file was) and its storage again, a door never opened, a
file put back into the wrong compartment. Both stations are the daemon on hw_sim over real
Modbus; the same simulated person works the doors. The kiosk is driven over real HTTP
(two signed-in browsers' worth of cookies), the console through its command lines.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from custody.domain.values import ItemSpec
from custody.labels import make_label
from lockerd.console import Console
from tests.integration.daemon_harness import PINS, Harness, running_station

F1, F2, E3, F4 = (make_label(k, 2026, n).text for k, n in
                  (("case_file", 71), ("case_file", 72), ("exhibit", 73), ("case_file", 74)))
REASON = "the exhibit is still at the lab"
DOOR_OPEN_S = 3  # the door never opened is judged after this long
# RFC 3339 times and local "2026-11-30 18:00" in notice texts: the two runs differ there
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?Z?)?")


async def register(h: Harness) -> None:
    """The officer's registrations (not a terminal step: the same call on both stations)."""
    seized = datetime.now(UTC) - timedelta(hours=2)
    cs = h.rt.custody
    await h.rt.call(cs.register_case, "K-EQ", title="one write path", officer="off1", items=[
        ItemSpec(F1, "case_file", "file one", 1, seized),
        ItemSpec(F2, "case_file", "file two", 1, seized),
        ItemSpec(E3, "exhibit", "a phone", 1, seized)])
    await h.rt.call(cs.register_case, "K-EQ2", title="second case", officer="off1",
                    items=[ItemSpec(F4, "case_file", "file four", 1, seized)])
    h.rt.ledger_changed()


# ---------------------------------------------------------------------------- the kiosk


class Kiosk:
    """One signed-in person at the kiosk, over HTTP."""

    def __init__(self, h: Harness, client: httpx.AsyncClient) -> None:
        self.h = h
        self.client = client

    async def act(self, route: str, **body: Any) -> httpx.Response:
        return await self.client.post(route, json={"action_id": uuid.uuid4().hex, **body})

    async def ok(self, route: str, **body: Any) -> dict[str, Any]:
        answer = await self.act(route, **body)
        assert answer.status_code == 200, (route, answer.text)
        data: dict[str, Any] = answer.json()
        return data

    async def commit(self) -> httpx.Response:
        """Confirm, pressing again while the door has not been worked yet (still shut, or
        still open)."""
        for _ in range(3000):
            answer = await self.act("/api/bay/commit")
            if answer.status_code != 409 or answer.json()["key"] not in (
                    "bay.open_first", "bay.close_door"):
                return answer
            await asyncio.sleep(0.01)
        raise AssertionError("the door was never worked")

    async def step(self, route: str, **body: Any) -> httpx.Response:
        """Open a compartment step, take its photo, confirm."""
        await self.ok(route, **body)
        await self.ok("/api/bay/photo")
        return await self.commit()


async def signed_in(h: Harness, badge: str) -> Kiosk:
    assert h.daemon.api_url is not None and h.daemon.kiosk_path is not None
    client = httpx.AsyncClient(base_url=h.daemon.api_url + h.daemon.kiosk_path.rstrip("/"),
                               timeout=60)
    answer = await client.post("/api/signin", json={"badge": badge, "pin": PINS[badge]})
    assert answer.status_code == 200, answer.text
    return Kiosk(h, client)


async def by_kiosk(h: Harness) -> None:
    clerk, officer = await signed_in(h, "B-9"), await signed_in(h, "B-1")
    try:
        h.camera.show(F1)
        await clerk.ok("/api/handover/K-EQ/scan")  # held up to the camera
        await clerk.ok("/api/handover/K-EQ/scan", text=F2)  # the handheld scanner
        checklist = dict.fromkeys(h.rt.custody.settings.lawfulness_checklist, True)
        refused = await clerk.act("/api/handover/K-EQ/commit", checklist=checklist)
        assert refused.json()["key"] == "handover.reason_required"
        await clerk.ok("/api/handover/K-EQ/commit", checklist=checklist, reason=REASON)
        await clerk.ok("/api/handover/K-EQ2/scan", text=F4)
        await clerk.ok("/api/handover/K-EQ2/commit", checklist=checklist)
        for case_id in ("K-EQ", "K-EQ2"):
            answer = await clerk.step(f"/api/store/{case_id}/open")
            assert answer.status_code == 200, answer.text
        assert (await officer.step("/api/checkout/open", label=F1)).status_code == 200
        assert (await officer.step("/api/return/open", text=F1)).status_code == 200
        assert (await clerk.step("/api/store/K-EQ/open")).status_code == 200
        h.person.plan("walk_away")  # the officer never opens the door
        await officer.ok("/api/checkout/open", label=F2)
        await h.until("the door never opened", lambda: "flow.failed" in h.kinds(),
                      timeout=DOOR_OPEN_S + 60)
        failed = await officer.act("/api/bay/commit")
        assert failed.status_code == 409 and failed.json()["key"] == "bay.failed"
        assert (await officer.step("/api/checkout/open", label=F4)).status_code == 200
        h.person.plan("forget")  # the file goes into another compartment
        wrong = await officer.step("/api/return/open", text=F4)
        assert wrong.status_code == 409 and wrong.json()["key"] == "bay.failed"
    finally:
        await clerk.client.aclose()
        await officer.client.aclose()


# ---------------------------------------------------------------------------- the console


async def by_console(h: Harness) -> None:
    out: list[str] = []
    lines = [
        "signin", "B-9", PINS["B-9"],
        "handover K-EQ", "", F2, "done", "y", "y", "y", "y", REASON,
        "handover K-EQ2", F4, "done", "y", "y", "y", "y",
        "store K-EQ", "store K-EQ2",
        "signin", "B-1", PINS["B-1"],
        f"checkout {F1}",
        "return", F1, "done",
        "signin", "B-9", PINS["B-9"],
        "store K-EQ",
        "signin", "B-1", PINS["B-1"],
        "plan walk_away", f"checkout {F2}",
        f"checkout {F4}",
        "plan forget", "return", F4, "done",
        "quit",
    ]
    feed = iter(lines)

    async def read(prompt: str) -> str | None:
        line = next(feed, None)
        while line is not None and line.startswith("plan "):  # the test's hand, not a command
            h.person.plan(line.split()[1])
            line = next(feed, None)
        if line == "" and "scan" in prompt:
            h.camera.show(F1)  # Enter: the camera reads the item held up
        return line

    await Console(h.daemon, read, out.append).run()
    text = "\n".join(out)
    assert "FAILED: compartment A/0: door not opened in time" in text, text
    assert f"FAILED: {F4} is not in compartment" in text, text


# ---------------------------------------------------------------------------- comparing


def comparable(body: Mapping[str, Any]) -> dict[str, Any]:
    """An entry without what differs between two runs: its place in its own chain, times,
    photo hashes (their count stays)."""
    return {key: len(value) if key == "photos" else _same(value)
            for key, value in body.items() if key not in ("seq", "prev", "ts")}


def _same(value: Any) -> Any:
    if isinstance(value, str):
        return TIME.sub("<time>", value)
    if isinstance(value, Mapping):
        return comparable(value)
    if isinstance(value, list):
        return [_same(v) for v in value]
    return value


async def played(tmp_path: Path, drive: Callable[[Harness], Awaitable[None]]
                 ) -> list[dict[str, Any]]:
    async with running_station(tmp_path, api=True, door_open_timeout_s=DOOR_OPEN_S) as h:
        await register(h)
        await drive(h)
        await h.rt.alarms.drain()
        return [dict(e.body) for e in h.rt.ledger.entries()]


def test_kiosk_and_console_write_the_same_entries(tmp_path: Path) -> None:
    async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        kiosk = await played(tmp_path / "kiosk", by_kiosk)
        console = await played(tmp_path / "console", by_console)
        return kiosk, console

    kiosk, console = asyncio.run(main())
    kinds = [e["kind"] for e in kiosk]
    assert kinds == [e["kind"] for e in console]
    # the scenario is all there, once
    assert kinds.count("case.handed_over") == 2 and kinds.count("item.checked_out") == 2
    assert kinds.count("item.returned") == 1 and kinds.count("item.stored") == 4
    assert kinds.count("flow.failed") == 1 and kinds.count("alarm.wrong_compartment") == 1
    handed = next(e for e in kiosk if e["kind"] == "case.handed_over")
    assert handed["missing"] == [E3] and handed["reason"] == REASON
    failed = next(e for e in kiosk if e["kind"] == "flow.failed")
    assert (failed["step"], failed["item"]) == ("not_opened", F2)
    returned = next(e for e in kiosk if e["kind"] == "item.returned")
    assert returned["compartment"] == "A/0" and returned["item"] == F1
    for n, (k, c) in enumerate(zip(kiosk, console, strict=True)):
        assert comparable(k) == comparable(c), f"entry {n} differs"
