"""Read-rate floors per symbology, per reader, on the zxing corpus and on simulated frames.

The floors sit a little below the rates measured with this exact data (the corpus is fixed,
the simulated frames are seeded); ``bench/scanner.py`` measures the big set (300 frames at
1920x1080) recorded in ``docs/benchmarks.md``. The pipeline must also read at least as much
as the best raw decoder on every set, and nothing at all on the ``falsepositives`` folders.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hw_sim.camera_sim import generate_frames
from scanner.camera import encode_frame
from scanner.decoders import Image, PyZbarDecoder, ZXingDecoder
from scanner.errors import ImageDecodeError
from scanner.pipeline import LabelReader, decode_image
from scanner.readrate import Reader, Sample, Score, corpus_samples, score

READERS: dict[str, Reader] = {
    "pyzbar": PyZbarDecoder().decode,
    "zxing": ZXingDecoder().decode,
    "pipeline": LabelReader().read_frame,
}

# Measured 2026-11-28 (labels read / present): corpus code128 pyzbar 20/22, zxing 22/22,
# pipeline 22/22; qrcode 54/82, 79/82, 80/82; datamatrix 0/69, 68/69, 68/69.
CORPUS_FLOORS = {
    ("code128", "pyzbar"): 19, ("code128", "zxing"): 21, ("code128", "pipeline"): 21,
    ("qrcode", "pyzbar"): 52, ("qrcode", "zxing"): 77, ("qrcode", "pipeline"): 78,
    ("datamatrix", "pyzbar"): 0, ("datamatrix", "zxing"): 66, ("datamatrix", "pipeline"): 66,
}
# 36 simulated 1280x720 frames, seed 11: Code128 pyzbar 4/14, zxing 4/14, pipeline 8/14;
# QRCode 10/14, 13/14, 13/14; DataMatrix 0/15, 12/15, 12/15.
SIM_FLOORS = {
    ("Code128", "pyzbar"): 3, ("Code128", "zxing"): 3, ("Code128", "pipeline"): 7,
    ("QRCode", "pyzbar"): 9, ("QRCode", "zxing"): 12, ("QRCode", "pipeline"): 12,
    ("DataMatrix", "pyzbar"): 0, ("DataMatrix", "zxing"): 11, ("DataMatrix", "pipeline"): 11,
}


@pytest.fixture(scope="module")
def corpus(shared: Path) -> Path:
    return shared / "corpus" / "zxing-samples"


@pytest.fixture(scope="module")
def corpus_scores(corpus: Path) -> dict[tuple[str, str], Score]:
    return {
        (family, name): score(list(corpus_samples(corpus, family)), reader)
        for family in ("code128", "qrcode", "datamatrix")
        for name, reader in READERS.items()
    }


def _loader(data: bytes) -> Callable[[], Image]:
    return lambda: decode_image(data)


@pytest.fixture(scope="module")
def sim_scores() -> dict[tuple[str, str], Score]:
    sets: dict[str, list[Sample]] = {}
    for sf in generate_frames(36, seed=11, width=1280, height=720):
        data = encode_frame(sf.frame)
        fmt = sf.truths[0].format
        truth = frozenset(t.text for t in sf.truths)
        sets.setdefault(fmt, []).append(
            Sample(f"sim/{sf.index}", fmt, truth, _loader(data))
        )
    return {(fmt, n): score(s, r) for fmt, s in sets.items() for n, r in READERS.items()}


@pytest.mark.parametrize(("family", "reader"), sorted(CORPUS_FLOORS))
def test_corpus_read_rate_floor(
    corpus_scores: dict[tuple[str, str], Score], family: str, reader: str
) -> None:
    result = corpus_scores[(family, reader)]
    assert result.total > 20
    assert result.read >= CORPUS_FLOORS[(family, reader)], f"{family} {reader}: {result}"


@pytest.mark.parametrize(("fmt", "reader"), sorted(SIM_FLOORS))
def test_simulated_camera_read_rate_floor(
    sim_scores: dict[tuple[str, str], Score], fmt: str, reader: str
) -> None:
    result = sim_scores[(fmt, reader)]
    assert result.total >= 12
    assert result.read >= SIM_FLOORS[(fmt, reader)], f"{fmt} {reader}: {result}"
    assert result.false_reads == 0


def test_pipeline_reads_at_least_as_much_as_the_best_raw_decoder(
    corpus_scores: dict[tuple[str, str], Score], sim_scores: dict[tuple[str, str], Score]
) -> None:
    for scores in (corpus_scores, sim_scores):
        for group in {k[0] for k in scores}:
            best_raw = max(scores[(group, "pyzbar")].read, scores[(group, "zxing")].read)
            assert scores[(group, "pipeline")].read >= best_raw, group


def test_no_read_at_all_on_the_falsepositives_folders(corpus: Path) -> None:
    samples = list(corpus_samples(corpus, "falsepositives"))
    assert len(samples) >= 40
    for name, read in READERS.items():
        result = score(samples, read)
        assert result.false_reads == 0, name
        assert result.total >= 40, name
        # OpenCV refuses the two 1-pixel WebP files (shorter than a WebP header): an error,
        # never a read.
        assert result.unreadable <= 2, name
    with pytest.raises(ImageDecodeError):
        LabelReader().read((corpus / "falsepositives-1" / "1x1.webp").read_bytes())
