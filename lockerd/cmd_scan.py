"""``locker scan``: read one frame and print the barcodes in it (for installing a camera).

The frame comes from ``--image PATH``, from ``--camera SOURCE`` (a device index, a
``/dev/video*`` path, an RTSP/HTTP URL, a folder of images, or ``sim`` for the simulated
camera holding a demo exhibit), or from the ``[camera]`` section of ``DIR/config.toml``.
With ``--data DIR`` the photo goes into the station's photo store and its path is printed.
Exit 0 when at least one barcode was read, 5 when none was or the camera failed, 2 for a
missing or undecodable image (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from custody.errors import FileDecodeError, UsageError
from custody.labels import make_label
from custody.ports import CapturedImage, SystemClock
from lockerd import exitcodes
from lockerd.paths import existing_file, new_dir
from scanner.camera import FolderCamera, OpenCVCamera, open_camera
from scanner.errors import ScannerError
from scanner.photostore import FilePhotoStore, photo_meta, read_to_json
from scanner.pipeline import check_reads, decode_image, reader_for

DEMO_LABEL = make_label("exhibit", 2026, 123).text


def register(subparsers: Any) -> None:
    """Add ``locker scan`` to the command line."""
    parser = subparsers.add_parser(
        "scan",
        help="read one frame and print the barcodes in it",
        description=(
            "Read one frame from a camera or an image file and print every barcode found: "
            "text, symbology, box, and whether it is a valid item label (check character). "
            "For checking a camera at installation. Exit 0 when something was read, 5 when "
            "nothing was (or the camera failed), 2 for a missing or undecodable image."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--image", type=Path, metavar="PATH", help="read this image file")
    source.add_argument(
        "--camera",
        metavar="SOURCE",
        help="device index, /dev/videoN, rtsp:// or http:// URL, folder of images, or 'sim' "
        "(default: [camera] source of DIR/config.toml)",
    )
    parser.add_argument(
        "--data", type=Path, metavar="DIR", help="station data directory: store the photo there"
    )
    parser.add_argument(
        "--pipeline",
        choices=("default", "zxing", "pyzbar"),
        default="default",
        help="reader: the measured pipeline (default) or one raw decoder",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON list of {text, format, box}"
    )
    parser.set_defaults(func=run)


def _from_file(path: Path) -> CapturedImage:
    data = existing_file(path, "image").read_bytes()
    try:
        frame = decode_image(data)
    except ScannerError as exc:  # empty or not an image: the user's file, not the camera
        raise FileDecodeError(f"image {path}: {exc}") from exc
    media = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return CapturedImage(
        data=data,
        media_type=media,
        width=int(frame.shape[1]),
        height=int(frame.shape[0]),
        camera_id=f"file:{path.name}",
        taken_at=SystemClock().now(),
    )


def _camera_source(args: argparse.Namespace) -> tuple[str, int, int, float, int]:
    if args.camera:
        return str(args.camera), 1280, 720, 0.5, 2
    if args.data is None:
        raise UsageError("give --image PATH, --camera SOURCE, or --data DIR with a config.toml")
    config_path = args.data / "config.toml"
    if not config_path.is_file():
        raise UsageError(f"no {config_path}: give --image PATH or --camera SOURCE")
    from lockerd.config import load_config  # the config module is only needed here

    cam = load_config(config_path).camera
    return cam.source, cam.width, cam.height, cam.settle_ms / 1000.0, cam.retries


def _capture(args: argparse.Namespace) -> CapturedImage:
    if args.image is not None:
        return _from_file(args.image)
    source, width, height, settle_s, retries = _camera_source(args)
    if source == "sim":
        from hw_sim.camera_sim import SimulatedCamera

        sim = SimulatedCamera(width=width, height=height, seed=1)
        sim.show(DEMO_LABEL)
        return sim.capture()
    camera: FolderCamera | OpenCVCamera = open_camera(
        source, width=width, height=height, settle_s=settle_s, retries=retries
    )
    try:
        return camera.capture()
    finally:
        if isinstance(camera, OpenCVCamera):
            camera.close()


def run(args: argparse.Namespace) -> int:
    """Capture, read, optionally store; print the reads."""
    image = _capture(args)
    reads = reader_for(args.pipeline).read(image.data)
    stored = None
    if args.data is not None:
        store = FilePhotoStore(new_dir(args.data, "data directory"))
        ref = store.put(image.data, photo_meta(image, reads, extra={"source": "locker scan"}))
        stored = f"photo: {store.path(ref.sha256)} ({ref.bytes} bytes, sha256 {ref.sha256})"
    if args.json:
        print(json.dumps([read_to_json(r) for r in reads]))
        if stored:
            print(stored, file=sys.stderr)
    else:
        scan = check_reads(reads)
        valid = {id(r) for _, r in scan.valid}
        reasons = {id(r.read): r.reason for r in scan.rejected}
        print(f"{image.camera_id}: {image.width}x{image.height}, {len(reads)} barcode(s)")
        for r in reads:
            box = " ".join(f"{x},{y}" for x, y in r.box)
            verdict = "valid label" if id(r) in valid else reasons.get(id(r), "duplicate label")
            print(f"  {r.text}\t{r.format}\tbox {box}\t{verdict}")
        if stored:
            print(stored)
    if not reads:
        print("locker scan: no barcode read in the frame", file=sys.stderr)
        return exitcodes.FAILED
    return 0
