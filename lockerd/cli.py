"""The ``locker`` command: one entry point, a subcommand per job, ``--help`` on each.

Each subcommand lives in its own ``lockerd/cmd_*.py`` module exposing
``register(subparsers)``; the module's handlers take the parsed arguments and return the
process exit code. Every failure is shown as ONE line on stderr, and its exit code is
decided here, from the error's class (:data:`EXIT_CODES`, see :mod:`lockerd.exitcodes`
and docs/reliability.md): 1 only for "does not verify", 2 usage and environment errors,
3 an unreadable bundle, 4 a damaged ledger file, 5 work that could not be done. A command
adds no handling of its own: raising the right :class:`custody.errors.LockerError`
subclass is enough. ``locker -v COMMAND ...`` also prints the traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from custody.errors import (
    ConfigError,
    DiskFullError,
    LockerError,
    NotVerifiedError,
    UsageError,
)
from custody.ledger.errors import BundleUnreadableError, LedgerCorruptError
from lockerd import exitcodes

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
    "lockerd.cmd_report",
    "lockerd.cmd_label",
    "lockerd.cmd_witness",
    "lockerd.cmd_district",
)

# Error class -> exit code; the first class the error is an instance of wins, so the more
# specific classes come first (NoSuchEntryError is a LedgerError AND a UsageError: 2).
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (NotVerifiedError, exitcodes.NOT_VERIFIED),
    (BundleUnreadableError, exitcodes.BUNDLE_UNREADABLE),
    (LedgerCorruptError, exitcodes.LEDGER_DAMAGED),
    (UsageError, exitcodes.USAGE),
    (ConfigError, exitcodes.USAGE),
    (DiskFullError, exitcodes.FAILED),
    (LockerError, exitcodes.FAILED),
)

# The largest integer a ledger value may hold (DESIGN.md §3.1): no count, seq or size of
# ours can be larger, and anything larger overflows SQLite's 64-bit integers anyway.
MAX_WHOLE = 2**53 - 1


def whole_number(text: str) -> int:
    """argparse type of every ``type=int`` option: a whole number 0..2**53-1."""
    value = text.strip()
    digits = value[1:] if value[:1] in "+-" else value
    if not digits.isascii() or not digits.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    if len(digits) > 16 or int(value) > MAX_WHOLE:
        raise argparse.ArgumentTypeError(f"{text} is too large (at most {MAX_WHOLE})")
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give a number from 0")
    return number


class LockerArgumentParser(argparse.ArgumentParser):
    """argparse with one-line usage errors and checked whole numbers for ``type=int``.

    Subcommands' parsers are made of this class too (argparse's subparsers copy the
    parent's class), so a command added later gets both without doing anything.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # argparse looks every ``type=`` up in this registry before calling it.
        self.register("type", int, whole_number)

    def error(self, message: str) -> NoReturn:
        self.exit(
            exitcodes.USAGE,
            f"{self.prog}: error: {message} (see '{self.prog} --help')\n",
        )


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every registered subcommand."""
    parser = LockerArgumentParser(
        prog="locker",
        description=(
            "evidence-locker: smart evidence locker controller and signed custody ledger. "
            "Exit codes: 0 done, 1 does not verify, 2 usage or environment error, "
            "3 unreadable bundle, 4 damaged ledger file, 5 could not be done "
            "(docs/reliability.md)."
        ),
    )
    parser.add_argument(
        "-v",
        "--verbose",
        dest="show_traceback",
        action="store_true",
        help="on an error, print the Python traceback as well as the one-line message",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(sub)
    return parser


def exit_code_for(exc: BaseException) -> int:
    """The exit code of a failure (see :data:`EXIT_CODES`)."""
    for cls, code in EXIT_CODES:
        if isinstance(exc, cls):
            return code
    if isinstance(exc, OSError):
        return exitcodes.FAILED if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exitcodes.USAGE
    return exitcodes.INTERNAL


def describe(exc: BaseException) -> str:
    """The one line shown for a failure."""
    if isinstance(exc, OSError) and not isinstance(exc, LockerError):
        where = f": {exc.filename}" if exc.filename else ""
        text = f"{exc.strerror or exc}{where}"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            text = f"disk full ({text}); free some space and run it again"
    elif isinstance(exc, LockerError):
        text = str(exc) or type(exc).__name__
    else:
        text = (
            f"internal error {type(exc).__name__}: {exc} "
            "(a bug; 'locker -v ...' shows the traceback)"
        )
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used by the console script)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return exitcodes.INTERRUPTED
    except Exception as exc:  # every failure: one line, a documented code
        if args.show_traceback:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"locker: error: {describe(exc)}", file=sys.stderr)
        return exit_code_for(exc)
    return code


if __name__ == "__main__":
    sys.exit(main())
