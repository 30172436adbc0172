"""Registering a case from the console and the kiosk (DESIGN.md §1 "Register, then hand
over within 24 hours"), on the daemon over hw_sim: the station numbers the case and its
labels, ``case.registered`` carries the manifest, the labels are printed (the simulated
printer, a real TCP peer), and a refused registration writes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from custody.domain.values import utc_text
from custody.label_prints import LABEL_PRINTED
from custody.labels import make_label
from hw_sim.printer_sim import SimulatedPrinter
from tests.integration.daemon_harness import PINS, running_station
from tests.integration.daemon_harness import drive_console as console


@pytest.fixture()
def sim() -> Iterator[SimulatedPrinter]:
    printer = SimulatedPrinter().start()
    try:
        yield printer
    finally:
        printer.stop()


def test_console_registers_a_case_and_prints_its_labels(
    sim: SimulatedPrinter, tmp_path: Path
) -> None:
    printer = f'\n[printer]\nurl = "tcp://{sim.address}"\ntimeout_s = 3\n'

    async def body() -> None:
        async with running_station(tmp_path, extra_config=printer) as h:
            zone = h.rt.custody.settings.zone
            when = (datetime.now(zone) - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")
            later = (datetime.now(zone) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
            year = datetime.now(zone).year
            text = await console(
                h, "register",  # nobody signed in: refused
                "signin", "B-1", "2468",
                "register", "盗窃案", "张三", "13800000000",
                "file", "询问笔录", "1", "", "", when,
                "exhibit", "手机", "2", "phone", "李四", when,
                "",
                "register", "bad", "", "exhibit", "x", "two", "", "", when,  # refused: quantity
                "register", "future", "", "exhibit", "x", "1", "", "", later, "",
                "register", "nothing described", "", "file", "", "1", "", "", when, "",
            )
            regs = [e for e in h.rt.ledger.entries() if e.kind == "case.registered"]
            assert len(regs) == 1, text
            reg = regs[0].body
            f1, e2 = make_label("case_file", year, 1).text, make_label("exhibit", year, 2).text
            assert reg["case"] == f"K{year}-0001" and reg["officer"] == "off1"
            assert reg["title"] == "盗窃案"
            assert reg["complainant"] == {"name": "张三", "contact": "13800000000"}
            phone = reg["items"][1]
            assert [i["label"] for i in reg["items"]] == [f1, e2]
            assert (phone["kind"], phone["description"], phone["quantity"],
                    phone["category"], phone["seized_from"]) == ("exhibit", "手机", 2,
                                                                  "phone", "李四")
            assert phone["seized_at"] == utc_text(
                datetime.strptime(when, "%Y-%m-%d %H:%M").replace(tzinfo=zone))
            printed = [e.body["item"] for e in h.rt.ledger.entries()
                       if e.kind == LABEL_PRINTED]
            assert printed == [f1, e2]
            assert f"registered case K{year}-0001: {f1}, {e2}" in text
            assert f"label(s) printed: {f1}, {e2}" in text
            assert "refused: not signed in" in text
            assert "refused: quantity 'two' must be a positive whole number" in text
            assert "is in the future" in text
            assert "description must not be empty" in text

    asyncio.run(body())


def test_kiosk_registers_a_case_over_http_and_a_bad_one_writes_nothing(
    tmp_path: Path,
) -> None:
    async def body() -> None:
        async with running_station(tmp_path, api=True) as h:
            zone = h.rt.custody.settings.zone
            now = datetime.now(zone)
            year = now.year
            when = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")  # datetime-local
            row = {"kind": "exhibit", "description": "现金", "quantity": "3",
                   "category": "cash", "seized_from": "王五", "seized_at": when}
            assert h.daemon.api_url is not None and h.daemon.kiosk_path is not None
            base = h.daemon.api_url + h.daemon.kiosk_path.rstrip("/")
            async with httpx.AsyncClient(base_url=base, timeout=60) as kiosk:
                async def post(**fields: Any) -> httpx.Response:
                    return await kiosk.post("/api/register", json={
                        "action_id": uuid.uuid4().hex, "title": "抢劫案",
                        "complainant_name": "", "complainant_contact": "", **fields})

                # a clerk may not register; the officer's home links the form
                await kiosk.post("/api/signin", json={"badge": "B-9", "pin": PINS["B-9"]})
                r = await post(items=[row])
                assert r.status_code == 403 and not r.json()["ok"], r.text
                r = await kiosk.post("/api/signin", json={"badge": "B-1", "pin": PINS["B-1"]})
                assert r.status_code == 200, r.text
                assert 'href="/register"' in (await kiosk.get("/officer")).text.replace(
                    h.daemon.kiosk_path.rstrip("/"), "")
                page = await kiosk.get("/register")
                assert page.status_code == 200 and 'id="register-form"' in page.text
                before = len(list(h.rt.ledger.entries()))
                future = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
                for bad, words in (({"quantity": "0"}, "quantity"),
                                   ({"quantity": "lots"}, "quantity"),
                                   ({"description": " "}, "description"),
                                   ({"seized_at": future}, "future"),
                                   ({"kind": "weapon"}, "kind")):
                    r = await post(items=[row, {**row, **bad}])
                    answer = r.json()
                    assert r.status_code == 409 and not answer["ok"], r.text
                    assert words in answer["message"], answer
                r = await post(items=[])
                assert r.status_code == 409 and "at least one item" in r.json()["message"]
                assert len(list(h.rt.ledger.entries())) == before  # nothing written

                r = await post(items=[row, {**row, "kind": "file", "description": "卷宗",
                                            "quantity": "1", "category": ""}],
                               complainant_name="赵六", complainant_contact="13900000000")
                answer = r.json()
                assert r.status_code == 200 and answer["ok"], r.text
            e1, f2 = make_label("exhibit", year, 1).text, make_label("case_file", year, 2).text
            assert answer["case"] == f"K{year}-0001" and answer["labels"] == [e1, f2]
            assert f"K{year}-0001" in answer["message"] and e1 in answer["message"]
            regs = [e.body for e in h.rt.ledger.entries() if e.kind == "case.registered"]
            assert len(regs) == 1 and regs[0]["officer"] == "off1"
            assert regs[0]["complainant"] == {"name": "赵六", "contact": "13900000000"}
            cash = regs[0]["items"][0]
            assert (cash["label"], cash["description"], cash["quantity"], cash["category"],
                    cash["seized_from"]) == (e1, "现金", 3, "cash", "王五")
            assert cash["seized_at"] == utc_text(
                datetime.strptime(when, "%Y-%m-%dT%H:%M").replace(tzinfo=zone))

    asyncio.run(body())
