"""The ``locker`` command: one entry point, a subcommand per job, ``--help`` on each.

Each subcommand lives in its own ``lockerd/cmd_*.py`` module exposing
``register(subparsers)``; the module's handlers take the parsed arguments and return the
process exit code. Errors derived from :class:`custody.errors.LockerError` are shown as
one clear line on stderr: usage and configuration errors exit 2, everything else 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from custody.errors import ConfigError, LockerError, UsageError

# Add a module here when it brings a subcommand. Order is the order shown in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "lockerd.cmd_init",
    "lockerd.cmd_audit",
    "lockerd.cmd_config",
    "lockerd.cmd_daemon",
    "lockerd.cmd_demo",
    "lockerd.cmd_terminal",
    "lockerd.cmd_api",
    "lockerd.cmd_token",
    "lockerd.cmd_sim",
    "lockerd.cmd_scan",
    "lockerd.cmd_log",
    "lockerd.cmd_mirror",
    "lockerd.cmd_witness",
    "lockerd.cmd_district",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="locker",
        description=(
            "evidence-locker: smart evidence locker controller and signed custody ledger."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used by the console script)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except (UsageError, ConfigError) as exc:
        print(f"locker: error: {exc}", file=sys.stderr)
        return 2
    except LockerError as exc:
        print(f"locker: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
