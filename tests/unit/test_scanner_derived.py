"""Thumbnails and sidecars are checked against the verified photo before they are shown,
and rebuilt from it when they do not match (scanner/derived.py, issue #17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import scanner.derived
from custody.labels import make_label
from hw_sim.camera_sim import SimulatedCamera
from scanner.derived import checked_meta, checked_thumbnail
from scanner.errors import PhotoStoreError
from scanner.photostore import FilePhotoStore, photo_meta
from scanner.pipeline import LabelReader

LABEL = make_label("exhibit", 2026, 123).text
OTHER = make_label("exhibit", 2026, 999).text  # a valid label, but not in the photo


@pytest.fixture()
def stored(tmp_path: Path) -> tuple[FilePhotoStore, str]:
    camera = SimulatedCamera(width=1280, height=720, seed=1)
    camera.show(LABEL)
    image = camera.capture()
    reads = LabelReader().read(image.data)
    assert [r.text for r in reads] == [LABEL]
    store = FilePhotoStore(tmp_path)
    ref = store.put(image.data, photo_meta(image, reads, compartment="A-3"))
    return store, ref.sha256


def test_honest_derived_files_are_shown_as_they_are(stored: tuple[FilePhotoStore, str]) -> None:
    store, sha = stored
    thumb = store.thumb_path(sha).read_bytes()
    sidecar = store.meta_path(sha).read_bytes()
    assert checked_thumbnail(store, sha) == thumb
    meta = checked_meta(store, sha)
    assert meta["compartment"] == "A-3" and "rebuilt" not in meta
    assert store.meta_path(sha).read_bytes() == sidecar
    assert not store.meta_path(sha).with_name(f"{sha}.json.rejected").exists()


def test_a_tampered_thumbnail_is_rebuilt(stored: tuple[FilePhotoStore, str]) -> None:
    store, sha = stored
    honest = store.thumb_path(sha).read_bytes()
    checked_thumbnail(store, sha)  # a verdict is cached: the tampering must still be seen
    other = SimulatedCamera(width=320, height=180, seed=9).capture().data
    store.thumb_path(sha).write_bytes(other)
    assert checked_thumbnail(store, sha) == honest
    assert store.thumb_path(sha).read_bytes() == honest


def test_a_sidecar_naming_another_label_is_set_aside_and_rebuilt(
    stored: tuple[FilePhotoStore, str],
) -> None:
    store, sha = stored
    honest_thumb = store.thumb_path(sha).read_bytes()
    forged = json.loads(store.meta_path(sha).read_text())
    forged["labels"][0]["text"] = OTHER  # a valid label with its check character
    store.meta_path(sha).write_text(json.dumps(forged))
    meta = checked_meta(store, sha)
    rebuilt = meta["rebuilt"]
    assert isinstance(rebuilt, dict) and OTHER in str(rebuilt["reason"])
    labels = meta["labels"]
    assert isinstance(labels, list) and [e["text"] for e in labels] == [LABEL]  # re-read
    assert "compartment" not in meta and "camera" not in meta  # not derivable: not kept
    rejected = store.meta_path(sha).with_name(f"{sha}.json.rejected")
    assert json.loads(rejected.read_text())["labels"][0]["text"] == OTHER  # kept aside
    assert checked_thumbnail(store, sha) == honest_thumb  # same boxes, same thumbnail


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("width", 1, "size 1x720"),
        ("media_type", "image/png", "media_type"),
        ("labels", [{"text": LABEL, "format": "QRCode", "box": [[0, 0], [1, 0], [1, 1]]}],
         "4 corners"),
        ("labels", [{"text": LABEL, "format": "QRCode",
                     "box": [[0, 0], [5000, 0], [5000, 9], [0, 9]]}], "outside"),
    ],
)
def test_a_sidecar_unlike_its_photo_is_rebuilt(
    stored: tuple[FilePhotoStore, str], field: str, value: object, says: str
) -> None:
    store, sha = stored
    forged = json.loads(store.meta_path(sha).read_text())
    forged[field] = value
    store.meta_path(sha).write_text(json.dumps(forged))
    meta = checked_meta(store, sha)
    assert says in str(meta["rebuilt"])
    assert (meta["width"], meta["height"], meta["media_type"]) == (1280, 720, "image/jpeg")


def test_a_garbage_or_missing_sidecar_is_rebuilt(stored: tuple[FilePhotoStore, str]) -> None:
    store, sha = stored
    store.meta_path(sha).write_bytes(b"\xff\xfe not json")
    assert "not JSON" in str(checked_meta(store, sha)["rebuilt"])
    store.meta_path(sha).unlink()
    store.thumb_path(sha).unlink()
    assert "missing" in str(checked_meta(store, sha)["rebuilt"])
    assert store.thumb_path(sha).is_file()


def test_nothing_is_shown_for_a_photo_that_does_not_match_its_hash(
    stored: tuple[FilePhotoStore, str],
) -> None:
    store, sha = stored
    store.path(sha).write_bytes(b"another picture")
    with pytest.raises(PhotoStoreError, match="damaged"):
        checked_thumbnail(store, sha)


def test_asking_again_reads_no_barcode(
    stored: tuple[FilePhotoStore, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, sha = stored
    checked_thumbnail(store, sha)
    calls: list[int] = []
    real = scanner.derived._read

    def counting(frame: object) -> object:
        calls.append(1)
        return real(frame)  # type: ignore[arg-type]

    monkeypatch.setattr(scanner.derived, "_read", counting)
    checked_thumbnail(store, sha)
    checked_meta(store, sha)
    assert calls == []
    store.meta_path(sha).touch()  # a change on disk: checked again
    checked_thumbnail(store, sha)
    assert calls
