"""``locker report``: issue a chain-of-custody report (PDF/A-3b) for an item or a case.

The report is recorded in the ledger as a ``report.issued`` entry (its hash, the PDF's
hash, who asked, for which role) before the file is put in place, so this command needs the
station's ledger writer: while the daemon runs, ask its API instead
(``/v1/reports/.../report.pdf``). See docs/reports.md.
"""

from __future__ import annotations

import argparse
import getpass
import os

from custody.errors import LockerError, UsageError


class LedgerInUseError(LockerError):
    """Another process (the daemon) holds the ledger's writer: the work cannot be done."""


def _run(args: argparse.Namespace) -> int:
    # Imported here: `locker --help` must not pay for WeasyPrint and the API.
    from api.auth import may_see_contacts, parse_role
    from api.backend import Reader
    from api.report_i18n import check_language
    from api.report_issue import append_report_issued
    from api.report_pdf import render_pdf
    from api.reports import Requester, build_report, load_images, render_html
    from custody.ledger import Ledger
    from custody.ledger.errors import LedgerLockedError
    from custody.ports import SystemClock
    from lockerd import settings as conv
    from lockerd.paths import existing_file, new_file, station_dir
    from lockerd.report_setup import report_setup, station_config

    data = station_dir(args.data)
    config = existing_file(args.config, "config") if args.config else None
    out = new_file(args.out, "report")
    if (args.item is None) == (args.case is None):
        raise UsageError("give exactly one of --item LABEL or --case ID")
    lang = check_language(args.lang)
    role = parse_role(args.role)
    cfg = station_config(data, config)
    setup = report_setup(cfg)
    actor = args.by or f"cli:{getpass.getuser()}"
    if args.by and setup.person(args.by) is None:
        raise UsageError(f"--by {args.by!r} is not a person of the station's [[people]] list")
    subject, subject_id = ("item", args.item) if args.item else ("case", args.case)
    try:
        ledger = Ledger.open(data)
    except LedgerLockedError:
        raise LedgerInUseError(
            "the station daemon is writing this ledger: ask its API for the report "
            f"(/v1/reports/{subject}s/{subject_id}/report.pdf), so that its issue is recorded"
        ) from None
    with ledger:
        latest = ledger.checkpoints()
        if ledger.size and (not latest or latest[-1].size < ledger.size):
            ledger.checkpoint()  # every step of the report gets its proof
        reader = Reader(data, conv.rules_settings(cfg))
        try:
            reader.refresh()
            known = reader.custody.items if subject == "item" else reader.custody.cases
            if subject_id not in known:
                raise UsageError(f"no {subject} {subject_id!r} in this station's ledger")
            who = Requester(actor=actor, role=role.value, contacts=may_see_contacts(role.value))
            now = SystemClock().now()
            report = build_report(reader, subject, subject_id, who=who, setup=setup, now=now,
                                  lang=lang)
        finally:
            reader.close()
        load_images(report, data)
        if args.html:
            out.write_text(render_html(report), encoding="utf-8")
            print(f"screen preview written to {out} (not an issued report: nothing recorded)")
            return 0
        issued = render_pdf(report)
        tmp = out.with_name(out.name + ".part")
        tmp.write_bytes(issued.pdf)
        try:
            seq = append_report_issued(ledger, issued.entry_body(report), actor)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, out)
    print(f"report written to {out}: {len(report.steps)} ledger entries, "
          f"{len(report.transfers)} transfers, {len(report.photos)} photos")
    print(f"report hash (SHA-256 of report.json): {issued.report_sha256}")
    print(f"PDF SHA-256: {issued.pdf_sha256}; recorded as ledger entry #{seq} (report.issued)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locker report``."""
    p = sub.add_parser(
        "report",
        help="issue a chain-of-custody report (PDF/A-3b) for an item or a case",
        description=(
            "Issue the chain-of-custody report of one item or one case as a PDF/A-3b: the "
            "custody transfers with their photos, the manifest, and the proof material "
            "(every step's tlog-proof, the checkpoint and the verifier key, printed and "
            "attached). The report hash is printed on its last page and recorded in the "
            "ledger as a report.issued entry. Signs a checkpoint first when the latest does "
            "not cover the whole ledger. Needs the ledger's writer (not while the daemon "
            "runs: use its API). See docs/reports.md."
        ),
    )
    p.add_argument("--data", required=True, metavar="DIR", help="the station data directory")
    p.add_argument("--item", metavar="LABEL", help="report on this item")
    p.add_argument("--case", metavar="ID", help="report on this case and all its items")
    p.add_argument("--out", required=True, metavar="FILE.pdf", help="where to write the PDF")
    p.add_argument("--lang", default="zh", help="zh (Simplified Chinese, default) or en")
    p.add_argument(
        "--role",
        default="clerk",
        help="the role the report is made for: it decides whether contact details show "
        "(auditor, supervisor, officer, legal see them; default clerk: withheld)",
    )
    p.add_argument("--by", metavar="PERSON", help="who asks for it (a [[people]] id); "
                   "default: cli:<login name>")
    p.add_argument("--config", metavar="FILE",
                   help="the station config (people, zone); default DATA/config.toml")
    p.add_argument("--html", action="store_true",
                   help="write the screen preview (HTML) instead; nothing is recorded")
    p.set_defaults(func=_run)
