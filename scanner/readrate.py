"""Read-rate measurement: the shared zxing corpus and simulated-camera frames.

Used by ``bench/scanner.py`` (the figures in ``docs/benchmarks.md``) and by the
integration tests that hold read-rate floors. A *reader* here is any function from a
grayscale frame to :class:`custody.ports.LabelRead` objects: a raw decoder or the pipeline.

Scoring: on the corpus, an image counts as read when one of the reads has exactly the text
of its ``N.txt``; images without a ``.txt`` (binary payloads) are left out. On simulated
frames every label in view counts once. A *false read* is a read whose text is not in the
truth: on the ``falsepositives`` folders any read at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from custody.ports import LabelRead
from scanner.decoders import Image
from scanner.errors import ScannerError
from scanner.pipeline import decode_image

Reader = Callable[[Image], list[LabelRead]]
SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
FAMILIES = {"code128": "Code128", "qrcode": "QRCode", "datamatrix": "DataMatrix"}


@dataclass(frozen=True)
class Sample:
    """One image and the label texts it holds (empty for a no-barcode image)."""

    name: str
    format: str  # "Code128", "QRCode", "DataMatrix", or "none"
    truth: frozenset[str]
    load: Callable[[], Image]


@dataclass
class Score:
    """Reads found / labels present, and reads that were not in the truth."""

    read: int = 0
    total: int = 0
    false_reads: int = 0
    unreadable: int = 0  # images OpenCV refused (counted in no total, reported apart)
    missed: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.read / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.read}/{self.total} ({100 * self.rate:.1f} %)"


def corpus_samples(corpus: Path, family: str) -> Iterator[Sample]:
    """Samples of one family (``code128``, ``qrcode``, ``datamatrix``, ``falsepositives``)
    across its numbered folders, in a stable order."""
    fmt = FAMILIES.get(family, "none")
    for folder in sorted(corpus.glob(f"{family}-*")):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in SUFFIXES:
                continue
            txt = path.with_suffix(".txt")
            if fmt != "none" and not txt.is_file():
                continue
            truth = frozenset() if fmt == "none" else frozenset({txt.read_bytes().decode()})
            yield Sample(f"{folder.name}/{path.name}", fmt, truth, _loader(path))


def _loader(path: Path) -> Callable[[], Image]:
    return lambda: decode_image(path.read_bytes())


def score(samples: Iterable[Sample], reader: Reader) -> Score:
    """Run the reader over the samples; undecodable images count as unreadable, not read."""
    result = Score()
    for sample in samples:
        try:
            image = sample.load()
        except ScannerError:
            result.unreadable += 1
            continue
        texts = {r.text for r in reader(image)}
        result.total += max(1, len(sample.truth)) if sample.truth else 1
        hits = len(texts & sample.truth)
        if sample.truth:
            result.read += hits
            if hits < len(sample.truth):
                result.missed.append(sample.name)
        result.false_reads += len(texts - sample.truth)
    return result
