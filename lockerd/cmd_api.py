"""``locker api``: serve the read API of one station data directory on its own.

The daemon serves the same app (with the cabinets' live state); this command is for an
auditor's or a records office's machine holding a copy of the data directory, or for a
station without the daemon running.
"""

from __future__ import annotations

import argparse
import logging

from custody.errors import UsageError
from lockerd.paths import station_dir


def _run(args: argparse.Namespace) -> int:
    # Imported here so that `locker --help` does not pay for FastAPI's import.
    from api.app import create_app
    from api.server import serve
    from lockerd import settings as conv
    from lockerd.report_setup import report_setup, station_config

    data = station_dir(args.data)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"port {args.port} is out of range 0-65535")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    cfg = station_config(data, None)  # DATA/config.toml: the zone and people of reports
    serve(create_app(data, rules=conv.rules_settings(cfg), report_setup=report_setup(cfg)),
          host=args.host, port=args.port)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locker api``."""
    parser = subparsers.add_parser(
        "api",
        help="serve the read-only API of a data directory",
        description=(
            "Serve the read-only HTTP API (cases, items and their chain of custody, "
            "deadlines, cabinets, checkpoints and proofs, photos, chain-of-custody "
            "reports) over a station data directory. Every request needs a token from "
            "'locker token create'. The OpenAPI schema is at /openapi.json, "
            "interactive docs at /docs."
        ),
    )
    parser.add_argument("--data", required=True, metavar="DIR", help="station data directory")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="TCP port to listen on (default 8080)"
    )
    parser.set_defaults(func=_run)
