"""``locker terminal --config FILE``: the daemon with the step service on the console."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from pathlib import Path
from typing import Any

from lockerd.config import load_config
from lockerd.paths import existing_file, station_dir


def register(sub: Any) -> None:
    """Add ``locker terminal``."""
    parser = sub.add_parser(
        "terminal",
        help="run the daemon and drive the custody steps from the console",
        description=(
            "Run the station daemon (poller, alarms, rules, checkpoints, MQTT outbox, API) "
            "and drive the custody steps from the console: sign-in with badge and PIN, "
            "handover, storage, check-out and return, each step photographed and written "
            "to the ledger by the same step service as the kiosk's. Type help at the prompt."
        ),
    )
    parser.add_argument("--config", type=Path, required=True, metavar="FILE",
                        help="the station config (TOML)")
    parser.set_defaults(func=_terminal)


def _terminal(args: argparse.Namespace) -> int:
    from lockerd.console import Console
    from lockerd.daemon import Daemon

    cfg = load_config(existing_file(args.config, "config"))
    station_dir(cfg.station.data_dir)  # before the daemon makes any file of its own there
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    async def read(prompt: str) -> str | None:
        if prompt.strip().lower().startswith("pin") and sys.stdin.isatty():
            return await asyncio.to_thread(getpass.getpass, prompt)
        print(prompt, end="", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        return line.rstrip("\n") if line else None

    async def main() -> int:
        daemon = Daemon(cfg)
        await daemon.start()
        try:
            await Console(daemon, read, print).run()
        finally:
            await daemon.stop()
        return 0

    return asyncio.run(main())
