"""Items leaving custody through the console (``locker terminal``) over the one step service,
against hw_sim over Modbus: each kind asked for, approved and carried out at the cabinet by
three people; a self-approval, an item under hold and the wrong person at the cabinet
refused with nothing written; cash with two clerks; a temporary leave overdue escalates and
its return closes it; a daemon restart between approval and carrying out resumes the step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custody.domain.people import Complainant
from custody.domain.states import ItemState
from custody.domain.values import ItemSpec
from custody.errors import LockerError
from custody.labels import make_label
from tests.integration.daemon_harness import Harness, drive_console, running_station

E = {n: make_label("exhibit", 2026, 600 + n).text for n in range(1, 9)}
KINDS = {1: "examination", 2: "release_to_owner", 3: "transfer_with_case", 4: "destruction",
         5: "confiscation", 6: "court_production"}
SIGNIN = {"off1": ["signin", "B-1", "2468"], "sup": ["signin", "B-5", "5555"],
          "sup2": ["signin", "B-6", "6666"], "clerk": ["signin", "B-9", "8642"]}
RECIPIENT = ["马先生", "110101199001011234", "市检察院"]


async def console(h: Harness, lines: list[str]) -> str:
    """One console session fed these lines; everything it wrote."""
    return await drive_console(h, *lines)


async def setup(h: Harness) -> None:
    """A case with eight exhibits (E8 cash), handed over and stored in one compartment."""
    seized = datetime.now(UTC) - timedelta(hours=2)
    await h.rt.call(h.rt.custody.register_case, "K-LV", title="leaving", officer="off1",
                    complainant=Complainant("黄女士", "+8613900000000"),
                    items=[ItemSpec(lb, "exhibit", f"exhibit {n}", 1, seized,
                                    category="cash" if n == 8 else "")
                           for n, lb in E.items()])
    for lb in E.values():
        h.camera.show(lb)
        await h.steps.scan_for_handover("clerk", "K-LV", None)
    checklist = dict.fromkeys(h.rt.custody.settings.lawfulness_checklist, True)
    await h.steps.commit_handover("clerk", "K-LV", checklist, "")
    await h.store("clerk", "K-LV")


def requests(h: Harness) -> dict[str, int]:
    return {r.item: r.request for r in h.rt.custody.projection.leaves.values()}


def test_each_kind_through_the_console(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        await setup(h)
        lines = SIGNIN["off1"] + ["hold K-LV " + E[7], "evidence for trial"]
        for n, kind in KINDS.items():
            lines += [f"leave {E[n]} {kind}", "court decision", "D-18", "市检察院"]
        lines += [f"leave {E[7]} release_to_owner", "owner", "D-19", ""]  # held: refused
        lines += ["leaves", "quit"]
        size = h.rt.ledger.size
        text = await console(h, lines)
        assert "refused:" in text and "under a hold" in text
        asked = requests(h)
        assert set(asked) == {E[n] for n in KINDS}  # nothing written for the held one
        kinds = h.kinds()[size:]
        assert kinds.count("leave.requested") == 6 and kinds.count("hold.placed") == 1

        # the supervisor approves each; a supervisor's own request goes to another
        lines = SIGNIN["sup"]
        for n in KINDS:
            lines += [f"approve {asked[E[n]]}", "lawful"]
        lines += [f"leave {E[8]} release_to_owner", "owner", "D-20", "",
                  "approve 999999", "x"]
        text = await console(h, [*lines, "quit"])
        assert text.count("approved by sup") == 6 and "no leave request 999999" in text
        cash = requests(h)[E[8]]
        size = h.rt.ledger.size
        text = await console(h, SIGNIN["sup"] + [f"approve {cash}", "mine", "quit"])
        assert "refused:" in text and "someone else decides it" in text
        assert h.rt.ledger.size == size
        text = await console(h, SIGNIN["sup2"] + [f"approve {cash}", "ok", "quit"])
        assert f"leave request {cash} approved by sup2" in text

        # the wrong person at the cabinet: an officer, and a clerk alone for cash
        size = h.rt.ledger.size
        text = await console(h, SIGNIN["off1"] + [f"carryout {asked[E[1]]}", "quit"])
        assert "refused: officer may not do this" in text
        with pytest.raises(LockerError):
            await h.steps.leave.open("off1", asked[E[1]])
        with pytest.raises(LockerError, match="second clerk"):
            await h.steps.leave.open("clerk", cash)
        assert h.rt.ledger.size == size and h.steps.step("clerk") is None

        # the clerk carries each out at the cabinet (the simulated person takes it)
        for n in KINDS:
            h.camera.show(E[n])
            text = await console(h, SIGNIN["clerk"] + [f"carryout {asked[E[n]]}", *RECIPIENT,
                                                       "", "quit"])
            assert f"{E[n]} left custody ({KINDS[n]})" in text, text
        h.camera.show(E[8])
        text = await console(h, SIGNIN["clerk"] + [f"carryout {cash}", "B-8", "8888",
                                                   *RECIPIENT, "", "quit"])
        assert f"{E[8]} left custody (release_to_owner)" in text, text
        proj = h.rt.custody.projection
        for n in (2, 3, 4, 5, 8):
            assert proj.items[E[n]].state is ItemState.DISPOSED
        for n in (1, 6):
            assert proj.items[E[n]].state is ItemState.OUT_ON_LEAVE
        assert proj.leaves[cash].carried_out_by == ("clerk", "clerk2")
        assert proj.leaves[asked[E[1]]].recipient is not None
        out = [e.body for e in h.rt.ledger.entries() if e.kind == "leave.carried_out"]
        assert len(out) == 7 and all(b["receipt"]["sha256"] and b["photos"] for b in out)
        told = [n for n in proj.notices.values() if n.role == "complainant"
                and n.refs.get("stage") == "released"]
        assert len(told) == 2  # the two releases to the owner

        # examination overdue: the ladder escalates; its return closes it
        h.clock.advance(timedelta(days=15))
        sent = await h.rt.call(h.rt.custody.tick)
        assert any(n.refs.get("rule") == "leave" and n.person == "off1" for n in sent)
        text = await console(h, SIGNIN["clerk"] + [f"comeback {asked[E[1]]}",
                                                   "store K-LV", "quit"])
        assert f"{E[1]} is back (late)" in text, text
        assert proj.items[E[1]].state is ItemState.STORED
        h.clock.advance(timedelta(days=5))
        sent = await h.rt.call(h.rt.custody.tick)
        assert not [n for n in sent if n.refs.get("item") == E[1]]

    asyncio.run(_run(tmp_path, body))


def test_a_restart_between_approval_and_carrying_out_resumes(tmp_path: Path) -> None:
    root = tmp_path / "station"
    asked: dict[str, int] = {}

    async def before(h: Harness) -> None:
        await setup(h)
        await console(h, SIGNIN["off1"] + [f"leave {E[3]} transfer_with_case", "trial",
                                           "D-1", "市检察院", "quit"])
        asked.update(requests(h))
        await console(h, SIGNIN["sup"] + [f"approve {asked[E[3]]}", "ok", "quit"])

    async def after(h: Harness) -> None:
        assert h.rt.custody.projection.leaves[asked[E[3]]].status == "approved"
        h.camera.show(E[3])
        text = await console(h, SIGNIN["clerk"] + [f"carryout {asked[E[3]]}", *RECIPIENT,
                                                   "", "quit"])
        assert f"{E[3]} left custody (transfer_with_case)" in text, text
        assert h.rt.custody.projection.items[E[3]].state is ItemState.DISPOSED

    asyncio.run(_run(tmp_path, before, data=root))
    asyncio.run(_run(tmp_path, after, data=root))


async def _run(tmp_path: Path, body: Callable[[Harness], Awaitable[None]],
               data: Path | None = None) -> None:
    async with running_station(tmp_path, leave_people=True, data=data) as h:
        await body(h)
