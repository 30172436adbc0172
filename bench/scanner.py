"""Scanner benchmark: read rates per symbology and decoder, and time per 1920x1080 frame.

Run: ``.venv/bin/python -m bench.scanner [--frames N] [--variants]``.

Read rates (labels read / labels present) on the shared zxing corpus and on ``--frames``
simulated-camera frames (``hw_sim.camera_sim``, 1920x1080 JPEG, seed 2026), for raw pyzbar,
raw zxing-cpp (both with their default settings, all symbologies) and the project's
pipeline (``scanner.pipeline.LabelReader``); false reads on the corpus' ``falsepositives``
folders. Then median and p95 milliseconds per frame for the pipeline against raw zxing-cpp
on the same frames (the ratio is the figure to compare across runs). ``--variants`` also
scores alternative pipeline configurations: that is how the default was chosen.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from hw_sim.camera_sim import FORMATS, generate_frames
from scanner.camera import encode_frame
from scanner.decoders import Image, PyZbarDecoder, ZXingDecoder
from scanner.pipeline import LabelReader, PipelineConfig, decode_image, parse_passes
from scanner.readrate import Reader, Sample, Score, corpus_samples, score
from tests.conftest import shared_dir

VARIANTS: dict[str, PipelineConfig] = {
    "zxing only": PipelineConfig(passes=parse_passes("identity+zxing"), fallbacks=()),
    "zxing-full only": PipelineConfig(passes=parse_passes("identity+zxing-full"), fallbacks=()),
    "no deskew": PipelineConfig(passes=parse_passes("identity+zxing")),
    "no fallbacks": PipelineConfig(fallbacks=()),
    "+clahe/sharpen/zbar on crops": PipelineConfig(
        passes=parse_passes("identity+zxing,deskew+zxing"),
        fallbacks=parse_passes(
            "identity+zbar,deskew+zbar,clahe+zxing,sharpen+zxing,upscale+zxing,"
            "identity+zxing-full,clahe+zbar"
        ),
    ),
    "exhaustive": PipelineConfig(
        passes=parse_passes(
            "identity+zxing,deskew+zxing,identity+zbar,deskew+zbar,clahe+zxing,"
            "upscale+zxing,identity+zxing-full"
        ),
        fallbacks=(),
    ),
}


def sim_samples(count: int, seed: int = 2026) -> dict[str, list[Sample]]:
    """Simulated-camera frames per symbology, JPEG-encoded as the camera delivers them."""
    sets: dict[str, list[Sample]] = {f: [] for f in FORMATS}
    for sf in generate_frames(count, seed=seed):
        data = encode_frame(sf.frame)  # JPEG, exactly as the camera delivers it
        fmt = sf.truths[0].format
        truth = frozenset(t.text for t in sf.truths)
        sets[fmt].append(Sample(f"sim/{sf.index}", fmt, truth, _loader(data)))
    return sets


def _loader(data: bytes) -> Callable[[], Image]:
    return lambda: decode_image(data)


def _index(sample: Sample) -> int:
    return int(sample.name.rsplit("/", 1)[1])


def readers() -> dict[str, Reader]:
    pipeline = LabelReader()
    return {
        "raw pyzbar": PyZbarDecoder().decode,
        "raw zxing-cpp": ZXingDecoder().decode,
        "pipeline": pipeline.read_frame,
    }


def _row(name: str, scores: dict[str, Score]) -> str:
    return f"| {name} | " + " | ".join(str(s) for s in scores.values()) + " |"


def _table(sets: dict[str, list[Sample]], rdrs: dict[str, Reader]) -> list[str]:
    names = list(rdrs)
    lines = ["| set | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    print("\n".join(lines), flush=True)
    for set_name, samples in sets.items():
        scores = {n: score(samples, r) for n, r in rdrs.items()}
        cells = []
        for s in scores.values():
            extra = f", {s.false_reads} other text" if s.false_reads else ""
            if "falsepositives" in set_name:
                cells.append(f"{s.false_reads} reads on {s.total} images"
                             + (f" (+{s.unreadable} undecodable)" if s.unreadable else ""))
            else:
                cells.append(f"{s}{extra}")
        lines.append(f"| {set_name} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines


def _timing(samples: list[Sample], rdrs: dict[str, Reader]) -> list[str]:
    """Wall and CPU milliseconds per frame (CPU time is less hostage to a busy machine)."""
    frames = [s.load() for s in samples]
    lines = [
        "| reader | median ms | p95 ms | median CPU ms | p95 CPU ms | median ratio vs raw zxing |",
        "|---|---|---|---|---|---|",
    ]
    results: dict[str, tuple[float, float, float, float]] = {}
    for name, reader in rdrs.items():
        wall, cpu = [], []
        for frame in frames:
            t0, c0 = time.perf_counter(), time.process_time()
            reader(frame)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - t0) * 1000)
        wall.sort()
        cpu.sort()
        p95 = min(len(wall) - 1, int(0.95 * len(wall)))
        results[name] = (statistics.median(wall), wall[p95], statistics.median(cpu), cpu[p95])
    base = results["raw zxing-cpp"][0]
    for name, (med, p95w, cmed, p95c) in results.items():
        lines.append(
            f"| {name} | {med:.1f} | {p95w:.1f} | {cmed:.1f} | {p95c:.1f} | {med / base:.2f} |"
        )
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.scanner", description=__doc__)
    parser.add_argument("--frames", type=int, default=300, help="simulated frames (300)")
    parser.add_argument("--timing-frames", type=int, default=90, help="frames timed (90)")
    parser.add_argument("--variants", action="store_true", help="also score other pipelines")
    parser.add_argument("--timing-only", action="store_true", help="skip the read rates")
    args = parser.parse_args(argv)
    corpus = shared_dir() / "corpus" / "zxing-samples"
    if not corpus.is_dir():
        print(f"corpus not found at {corpus}", file=sys.stderr)
        return 2
    rdrs = readers()
    if args.variants:
        rdrs.update({k: LabelReader(v).read_frame for k, v in VARIANTS.items()})
    sets: dict[str, list[Sample]] = {
        f"corpus {fam}": list(corpus_samples(corpus, fam))
        for fam in ("code128", "qrcode", "datamatrix", "falsepositives")
    }
    frames = args.timing_frames if args.timing_only else args.frames
    print(f"rendering {frames} simulated 1920x1080 frames ...", flush=True)
    sim = sim_samples(frames)
    sets.update({f"sim {fmt}": s for fmt, s in sim.items()})
    if not args.timing_only:
        print("\n## read rates (labels read / labels present)\n")
        _table(sets, rdrs)
    # Time frames in the order they were generated: a mix of the three symbologies.
    everything = sorted((s for group in sim.values() for s in group), key=_index)
    timed = everything[: args.timing_frames]
    print(f"\n## time per 1920x1080 frame ({len(timed)} simulated frames)\n")
    for line in _timing(timed, {k: rdrs[k] for k in ("raw zxing-cpp", "raw pyzbar", "pipeline")}):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
