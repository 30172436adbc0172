"""``locker label print``: print (or reprint) item labels, recorded in the ledger."""

from __future__ import annotations

import argparse
from typing import Any

from custody.errors import LockerError, UsageError


def _print(args: argparse.Namespace) -> int:
    from custody.ledger import Ledger
    from custody.ledger.errors import LedgerLockedError
    from custody.projection import Projection
    from lockerd.labels import desk_for
    from lockerd.paths import existing_file, station_dir
    from lockerd.report_setup import station_config

    data = station_dir(args.data)
    config = existing_file(args.config, "config") if args.config else None
    if (not args.item) == (args.case is None):
        raise UsageError("give --item LABEL (repeatable) or --case ID")
    if not 1 <= args.copies <= 99:
        raise UsageError("--copies must be 1..99")
    cfg = station_config(data, config)
    update: dict[str, Any] = {}
    if args.printer:
        update["url"] = args.printer
    if args.language:
        update["language"] = args.language
    cfg = cfg.model_copy(update={"printer": cfg.printer.model_copy(update=update)})
    try:
        ledger = Ledger.open(data)
    except LedgerLockedError:
        raise LockerError("the station daemon is writing this ledger: reprint at the kiosk") \
            from None
    with ledger:
        desk = desk_for(
            cfg,
            projection=lambda: Projection.rebuild(ledger.entries()),
            append=lambda kind, body, actor: ledger.append(kind, body, actor=actor),
        )
        actor = args.by or "cli"
        if args.case is not None:
            if args.reason == "handover":
                outcome = desk.print_missing(args.case, actor=actor)
            else:
                case = Projection.rebuild(ledger.entries()).cases.get(args.case)
                if case is None:
                    raise UsageError(f"no case {args.case!r} is registered")
                outcome = desk.print_items(case.items, reason=args.reason, actor=actor,
                                           copies=args.copies)
        else:
            outcome = desk.print_items(args.item, reason=args.reason, actor=actor,
                                       copies=args.copies)
    for code, seq in zip(outcome.printed, outcome.seqs, strict=True):
        print(f"printed {code} (recorded as ledger entry #{seq}, label.printed)")
    if not outcome.printed:
        print("nothing to print: every item of the case has its label")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locker label print``."""
    parser = sub.add_parser(
        "label",
        help="print or reprint item labels (TSPL or ZPL printers)",
        description=(
            "Print the labels of case files and exhibits on the station's label printer "
            "([printer] in the config, or --printer): the label code with its check character "
            "as text, Code 128 and QR, the case number, the description, the date, the "
            "station and the officer in charge. Every printed label is recorded in the "
            "ledger (label.printed). See docs/labels.md."
        ),
    )
    inner = parser.add_subparsers(dest="label_command", metavar="ACTION", required=True)
    p = inner.add_parser(
        "print",
        help="print labels (a reprint by default) and record them",
        description=(
            "Print the labels of the given items, or of a case's items (with --reason "
            "handover: only those that have no label yet). A printer fault (out of labels, "
            "offline, job refused) is reported and nothing is recorded: run it again."
        ),
    )
    p.add_argument("--data", required=True, metavar="DIR", help="the station data directory")
    p.add_argument("--item", action="append", default=[], metavar="LABEL",
                   help="an item's label (repeatable)")
    p.add_argument("--case", metavar="ID", help="every item of this case")
    p.add_argument("--reason", default="reprint", choices=("registration", "handover",
                                                            "reprint"),
                   help="why it is printed (default reprint)")
    p.add_argument("--copies", type=int, default=1, help="copies of each label (default 1)")
    p.add_argument("--printer", metavar="URL",
                   help="tcp://HOST:PORT or a device file; default [printer] url")
    p.add_argument("--language", choices=("tspl", "zpl"), help="default [printer] language")
    p.add_argument("--by", metavar="PERSON", help="who asks (the entry's actor)")
    p.add_argument("--config", metavar="FILE", help="the station config; default "
                   "DATA/config.toml")
    p.set_defaults(func=_print)
