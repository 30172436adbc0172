"""The content-addressed photo store: layout, metadata, thumbnails, never overwriting."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from custody.ports import CapturedImage, LabelRead
from scanner.camera import encode_frame
from scanner.errors import EmptyFrameError, ImageDecodeError, PhotoNotFoundError, PhotoStoreError
from scanner.photostore import THUMB_MAX_SIDE, FilePhotoStore, photo_meta

BOX = ((100, 100), (300, 110), (290, 200), (95, 190))


def _photo(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return encode_frame(rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8))


def _image(data: bytes) -> CapturedImage:
    taken = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    return CapturedImage(data, "image/jpeg", 640, 480, "cam-1", taken)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_put_lays_out_photo_metadata_and_thumbnail(tmp_path: Path) -> None:
    store = FilePhotoStore(tmp_path)
    data = _photo()
    reads = [LabelRead("E2026-000123-K", "Code128", BOX), LabelRead("hello", "QRCode", BOX)]
    ref = store.put(data, photo_meta(_image(data), reads, compartment="A-3"))
    sha = hashlib.sha256(data).hexdigest()
    assert (ref.sha256, ref.bytes) == (sha, len(data))
    assert _files(tmp_path) == [
        f"photos/{sha[:2]}/{sha}",
        f"photos/{sha[:2]}/{sha}.json",
        f"photos/thumbs/{sha}.jpg",
    ]
    assert store.get(sha) == data
    meta = store.meta(sha)
    assert meta["time"] == "2026-05-01T08:00:00.000Z"
    assert meta["camera"] == "cam-1" and meta["compartment"] == "A-3"
    # Only the valid label is filed as a label; the other read is kept apart with its reason.
    assert meta["labels"] == [
        {"text": "E2026-000123-K", "format": "Code128", "box": [list(p) for p in BOX]}
    ]
    others = meta["other_reads"]
    assert isinstance(others, list) and len(others) == 1
    assert others[0]["text"] == "hello" and "not a label" in others[0]["reason"]
    thumb = cv2.imread(str(store.thumb_path(sha)))
    assert thumb is not None and max(thumb.shape[:2]) == THUMB_MAX_SIDE
    # The label's box is drawn in green on the thumbnail.
    green = (thumb[:, :, 1] > 150) & (thumb[:, :, 0] < 90) & (thumb[:, :, 2] < 90)
    assert green.sum() > 50


def test_identical_bytes_are_idempotent_and_never_overwritten(tmp_path: Path) -> None:
    store = FilePhotoStore(tmp_path)
    data = _photo()
    first = store.put(data, {"camera": "a", "labels": []})
    before = {p: (tmp_path / p).read_bytes() for p in _files(tmp_path)}
    second = store.put(data, {"camera": "b", "labels": []})
    assert first == second
    assert {p: (tmp_path / p).read_bytes() for p in _files(tmp_path)} == before
    assert store.meta(first.sha256)["camera"] == "a"


def test_a_damaged_photo_is_detected_not_replaced(tmp_path: Path) -> None:
    store = FilePhotoStore(tmp_path)
    data = _photo()
    ref = store.put(data, {"labels": []})
    path = store.path(ref.sha256)
    path.write_bytes(b"tampered")
    with pytest.raises(PhotoStoreError, match="damaged"):
        store.get(ref.sha256)
    with pytest.raises(PhotoStoreError, match="damaged"):
        store.put(data, {"labels": []})
    assert path.read_bytes() == b"tampered"


def test_an_interrupted_put_is_completed_by_the_next(tmp_path: Path) -> None:
    store = FilePhotoStore(tmp_path)
    data = _photo()
    ref = store.put(data, {"labels": []})
    store.meta_path(ref.sha256).unlink()
    store.thumb_path(ref.sha256).unlink()
    store.put(data, {"labels": [], "camera": "again"})
    assert store.meta(ref.sha256)["camera"] == "again"
    assert store.thumb_path(ref.sha256).is_file()


@pytest.mark.parametrize(
    ("data", "meta", "error"),
    [
        (b"", {"labels": []}, EmptyFrameError),
        (b"not an image at all", {"labels": []}, ImageDecodeError),
        (None, {"labels": [], "when": datetime.now(UTC)}, PhotoStoreError),
        (None, {"labels": [{"text": "x", "box": [[1, 2]]}]}, PhotoStoreError),
        (None, {"labels": "E2026-000123-K"}, PhotoStoreError),
    ],
)
def test_bad_input_writes_nothing(
    tmp_path: Path, data: bytes | None, meta: dict[str, object], error: type[Exception]
) -> None:
    store = FilePhotoStore(tmp_path)
    with pytest.raises(error):
        store.put(_photo() if data is None else data, meta)
    assert _files(tmp_path) == []


def test_missing_and_malformed_hashes(tmp_path: Path) -> None:
    store = FilePhotoStore(tmp_path)
    with pytest.raises(PhotoNotFoundError, match="no photo"):
        store.get("ab" * 32)
    with pytest.raises(PhotoNotFoundError, match="not a SHA-256"):
        store.get("../../etc/passwd")
    assert not store.exists("cd" * 32)


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = FilePhotoStore(tmp_path)
    for seed in range(3):
        store.put(_photo(seed), {"labels": []})
    assert not [p for p in tmp_path.rglob("*.tmp")]
    assert all(json.loads(p.read_text()) == {"labels": []} for p in tmp_path.rglob("*.json"))
