"""A full disk (ENOSPC) during an append, a photo write, an outbox write and a tile publish
(issue #17).

Each write meets the full disk and answers with a :class:`DiskFullError` subclass, leaves
nothing half-written (no part of a batch, no photo without its metadata and thumbnail, no
message without its cursor), and the same work succeeds once space is back. On a machine
where the test may mount (root: CI, the build machine) the disk is a real 4 MiB tmpfs;
elsewhere the fault is injected (tests/integration/disk_faults.py); each test asserts which
ran, and docs/reliability.md says which runs where.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import custody.ledger.station
from custody.errors import DiskFullError
from custody.ledger import Ledger
from custody.ledger.publish import TILES_DIR, checkpoint_size, publish_tiles
from custody.ledger.station import init_station
from custody.ledger.tiles import TileRef, root_from_tiles, split_tile, tiles_for_size
from custody.ledger.verify import verify_data_dir
from lockerd import exitcodes
from lockerd.cli import main
from lockerd.outbox import OutboxFullError, OutboxStore, OutMessage
from scanner.camera import encode_frame
from scanner.errors import PhotoStoreFullError
from scanner.photostore import FilePhotoStore
from tests.integration.disk_faults import SmallDisk, small_disk

__all__ = ["small_disk"]  # the fixture, imported for pytest

EXPECTED_MODE = (
    "injected"
    if os.environ.get("EVIDENCE_LOCKER_DISK_FAULTS") == "inject" or os.geteuid() != 0
    else "tmpfs"
)


def _photo(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return encode_frame(rng.integers(0, 256, size=(240, 320, 3), dtype=np.uint8))


def _meta() -> dict[str, object]:
    return {"time": "2026-12-06T08:00:00.000Z", "camera": "cam-1", "labels": [],
            "other_reads": []}


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("ballast-")
    }


def _items(n: int, tag: str) -> list[tuple[str, dict[str, object], str]]:
    return [("note.added", {"text": f"{tag} {i} " + "x" * 300}, "clerk:wang") for i in range(n)]


def test_the_disk_fixture_is_what_it_says(small_disk: SmallDisk) -> None:
    assert small_disk.mode == EXPECTED_MODE


def test_an_append_on_a_full_disk_is_refused_whole_and_done_when_space_returns(
    small_disk: SmallDisk,
) -> None:
    paths = init_station(small_disk.root / "station", "test.example/full")
    store = FilePhotoStore(paths.root)
    with Ledger.open(paths.root) as ledger:
        small_disk.watch(ledger._store, "conn")
        ledger.append_many(_items(20, "before"))
        # the step: its photo first (there is space), then its entry (the disk is full)
        ref = store.put(_photo(1), _meta())
        small_disk.fill()
        with pytest.raises(DiskFullError, match="disk full"):
            ledger.append("item.stored", {"item": "EV-1", "photos": [
                {"sha256": ref.sha256, "bytes": ref.bytes}]}, actor="clerk:wang")
        with pytest.raises(DiskFullError):
            ledger.append_many(_items(50, "during"))
        assert ledger.size == 20
        assert [e.seq for e in ledger.entries()] == list(range(20))
        small_disk.free()
        again = store.put(_photo(1), _meta())  # redoing the step: the photo is already there
        entry = ledger.append("item.stored", {"item": "EV-1", "photos": [
            {"sha256": again.sha256, "bytes": again.bytes}]}, actor="clerk:wang")
        assert entry.seq == 20
        ledger.append_many(_items(5, "after"))
    report = verify_data_dir(paths.root, workers=1)
    assert report.ok, report.summary()
    assert report.size == 26 and report.photos_checked == 1


def test_a_photo_on_a_full_disk_is_not_kept_at_all(small_disk: SmallDisk) -> None:
    store = FilePhotoStore(small_disk.root / "station")
    first = store.put(_photo(1), _meta())
    before = _files(small_disk.root)
    small_disk.fill()
    with pytest.raises(PhotoStoreFullError, match="disk full") as caught:
        store.put(_photo(2), _meta())
    assert isinstance(caught.value, DiskFullError)
    assert _files(small_disk.root) == before  # no photo, no sidecar, no temporary file
    small_disk.free()
    second = store.put(_photo(2), _meta())
    for ref in (first, second):
        assert store.get(ref.sha256) == _photo(1 if ref is first else 2)
        assert store.meta_path(ref.sha256).is_file() and store.thumb_path(ref.sha256).is_file()


def test_an_outbox_write_on_a_full_disk_moves_nothing(small_disk: SmallDisk) -> None:
    store = OutboxStore(small_disk.root / "outbox.db")
    small_disk.watch(store, "_db")
    try:
        store.enqueue_many([OutMessage("t/a", str(i).encode()) for i in range(5)],
                           cursor=("ledger", 4))
        small_disk.fill()
        batch = [OutMessage("t/a", b"y" * 2000 + str(i).encode()) for i in range(50)]
        with pytest.raises(OutboxFullError, match="disk full"):
            store.enqueue_many(batch, cursor=("ledger", 54))
        assert store.cursor("ledger") == 4 and len(store.pending(limit=1000)) == 5
        small_disk.free()
        assert store.enqueue_many(batch, cursor=("ledger", 54)) == 50
        assert store.cursor("ledger") == 54 and len(store.pending(limit=1000)) == 55
    finally:
        store.close()


def test_init_on_a_full_disk_leaves_no_half_station(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The disk fills up after the key and config are written, while the ledger file is
    made (injected here, in both modes: the point is the clean-up)."""

    def full(path: Path, origin: str) -> None:
        path.write_bytes(b"SQLite format 3\0")  # a first page begun...
        raise OSError(errno.ENOSPC, "No space left on device")  # ...and no room for more

    monkeypatch.setattr(custody.ledger.station, "create_schema", full)
    target = tmp_path / "new-station"
    assert main(["init", "--data", str(target)]) == exitcodes.FAILED
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "disk full" in line and "nothing was kept" in line
    assert not target.exists()  # no key, no config, no ledger file: init can simply be rerun
    monkeypatch.undo()
    assert main(["init", "--data", str(target)]) == exitcodes.OK


