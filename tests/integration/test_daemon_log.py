"""The daemon publishes the log after each checkpoint and serves it at ``/log/``."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import httpx

from custody.ledger.publish import TILES_DIR, checkpoint_size
from tests.integration.daemon_harness import Harness, running_station


def test_daemon_publishes_tiles_after_each_checkpoint(tmp_path: Path) -> None:
    async def body(h: Harness) -> None:
        published = h.data / TILES_DIR / "checkpoint"

        def at(size: int) -> bool:
            return published.is_file() and checkpoint_size(published.read_text())[0] == size

        for round_ in range(2):
            for i in range(3):
                await h.rt.call(h.rt.ledger.append, "test.note", {"n": i, "round": round_},
                                actor="clerk:test")
            note = await h.rt.call(h.rt.ledger.checkpoint)
            size = checkpoint_size(note)[0]
            await h.until(f"tiles at size {size}", functools.partial(at, size))
            assert h.daemon.api_url is not None
            async with httpx.AsyncClient(base_url=h.daemon.api_url, timeout=30) as client:
                served = await client.get("/log/checkpoint")
                assert served.status_code == 200 and served.text == note
                tile = await client.get(f"/log/tile/0/000.p/{size}")
                assert tile.status_code == 200 and len(tile.content) == 32 * size

    async def main() -> None:
        async with running_station(tmp_path, api=True) as h:
            await body(h)

    asyncio.run(main())
