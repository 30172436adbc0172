"""The issued chain-of-custody report: a PDF/A-3b made by WeasyPrint, with its proofs.

What the report hash is (docs/reports.md): a PDF cannot contain the hash of its own final
bytes, so the hash printed on the last page is the SHA-256 of the report's *data*
(:meth:`api.reports.Report.data` in RFC 8785 canonical form), which the PDF carries as its
``report.json`` attachment. Anyone can check it with standard tools (``pdfdetach -save``,
``sha256sum``) or with ``locker audit verify-proof --pdf``. The ``report.issued`` ledger
entry records both that hash and the SHA-256 of the PDF file as issued, so the station's
ledger also pins the exact file.

Attachments (PDF/A-3 associated files): ``report.json``, ``station.vkey``,
``checkpoint.note`` (the signed checkpoint, with any witness cosignatures) and one
``proofs/<seq>.tlog-proof`` per step covered by that checkpoint.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from api.reports import REPORT_ISSUED, Report, render_html

REPORT_JSON = "report.json"
VKEY_NAME = "station.vkey"
CHECKPOINT_NAME = "checkpoint.note"
PROOF_PREFIX = "proof-"
PROOF_SUFFIX = ".tlog-proof"


def proof_name(seq: int) -> str:
    """The attachment name of entry ``seq``'s proof (zero-padded so names sort by seq)."""
    return f"{PROOF_PREFIX}{seq:09d}{PROOF_SUFFIX}"


@dataclass(frozen=True)
class IssuedReport:
    """A rendered PDF and what the ledger records about it."""

    pdf: bytes
    report_sha256: str  # SHA-256 of report.json: printed on the last page
    pdf_sha256: str  # SHA-256 of the PDF file as issued

    def entry_body(self, report: Report) -> dict[str, Any]:
        """The ``report.issued`` entry's fields (docs/reports.md)."""
        body: dict[str, Any] = {
            "subject": report.subject,
            "report_sha256": self.report_sha256,
            "pdf_sha256": self.pdf_sha256,
            "pdf_bytes": len(self.pdf),
            "lang": report.lang,
            "role": report.reader.role,
            "requested_by": report.reader.actor,
            "steps": len(report.steps),
            "checkpoint_size": report.checkpoint_size,
        }
        body["item" if report.subject == "item" else "case"] = report.subject_id
        if report.reader.token:
            body["token"] = report.reader.token
        return body


def _attachments(report: Report, data: bytes) -> list[Any]:
    from weasyprint import Attachment  # heavy: imported when a PDF is made

    def att(name: str, payload: bytes, description: str, relationship: str) -> Any:
        return Attachment(file_obj=io.BytesIO(payload), name=name, description=description,
                          relationship=relationship)

    out = [
        att(REPORT_JSON, data, "report data (RFC 8785); its SHA-256 is the report hash",
            "Source"),
        att(VKEY_NAME, (report.verifier_key + "\n").encode(),
            "the station's verifier key (signed-note)", "Supplement"),
    ]
    if report.checkpoint_note:
        out.append(att(CHECKPOINT_NAME, report.checkpoint_note.encode(),
                       "signed checkpoint (C2SP tlog-checkpoint)", "Supplement"))
    for step in report.steps:
        if step.proof:
            out.append(att(proof_name(step.seq), step.proof.encode(),
                           f"tlog-proof@v1 of entry {step.seq} ({step.kind})", "Supplement"))
    return out


def render_pdf(report: Report) -> IssuedReport:
    """Render the report as PDF/A-3b with its attachments (blocking: run it off the event
    loop). Call :func:`api.reports.load_images` first."""
    from weasyprint import HTML

    data = report.data_bytes()
    digest = hashlib.sha256(data).hexdigest()
    html = render_html(report, pdf=True, report_hash=digest)
    pdf: bytes = HTML(string=html).write_pdf(
        pdf_variant="pdf/a-3b", attachments=_attachments(report, data),
        uncompressed_pdf=False,
    )
    return IssuedReport(pdf, digest, hashlib.sha256(pdf).hexdigest())


__all__ = ["REPORT_ISSUED", "IssuedReport", "proof_name", "render_pdf"]
