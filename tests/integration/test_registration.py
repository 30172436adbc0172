"""Registering a case from the console and the kiosk (DESIGN.md §1 "Register, then hand
over within 24 hours"), on the daemon over hw_sim: the station numbers the case and its
labels, ``case.registered`` carries the manifest, the labels are printed (the simulated
printer, a real TCP peer), and a refused registration writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from custody.domain.values import utc_text
from custody.label_prints import LABEL_PRINTED
from custody.labels import make_label
from hw_sim.printer_sim import SimulatedPrinter
from lockerd.console import Console
from tests.integration.daemon_harness import Harness, running_station


@pytest.fixture()
def sim() -> Iterator[SimulatedPrinter]:
    printer = SimulatedPrinter().start()
    try:
        yield printer
    finally:
        printer.stop()


async def console(h: Harness, *lines: str) -> str:
    feed = iter(lines)
    out: list[str] = []

    async def read(prompt: str) -> str | None:
        return next(feed, None)

    await Console(h.daemon, read, out.append).run()
    return "\n".join(out)


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