def _short(n: int, tag: str) -> list[tuple[str, dict[str, object], str]]:
    return [("note.added", {"text": f"{tag} {i}"}, "clerk:wang") for i in range(n)]


def _publish_cli(data: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["log", "publish", "--data", str(data)])
    return code, capsys.readouterr().err.strip().splitlines()


def test_a_tile_publish_on_a_full_disk_leaves_whole_tiles_and_the_old_checkpoint(
    small_disk: SmallDisk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = init_station(small_disk.root / "station", "test.example/full")
    tiles = paths.root / TILES_DIR
    with Ledger.open(paths.root) as ledger:
        ledger.append_many(_short(300, "first"))
        ledger.checkpoint()
    assert publish_tiles(paths.root).size == 300
    old_checkpoint = (tiles / "checkpoint").read_text()
    before = _files(tiles)
    with Ledger.open(paths.root) as ledger:
        for b in range(0, 1700, 500):
            ledger.append_many(_short(500, f"second {b}"))
        note = ledger.checkpoint()
    # what a publish with space writes, for comparison: the same station, off the small disk
    reference = tmp_path / "reference"
    shutil.copytree(paths.root, reference, ignore=shutil.ignore_patterns(TILES_DIR))
    publish_tiles(reference)
    whole = _files(reference / TILES_DIR)

    small_disk.fill(leave=256 * 1024)  # room for a few files, not for all of them
    code, err = _publish_cli(paths.root, capsys)
    assert code == exitcodes.FAILED
    (line,) = err
    assert "disk full while publishing the log" in line and "publish again" in line
    small_disk.fill()
    with pytest.raises(DiskFullError, match="checkpoint was not moved"):
        publish_tiles(paths.root)
    assert (tiles / "checkpoint").read_text() == old_checkpoint  # never ahead of its tiles
    after = _files(tiles)
    assert not [name for name in after if name.endswith(".tmp")]
    new = {name: sha for name, sha in after.items() if before.get(name) != sha}
    assert new, "the part-way publish wrote no tile: the test disk left no room"
    for name, sha in new.items():  # each a whole file of the new tree, none half-written
        assert whole.get(name) == sha, name

    small_disk.free()
    code, _err = _publish_cli(paths.root, capsys)
    assert code == exitcodes.OK
    assert (tiles / "checkpoint").read_text().startswith(note.split("\n\n")[0])
    size, signed_root, _origin = checkpoint_size(note)
    assert size == 2300

    def get(ref: TileRef) -> list[bytes]:
        return split_tile((tiles / ref.path).read_bytes(), ref)

    assert root_from_tiles(size, get) == signed_root
    for ref in tiles_for_size(size):
        assert (tiles / ref.path).read_bytes() == (reference / TILES_DIR / ref.path).read_bytes()
    assert not [p for p in tiles.rglob("*.tmp")]
