"""Items leaving custody through the kiosk over HTTP (the daemon's own /terminal, real
uvicorn, hw_sim over Modbus, the simulated person at the doors): every kind asked for,
approved and carried out by three people; a self-approval, an item under hold and the
wrong person at the cabinet refused with nothing written; cash with a second clerk; a hold
lifted with another supervisor's badge and PIN; an overdue examination escalates and its
return closes it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from custody.domain.states import ItemState
from tests.integration.daemon_harness import PINS, Harness, running_station
from tests.integration.test_leave_console import KINDS, E, requests, setup
from tests.integration.test_one_write_path import Kiosk, signed_in

DOCS = {"decision_no": "D-18", "receiving_unit": "市检察院"}


async def carry_out(clerk: Kiosk, request: int, **second: str) -> httpx.Response:
    """Open, record the recipient and the receipt, photograph, confirm (pressing again
    while the simulated person has not worked the door yet)."""
    await clerk.ok(f"/api/leave/{request}/open", **second)
    await clerk.ok("/api/leave/receipt", name="马先生", id_number="110101199001011234")
    await clerk.ok("/api/leave/photo")
    for _ in range(3000):
        answer = await clerk.act("/api/leave/commit")
        if answer.status_code != 409 or answer.json()["key"] not in (
                "bay.open_first", "bay.close_door"):
            return answer
        await asyncio.sleep(0.01)
    raise AssertionError("the door was never worked")


async def refused_nothing_written(h: Harness, kiosk: Kiosk, route: str, status: int,
                                  **body: Any) -> dict[str, Any]:
    size = h.rt.ledger.size
    answer = await kiosk.act(route, **body)
    assert answer.status_code == status, answer.text
    assert h.rt.ledger.size == size
    data: dict[str, Any] = answer.json()
    return data


def test_each_kind_through_the_kiosk(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await setup(h)
        officer, sup, sup2, clerk = [await signed_in(h, b) for b in ("B-1", "B-5", "B-6", "B-9")]
        try:
            await officer.ok("/api/leave/hold", case="K-LV", label=E[7],
                             reason="evidence for trial")
            assert [b.item for b in h.rt.custody.projection.holds.values()] == [E[7]]
            held = await refused_nothing_written(
                h, officer, "/api/leave/request", 409, label=E[7], kind="release_to_owner",
                reason="owner", **DOCS)
            assert "hold" in held["message"]
            for n, kind in KINDS.items():
                await officer.ok("/api/leave/request", label=E[n], kind=kind,
                                 reason="court decision", **DOCS)
            asked = requests(h)
            assert set(asked) == {E[n] for n in KINDS}
            await refused_nothing_written(h, officer, f"/api/leave/{asked[E[1]]}/decide", 403,
                                          approve=True, reason="")
            for n in KINDS:
                done = await sup.ok(f"/api/leave/{asked[E[n]]}/decide", approve=True,
                                    reason="lawful")
                assert done["status"] == "approved"
            # a supervisor's own request: refused to them, approved by another
            await sup.ok("/api/leave/request", label=E[8], kind="release_to_owner",
                         reason="owner", **DOCS)
            cash = requests(h)[E[8]]
            mine = await refused_nothing_written(h, sup, f"/api/leave/{cash}/decide", 409,
                                                 approve=True, reason="mine")
            assert "someone else decides it" in mine["message"]
            await sup2.ok(f"/api/leave/{cash}/decide", approve=True, reason="ok")

            # lifting the hold: never approved by the supervisor who asks; then the release
            mine = await refused_nothing_written(
                h, sup, "/api/leave/lift", 409, case="K-LV", label=E[7], reason="verdict",
                badge="B-5", pin=PINS["B-5"])
            assert "another supervisor approves it" in mine["message"]
            await officer.ok("/api/leave/lift", case="K-LV", label=E[7], reason="verdict final",
                             badge="B-5", pin=PINS["B-5"])
            lifted = [e.body for e in h.rt.ledger.entries() if e.kind == "hold.lifted"]
            assert [(b["requested_by"], b["actor"]) for b in lifted] == [("off1", "sup")]
            await officer.ok("/api/leave/request", label=E[7], kind="release_to_owner",
                             reason="owner", **DOCS)

            # the wrong person at the cabinet: an officer; a clerk alone for cash
            await refused_nothing_written(h, officer, f"/api/leave/{asked[E[1]]}/open", 403)
            alone = await refused_nothing_written(h, clerk, f"/api/leave/{cash}/open", 409)
            assert "second clerk" in alone["message"]
            assert h.steps.step("clerk") is None  # no door was opened

            for n in KINDS:
                answer = await carry_out(clerk, asked[E[n]])
                assert answer.status_code == 200, answer.text
            answer = await carry_out(clerk, cash, badge="B-8", pin=PINS["B-8"])
            assert answer.status_code == 200, answer.text

            # the examination is overdue: its ladder climbs; it comes back, the ladder stops
            h.clock.advance(timedelta(days=15))
            sent = await h.rt.call(h.rt.custody.tick)
            assert [(n.person, n.refs["rule"]) for n in sent if n.refs.get("item") == E[1]] == [
                ("off1", "leave"), ("sup", "leave")]  # due 14 days on; a day later: sup
            await clerk.client.aclose()
            clerk = await signed_in(h, "B-9")  # two weeks on: the idle lock ended the session
            await clerk.ok(f"/api/leave/{asked[E[1]]}/back")
            assert h.rt.custody.projection.items[E[1]].state is ItemState.RETURNED
            assert h.rt.custody.projection.leaves[asked[E[1]]].late
            h.clock.advance(timedelta(days=5))
            sent = await h.rt.call(h.rt.custody.tick)
            # the leave's ladder is closed (waiting to be stored is the catalogue's own point)
            assert not [n for n in sent if n.refs.get("item") == E[1]
                        and n.refs.get("rule") == "leave"]
        finally:
            for k in (officer, sup, sup2, clerk):
                await k.client.aclose()
        proj = h.rt.custody.projection
        for n in (2, 3, 4, 5, 8):
            assert proj.items[E[n]].state is ItemState.DISPOSED
        assert proj.items[E[6]].state is ItemState.OUT_ON_LEAVE
        assert proj.leaves[cash].carried_out_by == ("clerk", "clerk2")
        out = [e.body for e in h.rt.ledger.entries() if e.kind == "leave.carried_out"]
        assert len(out) == 7 and all(b["actor"] == "clerk" and b["receipt"] for b in out)
        assert all(b["recipient"]["unit"] == "市检察院" for b in out)

    async def run() -> None:
        async with running_station(tmp_path, api=True, leave_people=True) as h:
            await body(h)

    asyncio.run(run())
