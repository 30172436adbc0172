"""``locker daemon --config FILE``: run the edge daemon."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from lockerd.config import load_config
from lockerd.paths import existing_file, station_dir


def register(sub: Any) -> None:
    """Add ``locker daemon``."""
    parser = sub.add_parser(
        "daemon",
        help="run the edge daemon (poller, rules, checkpoints, MQTT outbox, API)",
        description=(
            "Run the station's edge daemon: poll the cabinets and record alarms, tick the "
            "custody rules, sign checkpoints, publish events through the durable MQTT "
            "outbox and serve the read API, until SIGTERM or Ctrl-C. The config is usually "
            "the data directory's config.toml (see docs/config.md)."
        ),
    )
    parser.add_argument("--config", type=Path, required=True, metavar="FILE",
                        help="the station config (TOML)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log verbosity")
    parser.set_defaults(func=_daemon)


def _daemon(args: argparse.Namespace) -> int:
    from lockerd.daemon import Daemon

    cfg = load_config(existing_file(args.config, "config"))
    station_dir(cfg.station.data_dir)  # before the daemon makes any file of its own there
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    async def main() -> int:
        return await Daemon(cfg).run_until_signal()

    return asyncio.run(main())
