"""``locker mirror`` (pull and verify a station's published log off-site) and ``locker
restore`` (rebuild a station data directory from a mirror). See docs/offsite.md."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from lockerd.paths import existing_dir, existing_file, new_dir


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _mirror(args: argparse.Namespace) -> int:
    from district.mirror import ForkError, Mirror, MirrorError

    token = args.token or os.environ.get("LOCKER_MIRROR_TOKEN")
    mirror = Mirror(Path(args.data), args.source, token=token, key=args.key, say=_say)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if args.follow:
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        while True:
            try:
                r = mirror.pull()
                print(
                    f"mirrored size {r.size} (was {r.previous}): {r.tiles} tiles, {r.bundles} "
                    f"entry bundles, {r.photos} photos stored"
                    + (f"; {r.missing_photos} photos missing at the station" if r.missing_photos
                       else ""),
                    flush=True,
                )
            except ForkError as exc:
                print(f"FORK: {exc}", file=sys.stderr, flush=True)
                return 1
            except MirrorError as exc:
                if not args.follow:
                    raise
                _say(f"locker mirror: {exc} (retrying in {args.interval:g} s)")
            if not args.follow or stop.wait(args.interval):
                return 0
    finally:
        mirror.close()


def _restore(args: argparse.Namespace) -> int:
    from district.restore import restore

    existing_dir(args.source, "mirror directory")
    new_dir(args.data, "data directory", must_be_empty=True)
    if args.signing_key:
        existing_file(args.signing_key, "signing key")
    r = restore(
        Path(args.source),
        Path(args.data),
        signing_key=Path(args.signing_key) if args.signing_key else None,
        say=_say,
    )
    print(
        f"restored {r.size} entries, {r.checkpoints} checkpoints and {r.photos} photos "
        f"into {r.path}; check it with `locker audit verify --data {r.path}`"
    )
    if not r.has_key:
        print(
            "NO SIGNING KEY: this station can be read and verified but signs nothing until "
            f"its station.key is put back from the key backup (docs/offsite.md) into {r.path}"
        )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locker mirror`` and ``locker restore``."""
    m = subparsers.add_parser(
        "mirror",
        help="pull and verify a station's published log into an off-site directory",
        description=(
            "Pull a station's /log/ (checkpoints with their cosignatures, tiles, entry "
            "bundles, photos) into MDIR, verifying everything before storing it; resumes "
            "where it stopped. A checkpoint inconsistent with one already held is a FORK: "
            "both are kept, an ALARM line is printed and the exit status is 1. Exit 1 also "
            "when the station serves anything that does not verify (nothing of it stored)."
        ),
    )
    m.add_argument("--from", dest="source", required=True, metavar="URL",
                   help="the station's log prefix, e.g. http://station:8080/log (a bare "
                   "http://station:8080 means its /log)")
    m.add_argument("--data", required=True, metavar="MDIR", help="the mirror directory")
    m.add_argument("--token", help="an API token of role mirror or auditor (default: "
                   "$LOCKER_MIRROR_TOKEN)")
    m.add_argument("--key", metavar="VKEY", help="the station's verifier key (text or file); "
                   "without it the first pull pins the key the station serves")
    m.add_argument("--follow", action="store_true", help="keep pulling every --interval seconds")
    m.add_argument("--interval", type=float, default=30.0,
                   help="seconds between pulls with --follow (default 30)")
    m.set_defaults(func=_mirror)

    r = subparsers.add_parser(
        "restore",
        help="rebuild a station data directory from a mirror",
        description=(
            "Rebuild a station data directory from a mirror: the entries up to the last "
            "completely mirrored checkpoint, every accepted checkpoint with its cosignatures, "
            "the photos and the verifier key. 'locker audit verify' accepts the result. The "
            "signing key is not in a mirror: give it with --signing-key from the key backup, "
            "or the station can be read and verified but signs nothing."
        ),
    )
    r.add_argument("--from", dest="source", required=True, metavar="MDIR",
                   help="the mirror directory")
    r.add_argument("--data", required=True, metavar="DIR",
                   help="the new data directory (absent or empty)")
    r.add_argument("--signing-key", metavar="FILE",
                   help="the station.key from the key backup (checked against the mirror's key)")
    r.set_defaults(func=_restore)
