"""A check-in's photo steps end to end: simulated camera -> reader -> label check -> store.

``photograph`` below is what a custody step does with the scanner (the daemon's flows do the
same): photograph the item held up, require its label, store the photo with metadata. Each
failure is a clear error and leaves nothing stored under a wrong label.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from custody.labels import make_label
from custody.ports import PhotoRef
from custody.testing import FakeClock
from hw_sim.camera_sim import SceneLabel, SimulatedCamera, Trouble
from scanner.errors import CameraError, LabelScanError
from scanner.photostore import FilePhotoStore, photo_meta
from scanner.pipeline import LabelReader, check_reads

ITEMS = [make_label("exhibit", 2026, n).text for n in (11, 12, 13)]


SHOT_AT = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)  # the camera's clock stands still here


def photograph(
    camera: SimulatedCamera, reader: LabelReader, store: FilePhotoStore, expected: str, slot: str
) -> PhotoRef:
    shot = camera.capture()
    reads = reader.read(shot.data)
    check_reads(reads).require(expected)  # raises before anything is stored
    return store.put(shot.data, photo_meta(shot, reads, compartment=slot))


def _camera() -> SimulatedCamera:
    return SimulatedCamera(seed=4, width=1280, height=720, trouble=Trouble.clean(),
                           default_format="QRCode", clock=FakeClock(SHOT_AT))


def _stored(root: Path) -> list[Path]:
    return sorted(p for p in (root / "photos").glob("??/*") if p.suffix == "")


def test_each_item_is_photographed_and_filed_under_its_label(tmp_path: Path) -> None:
    camera, reader, store = _camera(), LabelReader(), FilePhotoStore(tmp_path)
    refs = []
    for i, label in enumerate(ITEMS):
        camera.show(SceneLabel(label, ("Code128", "QRCode", "DataMatrix")[i]))
        refs.append(photograph(camera, reader, store, label, f"A-{i}"))
    assert len({r.sha256 for r in refs}) == 3 and len(_stored(tmp_path)) == 3
    for ref, label in zip(refs, ITEMS, strict=True):
        meta = store.meta(ref.sha256)
        assert [entry["text"] for entry in meta["labels"]] == [label]  # type: ignore[attr-defined]
        assert meta["time"] == "2026-05-01T09:00:00.000Z"


def test_the_camera_vanishing_mid_check_in_stops_the_step(tmp_path: Path) -> None:
    camera, reader, store = _camera(), LabelReader(), FilePhotoStore(tmp_path)
    camera.vanish(after=2)
    done = []
    with pytest.raises(CameraError, match="is gone"):
        for label in ITEMS:
            camera.show(label)
            done.append(photograph(camera, reader, store, label, "B-1"))
    assert len(done) == 2 and len(_stored(tmp_path)) == 2


def test_a_wrong_check_character_stores_nothing(tmp_path: Path) -> None:
    camera, reader, store = _camera(), LabelReader(), FilePhotoStore(tmp_path)
    good = ITEMS[0]
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    camera.show(wrong)
    with pytest.raises(LabelScanError, match="not in view"):
        photograph(camera, reader, store, good, "C-1")
    with pytest.raises(LabelScanError, match="wrong check character"):
        check_reads(reader.read(camera.capture().data)).only()
    assert not (tmp_path / "photos").exists()


def test_the_wrong_item_or_two_items_are_refused(tmp_path: Path) -> None:
    camera, reader, store = _camera(), LabelReader(), FilePhotoStore(tmp_path)
    camera.show(ITEMS[1])
    with pytest.raises(LabelScanError, match="not in view"):
        photograph(camera, reader, store, ITEMS[0], "D-1")
    camera.show(ITEMS[0], ITEMS[1])
    with pytest.raises(LabelScanError, match="2 labels in view"):
        check_reads(reader.read(camera.capture().data)).only()
    assert not (tmp_path / "photos").exists()
