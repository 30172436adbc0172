"""``locker audit verify-proof``: check one tlog-proof, or every proof of an issued report.

Exit codes: 0 the proof (every proof, and the report) holds, 1 it does not, 2 usage (no
file, an unreadable key, not a report). Offline: nothing but the file and the keys.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from custody.errors import UsageError


def _key_text(value: str, what: str) -> str:
    """A key given as its text, or as a file holding it."""
    from custody.textfile import read_utf8_text

    if "+" not in value or Path(value).is_file():
        return read_utf8_text(value, what=what).strip()
    return value.strip()


def _run(args: argparse.Namespace) -> int:
    from api.report_check import ProofCheckError, ReportFileError, check_proof, check_report_pdf
    from custody.ledger.cosign import load_witness_keys
    from custody.ledger.note import NoteError, Verifier

    if (args.file is None) == (args.pdf is None):
        raise UsageError("give one proof FILE, or --pdf REPORT.pdf")
    try:
        key = Verifier.from_vkey(_key_text(args.key, "verifier key file")) if args.key else None
        witnesses = load_witness_keys([_key_text(w, "witness key file") for w in args.witness])
    except NoteError as exc:
        raise UsageError(f"bad key: {exc}") from None
    if args.quorum is not None and not 1 <= args.quorum <= len(witnesses):
        raise UsageError(f"--quorum must be between 1 and the {len(witnesses)} --witness keys")
    from custody.textfile import read_utf8_text
    from lockerd.paths import existing_file

    if args.file is not None:
        text = read_utf8_text(existing_file(args.file, "proof file"), what="proof file")
        if key is None:
            raise UsageError("give --key VKEY (the station's verifier key, text or file)")
        try:
            proved = check_proof(text, [key], witnesses, args.quorum)
        except ProofCheckError as exc:
            print(f"proof FAILED: {exc}")
            return 1
        _show(proved)
        return 0

    target = existing_file(args.pdf, "report")
    try:
        content = target.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {target}: {exc.strerror or exc}") from None
    try:
        result = check_report_pdf(content, key, witnesses, args.quorum)
    except ReportFileError as exc:
        raise UsageError(str(exc)) from None
    for proved in result.proved:
        _show(proved, brief=True)
    print(f"report: {result.subject}, report hash {result.report_sha256}")
    if result.key_source == "attached":
        print("note: checked against the verifier key attached to the report; give --key "
              "with the station's published key to rule out a substituted key")
    if result.withheld or result.uncovered:
        print(f"{result.withheld} proof(s) withheld for the reader's role, "
              f"{result.uncovered} step(s) newer than the report's checkpoint")
    if not result.ok:
        for why in result.failures:
            print(f"FAILED: {why}")
        return 1
    print(f"report OK: {len(result.proved)} proofs hold and match the printed steps")
    return 0


def _show(proved: Any, brief: bool = False) -> None:
    cp = proved.checkpoint
    witnesses = f", cosigned by {', '.join(proved.cosigned_by)}" if proved.cosigned_by else ""
    if brief:
        fields = " ".join(f"{k}={v}" for k, v in proved.describe())
        print(f"ok #{proved.seq} {fields}{witnesses}")
        return
    print(f"proof OK: entry #{proved.seq} is in {cp.origin} at tree size {cp.size}{witnesses}")
    for name, value in proved.describe():
        print(f"  {name:<12}{value}")


def add_verify_proof(asub: Any) -> None:
    """Add ``locker audit verify-proof`` (called by :mod:`lockerd.cmd_audit`)."""
    p = asub.add_parser(
        "verify-proof",
        help="check one tlog-proof, or every proof in an issued report, offline",
        description=(
            "Check a c2sp.org/tlog-proof@v1 file offline: the checkpoint's signature by "
            "--key, the entry's inclusion, and (with --witness) the witnesses' cosignatures; "
            "print the entry decoded (kind, time, actor, item). With --pdf, check every proof "
            "attached to an issued report and that the report's printed steps and its "
            "report.json (whose SHA-256 is the printed report hash) match them. Exit 0 when "
            "everything holds, 1 when not, 2 usage."
        ),
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="a tlog-proof file")
    p.add_argument("--pdf", metavar="REPORT.pdf", help="an issued report (PDF) to check")
    p.add_argument("--key", metavar="VKEY",
                   help="the station's verifier key (text or file); needed for FILE; for "
                   "--pdf, default: the key attached to the report")
    p.add_argument("--witness", metavar="VKEY", action="append", default=[],
                   help="a witness key (text or file) whose cosignature the checkpoint must "
                   "carry (repeatable; C2SP tlog-cosignature)")
    p.add_argument("--quorum", type=int, metavar="N",
                   help="how many of the --witness keys must have cosigned (default: all)")
    p.set_defaults(func=_run)
