"""The raw decoders behind one interface: names, boxes, and nothing read from nothing."""

from __future__ import annotations

import numpy as np
import pytest

from hw_sim.camera_sim import SceneLabel, Trouble, render_scene
from scanner.decoders import LABEL_FORMATS, PyZbarDecoder, ZXingDecoder, order_corners
from scanner.pipeline import as_gray

TEXT = "E2026-000123-K"


def _frame(fmt: str) -> np.ndarray:
    rng = np.random.default_rng(5)
    frame, _ = render_scene(
        [SceneLabel(TEXT, fmt)], rng, width=1920, height=1080, trouble=Trouble.clean()
    )
    return as_gray(frame)


@pytest.mark.parametrize("fmt", LABEL_FORMATS)
def test_zxing_reads_every_label_symbology_with_our_format_names(fmt: str) -> None:
    reads = ZXingDecoder(LABEL_FORMATS).decode(_frame(fmt))
    assert [(r.text, r.format) for r in reads] == [(TEXT, fmt)]


@pytest.mark.parametrize("fmt", ["Code128", "QRCode"])
def test_pyzbar_reads_code128_and_qr(fmt: str) -> None:
    reads = PyZbarDecoder(LABEL_FORMATS).decode(_frame(fmt))
    assert [(r.text, r.format) for r in reads] == [(TEXT, fmt)]


def test_pyzbar_cannot_read_datamatrix() -> None:
    # ZBar has no DataMatrix reader: the reason the pipeline leads with zxing-cpp.
    assert PyZbarDecoder().decode(_frame("DataMatrix")) == []


def test_both_decoders_put_the_box_around_the_same_barcode() -> None:
    gray = _frame("QRCode")
    (z,) = ZXingDecoder().decode(gray)
    (b,) = PyZbarDecoder().decode(gray)
    for (zx, zy), (bx, by) in zip(z.box, b.box, strict=True):
        assert abs(zx - bx) < 15 and abs(zy - by) < 15


def test_blank_and_noise_images_give_no_reads() -> None:
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, size=(480, 640), dtype=np.uint8)
    blank = np.full((480, 640), 200, np.uint8)
    for img in (noise, blank):
        assert ZXingDecoder().decode(img) == []
        assert PyZbarDecoder().decode(img) == []


def test_order_corners_gives_tl_tr_br_bl() -> None:
    pts = np.array([[10, 90], [90, 90], [10, 10], [90, 10]], dtype=np.float32)
    assert order_corners(pts) == ((10, 10), (90, 10), (90, 90), (10, 90))


def test_zxing_format_list_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ZXingDecoder([])
