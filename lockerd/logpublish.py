"""Publishing the ledger off the station: ``DATA/tiles/`` brought up to date (and, with
witnesses configured, cosignatures gathered), on demand (``locker log publish``) and in the
daemon after each checkpoint (:func:`run_log_publisher`).

Publishing reads the ledger through its own read-only connection, so it runs beside the
writer without taking the custody thread.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from custody.ledger.publish import PublishResult, publish_tiles
from custody.ledger.store import LedgerStore, connect
from lockerd.tasklog import log_retry

log = logging.getLogger(__name__)


def publish_log(data_dir: Path) -> PublishResult:
    """Bring the published log of a station up to its latest signed checkpoint."""
    return publish_tiles(data_dir)


def _latest_size(data_dir: Path) -> int:
    store = LedgerStore(connect(data_dir / "ledger.db", readonly=True))
    try:
        latest = store.latest_checkpoint()
        return latest.size if latest is not None else 0
    finally:
        store.close()


async def run_log_publisher(data_dir: Path, poll_seconds: float = 1.0) -> None:
    """Daemon task: publish whenever a new checkpoint has been signed (checkpoints are
    signed by the ledger on appends and by the daemon's timer alike, so this watches the
    stored checkpoints rather than one code path). A failure is logged and retried."""
    published = -1
    while True:
        try:
            size = await asyncio.to_thread(_latest_size, data_dir)
            if size != published:
                result = await asyncio.to_thread(publish_log, data_dir)
                published = result.size
                if result.tiles or result.bundles:
                    log.info("log published at size %d (%d tiles, %d bundles, %.0f ms)",
                             result.size, result.tiles, result.bundles, result.seconds * 1e3)
        except Exception as exc:
            log_retry(log, "publishing the log", exc)
        await asyncio.sleep(poll_seconds)
