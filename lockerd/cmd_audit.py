"""``locker audit``: verify, export and prove the custody ledger (DESIGN.md §3.2).

Exit codes of ``audit verify``: 0 intact, 1 tampered or inconsistent (the first bad seq and
its class are printed), 2 usage (bad arguments, not a station, unreadable key), 3 the bundle
cannot be read at all (truncated or garbage archive), 4 the ledger file is damaged (SQLite
cannot read it). Every path is checked by :mod:`lockerd.paths` before anything is read.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

from custody.errors import UsageError
from custody.ledger import accel
from custody.ledger.bundle import export_bundle, verify_bundle
from custody.ledger.cosign import WitnessKey, load_witness_keys
from custody.ledger.errors import LedgerLockedError, StationNotFoundError
from custody.ledger.ledger import Ledger
from custody.ledger.note import NoteError
from custody.ledger.verify import VerifyReport, report_json, verify_data_dir
from lockerd import exitcodes
from lockerd.cmd_verify_proof import add_verify_proof
from lockerd.paths import existing_file, existing_path, new_file, station_dir


class _ProgressBar:
    """A one-line progress bar on stderr (only drawn when stderr is a terminal)."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        width = 30
        filled = width * done // total
        sys.stderr.write(
            f"\rverifying [{'#' * filled}{'.' * (width - filled)}] "
            f"{100 * done // total:3d}% {done}/{total} entries"
        )
        sys.stderr.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _verify(args: argparse.Namespace) -> int:
    if (args.data is None) == (args.bundle is None):
        raise UsageError("give exactly one of --data DIR or --bundle PATH")
    for cp in args.checkpoint:
        existing_file(cp, "checkpoint file")
    if args.data is not None:
        station_dir(args.data)
    else:
        existing_path(args.bundle, "bundle")
    witnesses = _witness_keys(args.witness)
    if args.quorum is not None and not 1 <= args.quorum <= len(witnesses):
        raise UsageError(f"--quorum must be between 1 and the {len(witnesses)} --witness keys")
    if args.reference:
        accel.NATIVE = None  # this process only: the CLI runs one command and exits
    bar = _ProgressBar() if sys.stderr.isatty() and not args.no_progress else None
    try:
        report: VerifyReport
        if args.bundle is not None:
            report = verify_bundle(
                args.bundle, key=args.key, checkpoints=args.checkpoint, progress=bar,
                witnesses=witnesses, quorum=args.quorum,
            )
        else:
            report = verify_data_dir(
                args.data, key=args.key, checkpoints=args.checkpoint, progress=bar,
                witnesses=witnesses, quorum=args.quorum,
            )
    except (NoteError, OSError) as exc:
        raise UsageError(f"cannot read the verifier key or a checkpoint: {exc}") from None
    finally:
        if bar is not None:
            bar.finish()
    if args.json:
        print(report_json(report))
    else:
        print(report.summary())
        for f in report.failures[1:10]:
            print(f"  also: {f.headline()}")
    return exitcodes.OK if report.ok else exitcodes.NOT_VERIFIED


