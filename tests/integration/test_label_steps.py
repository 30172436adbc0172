"""Labels printed by the one step service (issue #16), on the daemon over hw_sim with the
simulated printer (a real TCP peer): after a registration, at a handover for items without
a label, and on request from the kiosk (over HTTP) and the console. A printer fault never
fails the custody step; it is said clearly, and the label prints again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from custody.domain.values import ItemSpec
from custody.label_prints import LABEL_PRINTED
from custody.labels import make_label
from hw_sim.printer_sim import SimulatedPrinter
from tests.integration.daemon_harness import PINS, Harness, running_station
from tests.integration.daemon_harness import drive_console as console

A1, A2, B1, B2 = (make_label("case_file", 2026, n).text for n in (801, 802, 803, 804))


@pytest.fixture()
def sim() -> Iterator[SimulatedPrinter]:
    printer = SimulatedPrinter().start()
    try:
        yield printer
    finally:
        printer.stop()


def printed(h: Harness) -> list[Mapping[str, Any]]:
    return [e.body for e in h.rt.ledger.entries() if e.kind == LABEL_PRINTED]


def specs(*labels: str) -> list[ItemSpec]:
    seized = datetime.now(UTC) - timedelta(hours=1)
    return [ItemSpec(lb, "case_file", f"file {lb}", 1, seized) for lb in labels]


def test_registration_handover_and_reprint_print_labels(
    sim: SimulatedPrinter, tmp_path: Path
) -> None:
    printer = f'\n[printer]\nurl = "tcp://{sim.address}"\ntimeout_s = 3\n'

    async def main() -> None:
        async with running_station(tmp_path, api=True, extra_config=printer) as h:
            # a registration prints the new items' labels, each recorded
            reg = await h.steps.register_case("K-LB1", title="labels", officer="off1",
                                              items=specs(A1, A2))
            assert reg.labels.printed == (A1, A2) and not reg.labels.error
            assert len(sim.printed) == 2
            bodies = printed(h)
            assert [(b["item"], b["reason"], b["actor"]) for b in bodies] == [
                (A1, "registration", "off1"), (A2, "registration", "off1")]

            # no paper: the registration is recorded all the same, the fault is said
            sim.paper_out()
            reg2 = await h.steps.register_case("K-LB2", title="no paper", officer="off1",
                                               items=specs(B1, B2))
            assert "K-LB2" in h.rt.custody.projection.cases
            assert reg2.labels.error and "out of labels" in reg2.labels.error
            assert reg2.labels.not_printed == (B1, B2) and reg2.labels.printed == ()
            assert len(printed(h)) == 2 and len(sim.printed) == 2
            sim.resume()

            # the handover prints the labels its items lack (K-LB2's), and only those
            for lb in (B1, B2):
                await h.steps.scan_for_handover("clerk", "K-LB2", lb)
            checklist = {k: True for k in h.rt.custody.settings.lawfulness_checklist}
            done = await h.steps.commit_handover("clerk", "K-LB2", checklist, "")
            assert done.items == (B1, B2) and done.labels.printed == (B1, B2)
            assert [(b["item"], b["reason"]) for b in printed(h)[2:]] == [
                (B1, "handover"), (B2, "handover")]

            # the kiosk: a handover with the printer paused says so, in the person's language
            sim.refuse_next_job()
            assert h.daemon.api_url is not None and h.daemon.kiosk_path is not None
            base = h.daemon.api_url + h.daemon.kiosk_path.rstrip("/")
            async with httpx.AsyncClient(base_url=base, timeout=60) as kiosk:
                r = await kiosk.post("/api/signin", json={"badge": "B-9", "pin": PINS["B-9"]})
                assert r.status_code == 200, r.text
                await h.rt.call(h.rt.custody.register_case, "K-LB3", title="kiosk",
                                officer="off1", items=specs(make_label("case_file", 2026,
                                                                       805).text))
                label3 = make_label("case_file", 2026, 805).text
                r = await kiosk.post("/api/handover/K-LB3/scan",
                                     json={"action_id": uuid.uuid4().hex, "text": label3})
                assert r.status_code == 200, r.text
                r = await kiosk.post("/api/handover/K-LB3/commit", json={
                    "action_id": uuid.uuid4().hex, "checklist": checklist, "reason": ""})
                answer = r.json()
                assert r.status_code == 200 and answer["ok"], r.text
                assert answer["tone"] == "warn" and "未打印" in answer["message"]  # zh by default
                assert label3 in answer["message"] and "paused" in answer["message"]
                assert h.rt.custody.projection.items[label3].state.value == "handed_over"
                # the storage screen offers the reprint; the printer still paused: refused
                page = await kiosk.get("/storage/K-LB3")
                assert f'data-reprint="{label3}"' in page.text
                r = await kiosk.post("/api/label/reprint",
                                     json={"action_id": uuid.uuid4().hex, "label": label3})
                assert r.status_code == 409 and r.json()["key"] == "label.fault", r.text
                sim.resume()
                r = await kiosk.post("/api/label/reprint",
                                     json={"action_id": uuid.uuid4().hex, "label": label3})
                assert r.status_code == 200 and label3 in r.json()["message"], r.text
                assert printed(h)[-1]["reason"] == "reprint"
                assert printed(h)[-1]["actor"] == "clerk"

            # the console's reprint: a fault is a clear line; then it prints and is recorded
            sim.paper_out()
            text = await console(h, "signin", "B-1", PINS["B-1"], f"reprint {A1}")
            assert f"PRINTER: label(s) {A1} not printed" in text and "out of labels" in text
            sim.resume()
            before = len(printed(h))
            text = await console(h, "signin", "B-1", PINS["B-1"], f"reprint {A1}",
                                 "reprint NOPE")
            assert f"label(s) printed: {A1}" in text and "refused:" in text
            assert len(printed(h)) == before + 1
            last = printed(h)[-1]
            assert (last["item"], last["reason"], last["actor"]) == (A1, "reprint", "off1")

    asyncio.run(main())


def test_no_printer_configured_prints_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        async with running_station(tmp_path, api=True) as h:
            reg = await h.steps.register_case("K-NP", title="no printer", officer="off1",
                                              items=specs(A1))
            assert not reg.labels.enabled and reg.labels.printed == ()
            for lb in (A1,):
                await h.steps.scan_for_handover("clerk", "K-NP", lb)
            checklist = {k: True for k in h.rt.custody.settings.lawfulness_checklist}
            done = await h.steps.commit_handover("clerk", "K-NP", checklist, "")
            assert done.items == (A1,) and not done.labels.enabled
            assert printed(h) == []
            assert h.daemon.api_url is not None and h.daemon.kiosk_path is not None
            base = h.daemon.api_url + h.daemon.kiosk_path.rstrip("/")
            async with httpx.AsyncClient(base_url=base, timeout=60) as kiosk:
                r = await kiosk.post("/api/signin", json={"badge": "B-9", "pin": PINS["B-9"]})
                assert r.status_code == 200, r.text
                page = await kiosk.get("/storage/K-NP")
                assert A1 in page.text and "data-reprint" not in page.text  # no button
            text = await console(h, "signin", "B-9", PINS["B-9"], f"reprint {A1}")
            assert "refused: no label printer" in text

    asyncio.run(main())
