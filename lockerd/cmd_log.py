"""``locker log publish``: bring ``DATA/tiles/`` (the ledger as a C2SP tlog-tiles log) up
to the latest signed checkpoint, and gather the ``[[witness]]`` cosignatures of it. See
docs/offsite.md and docs/witness.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _publish(args: argparse.Namespace) -> int:
    from lockerd.logpublish import publish_log

    result = publish_log(Path(args.data))
    if result.size == 0:
        print("no signed checkpoint yet: nothing to publish")
        return 0
    print(
        f"published size {result.size} (was {result.previous}): {result.tiles} tiles, "
        f"{result.bundles} entry bundles written, {result.pruned} superseded partial files "
        f"removed, in {result.seconds * 1e3:.0f} ms"
    )
    from lockerd.cosigning import cosign_published

    report = cosign_published(Path(args.data))
    for o in report.outcomes if report is not None else ():
        state = "cosigned" if o.ok else "NOT cosigned"
        print(f"witness {o.witness}: size {o.size} {state} ({o.detail})")
    for alarm in report.alarms if report is not None else ():
        print(f"ALARM: {alarm.body['detail']}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locker log`` and its subcommands."""
    parser = subparsers.add_parser(
        "log",
        help="publish the ledger as a static transparency log",
        description=(
            "The station's ledger as a C2SP tlog-tiles log in DATA/tiles/, served read-only "
            "at /log/ by 'locker api' and the daemon (docs/offsite.md)."
        ),
    )
    sub = parser.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    publish = sub.add_parser(
        "publish",
        help="bring DATA/tiles/ up to the latest signed checkpoint",
        description=(
            "Write the hash tiles and entry bundles the entries since the last publish need, "
            "then the latest signed checkpoint (tiles first, each file atomically; a full "
            "tile is never rewritten). Then submit the checkpoint to every [[witness]] of "
            "DATA/config.toml and keep their cosignatures (a witness that is down is "
            "reported and skipped). Safe beside a running daemon, which does the same "
            "after each checkpoint."
        ),
    )
    publish.add_argument("--data", required=True, metavar="DIR", help="station data directory")
    publish.set_defaults(func=_publish)
