"""The daemon on a disk that fills up and empties again (issue #17), end to end.

A real daemon (hw_sim cabinets, the simulated camera, the step service) keeps its data
directory on the small disk of tests/integration/disk_faults.py (a real 4 MiB tmpfs when
the test may mount one, else the injected full-disk layer). While the disk is full:

- the clerk's step fails with the disk-full message, first at its photo, then (with the
  photo taken while there was room) at its custody entry; the kiosk shows that message
  (its ``error.generic`` "Refused: ..."), the console prints it;
- the tasks that write on their own (the outbox feeder, the log publisher, the
  checkpoint timer) log one line naming the full disk and try again;
- the daemon does not stop, and nothing is half-written.

Once space is back, the same step is confirmed, the outbox and the published tiles catch
up, and the ledger and the tiles verify.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os

import pytest

from custody.errors import DiskFullError
from custody.ledger.publish import TILES_DIR, checkpoint_size
from custody.ledger.tiles import TileRef, root_from_tiles, split_tile
from custody.ledger.verify import verify_data_dir
from lockerd.mqtt import LEDGER_CURSOR
from scanner.errors import PhotoStoreFullError
from terminal.errors import message_for
from terminal.i18n import translate
from tests.integration.daemon_harness import Harness, running_station
from tests.integration.disk_faults import SmallDisk, small_disk

__all__ = ["small_disk"]  # the fixture, imported for pytest


def _disk_full_lines(caplog: pytest.LogCaptureFixture, what: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.getMessage().startswith(what) and "disk full" in r.getMessage()]


def _on_screen(exc: BaseException) -> str:
    """What the kiosk shows for this error of a step (its action handler's translation)."""
    key, params = message_for(exc)
    return translate(key, "en", **params)


def _published_size(h: Harness) -> int:
    path = h.data / TILES_DIR / "checkpoint"
    return checkpoint_size(path.read_text())[0] if path.is_file() else -1


def test_the_daemon_survives_a_full_disk_and_resumes(
    small_disk: SmallDisk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    async def body(h: Harness) -> None:
        rt = h.rt
        small_disk.watch(rt.ledger._store, "conn")  # (injected mode only)
        small_disk.watch(rt.outbox, "_db")
        (label,) = await h.register_and_hand_over("C-1", "off1", [1])
        await rt.call(rt.ledger.checkpoint)
        await h.until("first tiles published", lambda: _published_size(h) > 0)
        if small_disk.mode == "tmpfs":
            # SQLite reuses a WAL file's pages after a checkpoint: start both from an empty
            # WAL, so that every write from now on needs new pages of the disk
            await rt.call(rt.ledger._store.conn.execute, "PRAGMA wal_checkpoint(TRUNCATE)")
            await asyncio.to_thread(rt.outbox._db.execute, "PRAGMA wal_checkpoint(TRUNCATE)")

        step = await h.steps.open_store("clerk", "C-1")
        h.camera.show(*step.labels)
        await h.steps.wait_door("clerk")
        small_disk.fill()
        with pytest.raises(PhotoStoreFullError, match="disk full") as photo_full:
            await h.steps.photograph("clerk")
        assert _on_screen(photo_full.value).startswith("Refused: disk full")
        small_disk.free()
        await h.steps.photograph("clerk")  # the photo, while there is room

        def note_sign_and_fill() -> str:
            """An entry and a checkpoint just before the disk fills, in the custody thread:
            the feeder (which feeds through that thread) meets them on a full disk."""
            rt.ledger.append("test.note", {"text": "before the disk fills"}, actor="clerk:t")
            note = rt.ledger.checkpoint()
            small_disk.fill()
            return note

        # the tiles' own lock holds the publisher back until the disk is full
        lock = os.open(h.data / TILES_DIR / ".lock", os.O_RDWR)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            signed = await rt.call(note_sign_and_fill)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)
        size_before = rt.ledger.size
        with pytest.raises(DiskFullError, match="disk full") as entry_full:
            await h.steps.commit("clerk")
        assert _on_screen(entry_full.value).startswith("Refused: disk full while appending")
        await h.until("the log publisher meets the full disk",
                      lambda: bool(_disk_full_lines(caplog, "publishing the log failed")))
        await h.until("the outbox feeder meets the full disk",
                      lambda: bool(_disk_full_lines(caplog, "feeding the outbox")))
        assert rt.ledger.size == size_before  # nothing of the step was written
        assert not h.daemon.failed.is_set()
        assert all(not t.done() for t in h.daemon._tasks), "a task died of the full disk"
        published = (h.data / TILES_DIR / "checkpoint").read_text()
        assert checkpoint_size(published)[0] < checkpoint_size(signed)[0]
        assert not list((h.data / TILES_DIR).rglob("*.tmp"))

        small_disk.free()
        done = await h.steps.commit("clerk")  # the same step, confirmed again
        assert done.done and h.kinds()[-1] == "item.stored"
        assert h.steps.item(label).compartment == done.compartment
        final = await rt.call(rt.ledger.checkpoint)
        size, root, _origin = checkpoint_size(final)
        await h.until("the tiles catch up", lambda: _published_size(h) == size)
        await h.until("the outbox catches up", lambda: rt.outbox.cursor(LEDGER_CURSOR) == size - 1)
        tiles = h.data / TILES_DIR

        def get(ref: TileRef) -> list[bytes]:
            return split_tile((tiles / ref.path).read_bytes(), ref)

        assert root_from_tiles(size, get) == root
        assert not h.daemon.failed.is_set()

    async def main() -> None:
        async with running_station(small_disk.root, data=small_disk.root / "station") as h:
            await body(h)

    asyncio.run(main())
    report = verify_data_dir(small_disk.root / "station", workers=1)
    assert report.ok, report.summary()
    assert report.photos_checked >= 1
