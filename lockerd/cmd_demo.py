"""``locker demo``: a whole simulated station playing a scripted day."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from custody.domain.languages import DEFAULT_LANGUAGE, LANGUAGES, Language
from custody.errors import UsageError
from lockerd.paths import new_dir


def register(sub: Any) -> None:
    """Add ``locker demo``."""
    parser = sub.add_parser(
        "demo",
        help="run a simulated station through a scripted day",
        description=(
            "Start simulated cabinets (Modbus TCP and one RTU line), the simulated camera, "
            "the daemon and the read API on a fresh station, and play a scripted day on an "
            "accelerated clock: registrations, handovers with their checks, check-ins, "
            "morning check-outs, evening returns, a late return that escalates, a forced "
            "door. Prints what happened and the verification result, then serves the API "
            "until Ctrl-C."
        ),
    )
    parser.add_argument("--once", action="store_true", help="exit after the scripted day")
    parser.add_argument(
        "--data", type=Path, metavar="DIR", help="keep the station's data in DIR (new or empty)"
    )
    parser.add_argument(
        "--mqtt",
        action="store_true",
        help="start a local Mosquitto on a free port and publish the station's events to it",
    )
    parser.add_argument(
        "--broker",
        metavar="HOST:PORT",
        help="publish to this running MQTT broker instead (implies MQTT on)",
    )
    parser.add_argument(
        "--language",
        default=DEFAULT_LANGUAGE.value,
        metavar="LANG",
        help="the kiosk's language and the people's and items' names: "
        f"{' or '.join(LANGUAGES)} (default {DEFAULT_LANGUAGE.value})",
    )
    parser.add_argument(
        "--station-id", default="demo-1", metavar="ID",
        help="the station's id (and log origin): the district demo runs several",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log the daemon's work")
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from lockerd.demo import run_demo

    if args.data is not None:
        new_dir(args.data, "demo data directory", must_be_empty=True)
    broker_at = None
    if args.broker:
        host, sep, port = args.broker.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise UsageError(f"--broker must be HOST:PORT, not {args.broker!r}")
        broker_at = (host, int(port))
    try:
        language = Language(args.language)
    except ValueError:
        raise UsageError(
            f"--language: unknown language {args.language!r} (use {', '.join(LANGUAGES)})"
        ) from None
    logging.basicConfig(
        level=(
            logging.INFO
            if args.verbose or getattr(args, "show_traceback", False)
            else logging.ERROR
        ),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return asyncio.run(
        run_demo(args.data, once=args.once, mqtt=args.mqtt, broker_at=broker_at,
                 language=language, station_id=args.station_id)
    )
