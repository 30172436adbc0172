"""Offline checks of proofs and of issued reports (``locker audit verify-proof``).

:func:`check_proof` checks one ``tlog-proof@v1``: the checkpoint's signature by the station's
key, the inclusion of the entry bytes at their index, the bytes being canonical JSON whose
``seq`` is that index, and (when witness keys are given) that enough witnesses cosigned the
checkpoint (C2SP tlog-cosignature, :mod:`custody.ledger.cosign`).

:func:`check_report_pdf` does that for every proof attached to an issued report, and checks
the report against them: the ``report.json`` attachment's SHA-256 is the report hash printed
in the PDF; every step it lists with a proof has that proof attached (same text hash), and
the entry the proof proves has the step's seq, kind, time, actor and leaf hash; every
attached proof is a step of the report; and the PDF's printed text shows each step's number
and leaf hash. Nothing here needs the station.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from api.report_pdf import CHECKPOINT_NAME, REPORT_JSON, VKEY_NAME, proof_name
from custody.errors import LockerError
from custody.ledger.canonical import decode_canonical
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosign import WitnessKey, check_cosignatures
from custody.ledger.merkle import leaf_hash
from custody.ledger.note import Verifier
from custody.ledger.tlogproof import verify_tlog_proof


class ProofCheckError(LockerError):
    """A proof or a report does not hold (the message says what failed)."""


class ReportFileError(ProofCheckError):
    """The file is not an issued report this tool can read (no PDF, no report.json)."""


@dataclass(frozen=True)
class ProvedEntry:
    """An entry a proof proves, decoded, and the checkpoint it is proved against."""

    seq: int
    body: Mapping[str, Any]
    raw: bytes
    checkpoint: Checkpoint
    cosigned_by: tuple[str, ...] = ()  # witness names whose cosignature verified

    def describe(self) -> list[tuple[str, str]]:
        """``(field, value)`` lines for a person: kind, time, actor, item or case."""
        b = self.body
        rows = [("kind", str(b.get("kind"))), ("time", str(b.get("ts"))),
                ("actor", str(b.get("actor")))]
        if "item" in b:
            rows.append(("item", str(b["item"])))
        elif isinstance(b.get("items"), list):
            labels = [str(i["label"]) if isinstance(i, dict) else str(i) for i in b["items"]]
            rows.append(("items", ", ".join(labels)))
        if "case" in b:
            rows.append(("case", str(b["case"])))
        if "compartment" in b:
            rows.append(("compartment", str(b["compartment"])))
        return rows


def check_proof(
    text: str,
    verifiers: Sequence[Verifier],
    witnesses: Sequence[WitnessKey] = (),
    quorum: int | None = None,
) -> ProvedEntry:
    """Check one proof text; raises :class:`ProofCheckError` (or another LockerError of
    the ledger's) saying why it does not hold."""
    try:
        proof, cp = verify_tlog_proof(text, verifiers)
    except LockerError as exc:
        raise ProofCheckError(str(exc)) from None
    assert proof.extra is not None  # verify_tlog_proof refuses a proof without it
    try:
        body = decode_canonical(proof.extra)
    except LockerError as exc:
        raise ProofCheckError(f"the proved entry is not canonical JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("seq") != proof.index:
        raise ProofCheckError(
            f"the proved entry says seq {body.get('seq') if isinstance(body, dict) else '?'}"
            f" but the proof is for index {proof.index}"
        )
    cosigned: tuple[str, ...] = ()
    if witnesses:
        check = check_cosignatures(proof.checkpoint_note, witnesses)
        need = len(witnesses) if quorum is None else quorum
        if not check.quorum(need):
            bad = "; ".join(f"{k.split('+', 1)[0]}: {why}" for k, why in check.invalid.items())
            raise ProofCheckError(
                f"the checkpoint is cosigned by {len(check.cosigned)} of the given witnesses, "
                f"{need} needed" + (f" ({bad})" if bad else "")
            )
        cosigned = tuple(k.split("+", 1)[0] for k in sorted(check.cosigned))
    return ProvedEntry(proof.index, body, proof.extra, cp, cosigned)


@dataclass
class ReportCheck:
    """What :func:`check_report_pdf` found."""

    report_sha256: str
    subject: str
    key_source: str  # "given" or "attached"
    proved: list[ProvedEntry] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    withheld: int = 0
    uncovered: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def pdf_attachments(pdf: bytes) -> tuple[dict[str, bytes], str]:
    """The PDF's embedded files (name -> bytes) and its text (pypdf's extraction)."""
    import pypdf  # imported when a PDF is checked

    try:
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        files = {name: data[0] for name, data in reader.attachments.items() if data}
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except (pypdf.errors.PdfReadError, ValueError, KeyError) as exc:
        raise ReportFileError(f"not a readable PDF: {exc}") from None
    return files, text


def check_report_pdf(
    pdf: bytes,
    key: Verifier | None = None,
    witnesses: Sequence[WitnessKey] = (),
    quorum: int | None = None,
) -> ReportCheck:
    """Check an issued report and every proof attached to it (see the module's doc)."""
    files, text = pdf_attachments(pdf)
    if REPORT_JSON not in files:
        raise ReportFileError("the PDF has no report.json attachment: not an issued report")
    data_bytes = files[REPORT_JSON]
    digest = hashlib.sha256(data_bytes).hexdigest()
    try:
        data = json.loads(data_bytes)
        steps = list(data["steps"])
        subject = f"{data['subject']} {data['subject_id']}"
    except (ValueError, KeyError, TypeError) as exc:
        raise ReportFileError(f"report.json is not a report's data: {exc}") from None
    attached_key = files.get(VKEY_NAME, b"").decode(errors="replace").strip()
    result = ReportCheck(digest, subject, "given" if key else "attached")
    fail = result.failures.append
    if key is None:
        try:
            key = Verifier.from_vkey(attached_key)
        except LockerError as exc:
            raise ReportFileError(f"the attached verifier key is unusable: {exc}") from None
    elif attached_key and attached_key != key.vkey:
        fail(f"the attached verifier key {attached_key} is not the key given")
    if data.get("verifier_key") != key.vkey:
        fail("report.json names another verifier key than the one checked against")
    flat = "".join(text.split())
    if digest not in flat:
        fail(f"the report hash {digest} (SHA-256 of report.json) is not printed in the PDF")
    if CHECKPOINT_NAME in files and data.get("checkpoint") != files[CHECKPOINT_NAME].decode(
        errors="replace"
    ):
        fail("the attached checkpoint is not the one report.json names")
    proofs = {n: b for n, b in files.items() if n.endswith(".tlog-proof")}
    seen: set[str] = set()
    for step in steps:
        seq = int(step["seq"])
        if f"#{seq}" not in flat or str(step["leaf_hash"])[:16] not in flat:
            fail(f"step #{seq} is not printed in the PDF as report.json lists it")
        if step.get("withheld"):
            result.withheld += 1
            continue
        if not step.get("proof_sha256"):
            result.uncovered += 1
            continue
        name = proof_name(seq)
        blob = proofs.get(name)
        if blob is None:
            fail(f"step #{seq}: its proof {name} is not attached")
            continue
        seen.add(name)
        if hashlib.sha256(blob).hexdigest() != step["proof_sha256"]:
            fail(f"step #{seq}: the attached proof is not the one the report was issued with")
        try:
            proved = check_proof(blob.decode(errors="replace"), [key], witnesses, quorum)
        except LockerError as exc:
            fail(f"step #{seq}: {exc}")
            continue
        result.proved.append(proved)
        b = proved.body
        printed = (step["seq"], step["kind"], step["ts"], step["actor"], step["leaf_hash"])
        proven = (b.get("seq"), b.get("kind"), b.get("ts"), b.get("actor"),
                  leaf_hash(proved.raw).hex())
        if printed != proven:
            fail(f"step #{seq}: the report shows {printed[1:4]} but the proof proves "
                 f"{proven[1:4]}")
    for name in sorted(set(proofs) - seen):
        fail(f"attached proof {name} is not a step of the report")
    return result
