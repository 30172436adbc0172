"""Benchmark of chain-of-custody reports: a case of 200 steps and 300 photos.

``python -m bench.reports [--items 28]``

Builds, through the real services into a real ledger and photo store, one case whose report
has 200 ledger entries and 300 photos (1280 x 720 JPEGs of labelled exhibits from the
simulated camera): registration, a handover photographed item by item, then per item
storage, two check-out/return cycles (two photos per return) and storage again. Then renders,
each in a fresh process (so its peak memory is its own), the screen's HTML report (the
baseline, measured in the same run) and the issued PDF/A-3b, and prints both times, the
ratio, the PDF's size and each process's peak resident memory (goal: the PDF within
500 MB).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

CASE = "C-BENCH"
PHOTOS = 300  # in all: the handover's share is what the items' steps leave
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def build(root: Path, items: int) -> Path:
    """The station data directory with the benchmark case."""
    from custody.domain.people import Complainant
    from custody.domain.values import ItemSpec
    from custody.labels import make_label
    from custody.ledger import Ledger
    from custody.ledger.station import init_station
    from custody.ports import PhotoRef
    from custody.services.custody import CustodyService
    from custody.testing import FakeClock, ListNotifier, sample_directory
    from hw_sim.camera_sim import SceneLabel, Trouble, render_scene
    from scanner.photostore import FilePhotoStore

    data = root / "station"
    init_station(data, "bench.example/station")
    clock = FakeClock(START)
    photos = FilePhotoStore(data)
    rng = np.random.default_rng(16)
    counter = [0]

    def shot(label: str) -> PhotoRef:
        counter[0] += 1
        frame, _ = render_scene([SceneLabel(label)], rng, width=1280, height=720,
                                trouble=Trouble.clean())
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 88])
        assert ok
        return photos.put(bytes(buf.tobytes()), {"time": clock.now().isoformat(),
                                                 "camera": "bench", "n": counter[0]})

    labels = [make_label("exhibit", 2026, i + 1).text for i in range(items)]
    with Ledger.open(data, clock=clock) as ledger:
        svc = CustodyService(ledger, sample_directory(), notifier=ListNotifier(), clock=clock)
        seized = START - timedelta(hours=2)
        svc.register_case(CASE, title="Benchmark case", officer="wang", items=[
            ItemSpec(x, "exhibit", f"exhibit {i}", 1, seized, "Suspect") for i, x in
            enumerate(labels)
        ], complainant=Complainant("Liu", "+8613900000000"))
        svc.handover(CASE, clerk="zhou", scanned=labels,
                     checklist=dict.fromkeys(svc.settings.lawfulness_checklist, True),
                     photos=[shot(labels[i % items]) for i in range(PHOTOS - 9 * items)])
        for i, x in enumerate(labels):
            where = f"A/{i}"
            svc.store(x, compartment=where, photos=[shot(x)], clerk="zhou")
            for _ in range(2):
                clock.advance(timedelta(minutes=1))
                svc.check_out(x, officer="wang", photos=[shot(x)])
                svc.return_item(x, photos=[shot(x), shot(x)], actor="zhou")
                svc.store(x, compartment=where, photos=[shot(x)], clerk="zhou")
        ledger.checkpoint()
    return data


def render_child(data: str, kind: str) -> None:
    """(In the child process) build and render the case report; print JSON figures."""
    from api.backend import Reader
    from api.report_pdf import render_pdf
    from api.reports import ReportSetup, Requester, build_report, load_images, render_html

    t0 = time.perf_counter()
    reader = Reader(Path(data))
    reader.refresh()
    report = build_report(reader, "case", CASE, who=Requester("audit1", "auditor", True),
                          setup=ReportSetup(station="bench"), now=datetime.now(UTC))
    reader.close()
    load_images(report, Path(data))
    size = len(render_html(report).encode()) if kind == "html" else len(render_pdf(report).pdf)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "bytes": size,
                      "steps": len(report.steps), "photos": len(report.photos)}))


def _run(data: Path, kind: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.reports", "--child", str(data), kind],
                         check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reports")
    parser.add_argument("--items", type=int, default=28, help="items (28: 200 steps)")
    parser.add_argument("--child", nargs=2, metavar=("DATA", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        render_child(*args.child)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        data = build(Path(tmp), args.items)
        print(f"station built in {time.perf_counter() - t0:.1f} s")
        html = _run(data, "html")
        pdf = _run(data, "pdf")
    print(f"case report: {pdf['steps']:.0f} steps, {pdf['photos']:.0f} photos")
    print(f"HTML (baseline): {html['seconds']:.2f} s, {html['bytes'] / 1e6:.1f} MB, "
          f"peak RSS {html['peak_mb']:.0f} MB")
    print(f"PDF/A-3b:        {pdf['seconds']:.2f} s, {pdf['bytes'] / 1e6:.1f} MB, "
          f"peak RSS {pdf['peak_mb']:.0f} MB")
    print(f"PDF / HTML time: {pdf['seconds'] / html['seconds']:.1f}x; "
          f"peak memory goal <= 500 MB: {'met' if pdf['peak_mb'] <= 500 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