def _witness_keys(given: list[str]) -> list[WitnessKey]:
    """``--witness`` values: a witness verifier key, or a file holding one."""
    texts = []
    try:
        for value in given:
            path = Path(value)
            is_file = "+" not in value or path.is_file()
            texts.append(path.read_text().strip() if is_file else value)
        return load_witness_keys(texts)
    except (NoteError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--witness: {exc}") from None


def _open(data: str, *, write: bool) -> Ledger:
    station_dir(data)
    if write:
        try:
            return Ledger.open(data)
        except LedgerLockedError:
            pass  # the daemon is writing: read alongside it
        except StationNotFoundError:
            if not (Path(data) / "ledger.db").is_file():
                raise
            # e.g. a station restored from a mirror without its key: it reads, never signs
            print("locker: no signing key (station.key) here: reading only, nothing is signed",
                  file=sys.stderr)
    return Ledger.open(data, readonly=True)


def _export(args: argparse.Namespace) -> int:
    station_dir(args.data)
    info = export_bundle(args.data, new_file(args.out, "bundle"))
    print(
        f"bundle written to {info.path}: {info.size} entries, {info.checkpoints} checkpoints, "
        f"{info.photos} photos"
        + (f" ({info.missing_photos} referenced photos missing)" if info.missing_photos else "")
    )
    return 0


def _checkpoint(args: argparse.Namespace) -> int:
    with _open(args.data, write=args.sign) as ledger:
        note = ledger.checkpoint() if args.sign and not ledger.readonly else None
        note = note or ledger.latest_checkpoint()
        if note is None:
            raise UsageError("no checkpoint has been signed yet (use --sign)")
    sys.stdout.write(note)
    return 0


def _key(args: argparse.Namespace) -> int:
    with Ledger.open(station_dir(args.data), readonly=True) as ledger:
        print(ledger.verifier_key())
    return 0


def _proof(args: argparse.Namespace) -> int:
    with _open(args.data, write=True) as ledger:
        text = ledger.proof_text(args.seq)
    sys.stdout.write(text)
    return 0


def _consistency(args: argparse.Namespace) -> int:
    with Ledger.open(station_dir(args.data), readonly=True) as ledger:
        new = ledger.size if args.new is None else args.new
        proof = ledger.consistency_proof(args.old, new)
        out = {
            "old_size": args.old,
            "new_size": new,
            "old_root": base64.b64encode(ledger.root(args.old)).decode(),
            "new_root": base64.b64encode(ledger.root(new)).decode(),
            "proof": [base64.b64encode(h).decode() for h in proof],
        }
    print(json.dumps(out, indent=2))
    return 0


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, metavar="DIR", help="the station data directory")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locker audit ...`` to the command line."""
    audit = sub.add_parser(
        "audit",
        help="verify, export and prove the custody ledger",
        description=(
            "Auditor's tools for the signed custody ledger: full verification, offline "
            "bundles, checkpoints, the verifier key, inclusion and consistency proofs."
        ),
    )
    asub = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)

    v = asub.add_parser(
        "verify",
        help="re-derive and check the whole ledger",
        description=(
            "Re-derive everything from the raw entries: canonical form, seq, prev, leaf "
            "hashes, the Merkle root at every checkpoint, every checkpoint signature, "
            "consistency with the auditor's checkpoints and every referenced photo. "
            "Exit 0 intact, 1 tampered (first bad seq and class printed), 2 usage."
        ),
    )
    v.add_argument("--data", metavar="DIR", help="a station data directory")
    v.add_argument("--bundle", metavar="PATH", help="an audit bundle (directory or .tar.gz)")
    v.add_argument(
        "--key",
        metavar="VKEY",
        help="the verifier key to trust (text or a file); default: the station's own",
    )
    v.add_argument(
        "--checkpoint",
        metavar="FILE",
        action="append",
        default=[],
        help="a signed checkpoint the auditor kept earlier (repeatable); catches truncation, "
        "rollback and forks",
    )
    v.add_argument(
        "--witness",
        metavar="VKEY",
        action="append",
        default=[],
        help="a witness verifier key (name+keyid+base64(0x04||key), text or a file; "
        "repeatable): the latest checkpoint and every --checkpoint must carry its valid "
        "cosignature",
    )
    v.add_argument(
        "--quorum",
        type=int,
        metavar="N",
        help="how many of the --witness keys must have cosigned (default: all of them)",
    )
    v.add_argument("--json", action="store_true", help="print a JSON report for machines")
    v.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    v.add_argument(
        "--reference",
        action="store_true",
        help="check every row with the pure-Python reference only, not the C accelerator "
        "(same verdicts, about 3x slower; also EVIDENCE_LOCKER_PURE_PYTHON=1)",
    )
    v.set_defaults(func=_verify)

    e = asub.add_parser(
        "export",
        help="write a self-contained audit bundle",
        description=(
            "Write an audit bundle (entries, checkpoints, verifier key, photos) to a new "
            "directory, or to a .tar.gz when PATH ends so; verify it with "
            "'locker audit verify --bundle PATH'."
        ),
    )
    _data_arg(e)
    e.add_argument("--out", required=True, metavar="PATH", help="where to write the bundle")
    e.set_defaults(func=_export)

    c = asub.add_parser(
        "checkpoint",
        help="print the latest signed checkpoint",
        description="Print the latest signed checkpoint (a C2SP signed note).",
    )
    _data_arg(c)
    c.add_argument(
        "--sign",
        action="store_true",
        help="sign a new checkpoint at the current size first (when no daemon is writing)",
    )
    c.set_defaults(func=_checkpoint)

    k = asub.add_parser(
        "key",
        help="print the verifier key",
        description="Print the station's verifier key (signed-note format name+id+key).",
    )
    _data_arg(k)
    k.set_defaults(func=_key)

    pr = asub.add_parser(
        "proof",
        help="print a tlog-proof@v1 for one entry",
        description=(
            "Print a c2sp.org/tlog-proof@v1 for entry N (its bytes on the extra line) "
            "against the latest checkpoint, signing one first if none covers the entry."
        ),
    )
    _data_arg(pr)
    pr.add_argument("--seq", required=True, type=int, metavar="N", help="the entry's seq")
    pr.set_defaults(func=_proof)

    co = asub.add_parser(
        "consistency",
        help="print a consistency proof between two tree sizes",
        description=(
            "Print JSON {old_size,new_size,old_root,new_root,proof} (base64 hashes): the "
            "RFC 6962 proof that the tree of size OLD is a prefix of the tree of size NEW."
        ),
    )
    _data_arg(co)
    co.add_argument("--old", required=True, type=int, metavar="N", help="the older tree size")
    co.add_argument("--new", type=int, metavar="M", help="the newer tree size (default: now)")
    co.set_defaults(func=_consistency)
    add_verify_proof(asub)
