"""The daemon serves the read API (live cabinets from its poller) and the kiosk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from api.auth import Role, TokenStore
from tests.integration.daemon_harness import Harness, running_station


def test_daemon_serves_the_api_and_the_kiosk(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        assert h.daemon.api_url is not None and h.daemon.kiosk_path == "/terminal/"
        [lb] = await h.register_and_hand_over("API-1", "off1", [61])
        step = await h.store("clerk", "API-1")
        store = TokenStore(h.data)
        _, secret = store.create(Role.AUDITOR, note="test")
        store.close()
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(base_url=h.daemon.api_url, timeout=30) as client:
            health = await client.get("/v1/health")
            assert health.status_code == 200
            item = await client.get(f"/v1/items/{lb}", headers=headers)
            assert item.status_code == 200, item.text
            assert item.json()["compartment"] == step.compartment
            cabs = await client.get("/v1/cabinets", headers=headers)
            assert cabs.status_code == 200, cabs.text
            assert "A" in cabs.text
            kiosk = await client.get("/terminal/", follow_redirects=True)
            assert kiosk.status_code == 200
            assert "<html" in kiosk.text.lower()

    async def main() -> None:
        async with running_station(tmp_path, api=True) as h:
            await body(h)

    asyncio.run(main())
