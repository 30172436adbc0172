"""Case stages through the one step service, over real HTTP against the daemon: the
case-management system's write endpoint (a bad token, another role, an unknown stage, an
out-of-order stage, a reused event id: refused, logged, nothing written; the same event
again: answered, nothing written), an officer's stage at the kiosk and the console, and the
officer's and supervisor's case screens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from api.auth import TokenStore
from custody.domain.roles import Role
from custody.domain.values import ItemSpec
from custody.labels import make_label
from lockerd.console import Console
from tests.integration.daemon_harness import PINS, running_station

URL = "/terminal/case-system/stages"


def test_case_system_posts_and_refusals(tmp_path: Path) -> None:
    async def body() -> None:
        async with running_station(tmp_path, api=True) as h:
            seized = datetime.now(UTC) - timedelta(hours=1)
            await h.rt.call(h.rt.custody.register_case, "K-ST", title="盗窃", officer="off1",
                            items=[ItemSpec(make_label("case_file", 2026, 701).text,
                                            "case_file", "卷宗", 1, seized)])
            store = TokenStore(h.data)
            _, secret = store.create(Role.CASE_SYSTEM, note="case management")
            _, auditor = store.create(Role.AUDITOR)
            good = {"event_id": "cms-1", "case": "K-ST", "stage": "accepted",
                    "document": "受案登记表", "number": "受字1号"}
            assert h.daemon.api_url is not None
            async with httpx.AsyncClient(base_url=h.daemon.api_url, timeout=30) as client:
                async def post(payload: dict[str, str], token: str | None) -> httpx.Response:
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    return await client.post(URL, json=payload, headers=headers)

                size = h.rt.ledger.size
                refused = [
                    (await post(good, None), 401),
                    (await post(good, "not-a-token"), 401),
                    (await post(good, auditor), 403),
                    (await post({**good, "stage": "teleported"}, secret), 422),
                    (await post({**good, "stage": "detained"}, secret), 409),  # out of order
                    (await post({**good, "case": "NOPE"}, secret), 404),
                    (await post({**good, "extra": "x"}, secret), 422),
                ]
                for response, status in refused:
                    assert response.status_code == status, response.text
                    assert response.json()["ok"] is False
                assert h.rt.ledger.size == size  # nothing written
                total, rows = store.refusals()
                assert total == len(refused)
                assert {r.path for r in rows} == {URL.removeprefix("/terminal")}

                ok = await post(good, secret)
                assert ok.status_code == 200, ok.text
                assert ok.json()["stage"] == "accepted" and ok.json()["actor"] == "case_system"
                size = h.rt.ledger.size
                again = await post(good, secret)  # the same event: answered, not re-written
                assert again.json() == ok.json()
                reused = await post({**good, "stage": "filed"}, secret)
                assert reused.status_code == 409
                assert h.rt.ledger.size == size

                # an officer records the next stage at the console, through the step service
                out: list[str] = []
                feed = iter(["signin", "B-1", PINS["B-1"], "stage K-ST filed", "立案决定书",
                             "立字9号", "stage K-ST teleported", "", "", "cases", "quit"])

                async def read(prompt: str) -> str | None:
                    return next(feed, None)

                await Console(h.daemon, read, out.append).run()
                text = "\n".join(out)
                assert "recorded: case K-ST stage filed" in text
                assert "no stage 'teleported'" in text
                stages = [e.body for e in h.rt.ledger.entries() if e.kind == "case.stage"]
                assert [(b["stage"], b["actor"]) for b in stages] == [
                    ("accepted", "case_system"), ("filed", "off1")]

                # the officer's kiosk home lists the case deadline with its next step
                await h.steps.stages.record("off1", "K-ST", "detained", document="拘留证")
                sign = await client.post("/terminal/api/signin",
                                         json={"badge": "B-1", "pin": PINS["B-1"]})
                assert sign.status_code == 200
                home = await client.get("/terminal/officer")
                assert "拘留后提请批准逮捕" in home.text and "提请批准逮捕书" in home.text
                assert 'data-case="K-ST"' in home.text
                page = await client.get("/terminal/cases")
                assert page.status_code == 200 and 'data-point="detention.arrest_application"' \
                    in page.text
                assert 'id="custody-ladder"' not in page.text  # a supervisor's column
                # the form offers the stages the case may record next, and records one
                assert 'value="K-ST|family_notified"' in page.text
                assert 'value="K-ST|accepted"' not in page.text  # recorded already
                done = await client.post("/terminal/api/stage", json={
                    "action_id": "a-stage-1", "case": "K-ST", "stage": "family_notified",
                    "document": "拘留通知书", "number": "拘通字1号"})
                assert done.status_code == 200 and done.json()["seq"] > 0
                assert "K-ST" in done.json()["message"]
                late = await client.post("/terminal/api/stage", json={
                    "action_id": "a-stage-2", "case": "K-ST", "stage": "closed_nope",
                    "document": "x"})
                assert late.status_code == 422 and late.json()["ok"] is False

                # the read API serves the stages and the open case deadlines
                as_auditor = {"Authorization": f"Bearer {auditor}"}
                got = await client.get("/v1/cases/K-ST/stages", headers=as_auditor)
                assert got.status_code == 200
                assert [(s["stage"], s["name"]) for s in got.json()] == [
                    ("accepted", "刑事受案"), ("filed", "刑事立案"), ("detained", "刑事拘留"),
                    ("family_notified", "已通知家属（拘留）")]
                assert got.json()[0]["event_id"] == "cms-1"
                due = await client.get("/v1/case-deadlines", headers=as_auditor)
                points = {d["point"] for d in due.json()["items"]}
                assert "detention.arrest_application" in points
                assert (await client.get("/v1/cases/NOPE/stages", headers=as_auditor)).status_code \
                    == 404
                _, off2 = store.create(Role.OFFICER, person="off2")
                other = {"Authorization": f"Bearer {off2}"}
                assert (await client.get("/v1/cases/K-ST/stages", headers=other)).status_code \
                    == 403
                mine = await client.get("/v1/case-deadlines", headers=other)
                assert mine.json()["items"] == []
            store.close()

    asyncio.run(body())
