"""The project's reader: bad input, tilted and multiple labels, positions, label checks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from custody.labels import check_character
from custody.ports import LabelRead
from hw_sim.camera_sim import LabelTruth, SceneLabel, Trouble, render_scene
from scanner.camera import encode_frame
from scanner.decoders import ZXingDecoder
from scanner.errors import EmptyFrameError, ImageDecodeError, LabelScanError
from scanner.pipeline import (
    LabelReader,
    as_gray,
    check_reads,
    decode_image,
    parse_passes,
    read_labels,
    reader_for,
)

GOOD = "E2026-000123-K"
GOOD2 = "F2025-004711-" + check_character("F2025004711")
WRONG = "E2026-000123-" + ("A" if check_character("E2026000123") != "A" else "B")


def _scene(
    labels: list[SceneLabel], seed: int = 3, rotation_deg: float = 0.0
) -> tuple[bytes, list[LabelTruth]]:
    t = replace(Trouble.clean(), rotation_deg=rotation_deg)
    frame, truths = render_scene(labels, np.random.default_rng(seed), width=1280, height=720,
                                 trouble=t)
    return encode_frame(frame), truths


def _near(read: LabelRead, truth: LabelTruth, tol: float) -> bool:
    rc = np.mean(np.array(read.box, float), axis=0)
    tc = np.mean(np.array(truth.box, float), axis=0)
    return float(np.hypot(*(rc - tc))) < tol


def test_empty_bytes_are_an_empty_frame() -> None:
    with pytest.raises(EmptyFrameError, match="0 bytes"):
        LabelReader().read(b"")


def test_corrupt_bytes_are_a_decode_error() -> None:
    with pytest.raises(ImageDecodeError, match="cannot decode"):
        LabelReader().read(b"\x89PNG\r\n\x1a\nthis is not really a png")


def test_a_truncated_jpeg_is_refused() -> None:
    data, _ = _scene([SceneLabel(GOOD, "QRCode")])
    with pytest.raises(ImageDecodeError):
        decode_image(data[:200])


def test_zero_sized_frame_is_an_empty_frame() -> None:
    with pytest.raises(EmptyFrameError, match="empty frame"):
        LabelReader().read_frame(np.zeros((0, 640), np.uint8))
    with pytest.raises(EmptyFrameError):
        as_gray(np.zeros((480, 0, 3), np.uint8))


def test_a_desk_without_labels_gives_no_read() -> None:
    data, truths = _scene([])
    assert truths == []
    assert LabelReader().read(data) == []


@pytest.mark.parametrize("fmt", ["Code128", "QRCode", "DataMatrix"])
def test_reads_each_symbology_with_its_position(fmt: str) -> None:
    data, (truth,) = _scene([SceneLabel(GOOD, fmt)])
    (read,) = LabelReader().read(data)
    assert (read.text, read.format) == (GOOD, fmt)
    assert _near(read, truth, 25)


def test_tilted_code128_is_deskewed_where_the_raw_decoder_fails() -> None:
    # 25 degrees: no horizontal scan line crosses the whole code.
    for seed in range(20):
        data, (truth,) = _scene([SceneLabel(GOOD, "Code128")], seed=seed, rotation_deg=35.0)
        gray = decode_image(data)
        if ZXingDecoder().decode(gray):
            continue
        (read,) = LabelReader().read(data)
        assert read.text == GOOD
        assert _near(read, truth, 40)  # box mapped back from the rotated crop
        return
    raise AssertionError("no seed gave a tilt the raw decoder misses")


def test_two_labels_in_view_are_both_reported_with_their_positions() -> None:
    data, truths = _scene([SceneLabel(GOOD, "QRCode"), SceneLabel(GOOD2, "DataMatrix")])
    reads = LabelReader().read(data)
    assert sorted(r.text for r in reads) == sorted([GOOD, GOOD2])
    for truth in truths:
        (read,) = [r for r in reads if r.text == truth.text]
        assert _near(read, truth, 25)


def test_read_labels_separates_valid_labels_from_other_reads() -> None:
    data, _ = _scene(
        [SceneLabel(GOOD, "QRCode"), SceneLabel(WRONG, "QRCode"), SceneLabel("HELLO", "QRCode")]
    )
    scan = read_labels(data)
    assert [label.text for label in scan.labels] == [GOOD]
    reasons = sorted(r.reason for r in scan.rejected)
    assert len(reasons) == 2
    assert any("wrong check character" in r for r in reasons)
    assert any("is not a label" in r for r in reasons)
    assert scan.only().text == GOOD
    assert scan.require(GOOD).text == GOOD
    with pytest.raises(LabelScanError, match="not in view"):
        scan.require(GOOD2)


def test_a_wrong_check_character_alone_names_no_item() -> None:
    data, _ = _scene([SceneLabel(WRONG, "Code128")])
    scan = read_labels(data)
    assert scan.labels == ()
    with pytest.raises(LabelScanError, match="wrong check character"):
        scan.only()


def test_only_refuses_two_items_and_an_empty_view() -> None:
    box = ((0, 0), (1, 0), (1, 1), (0, 1))
    two = check_reads([LabelRead(GOOD, "QRCode", box), LabelRead(GOOD2, "QRCode", box)])
    with pytest.raises(LabelScanError, match="2 labels in view"):
        two.only()
    with pytest.raises(LabelScanError, match="no barcode in view"):
        check_reads([]).only()


def test_parse_passes_refuses_unknown_steps() -> None:
    assert [str(p) for p in parse_passes("identity+zxing, clahe+zbar")] == [
        "identity+zxing",
        "clahe+zbar",
    ]
    with pytest.raises(ValueError, match="unknown pass"):
        parse_passes("magic+zxing")
    with pytest.raises(ValueError, match="unknown scanner pipeline"):
        reader_for("best")


def test_configured_raw_readers_read_a_clean_label() -> None:
    data, _ = _scene([SceneLabel(GOOD, "QRCode")])
    for name in ("default", "zxing", "pyzbar"):
        assert [r.text for r in reader_for(name).read(data)] == [GOOD]
