"""Printable chain-of-custody reports for one item or one case.

A report is one self-contained HTML page (thumbnails inline as ``data:`` URIs, so a saved
copy needs nothing else) listing the items, every step in ledger order with its actor,
time, compartment and photos, and then the proof material an outsider needs to check it
offline: the verifier key, the signed checkpoint, and one ``tlog-proof@v1`` per step
against that checkpoint. It is HTML to be printed (the browser's "Print to PDF"): no
well-kept PDF library is installed with the project, and HTML prints faithfully.

:func:`build_report` runs on the API's ledger thread (it reads the ledger); :func:`render`
turns the result into HTML anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from fastapi import HTTPException

from api.entryfields import photo_refs, utc
from api.errors import NotFoundError
from api.index import references
from api.routes_photos import checked_thumbnail_bytes, photo_path
from custody.projection import CaseView, ItemView

if TYPE_CHECKING:
    from api.backend import Reader

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("api", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)

# Fields shown elsewhere in a step (or meaningless to a reader), left out of its details.
_SHOWN = frozenset(
    {"v", "seq", "prev", "ts", "kind", "actor", "photos", "photo", "compartment", "item"}
)


@dataclass(frozen=True)
class PhotoCell:
    """A photo as the report shows it: its thumbnail inline, or why there is none."""

    sha256: str
    bytes: int
    thumbnail: str | None
    problem: str = ""


@dataclass(frozen=True)
class ReportStep:
    """One ledger entry of the report, with its proof text (None when not yet covered)."""

    seq: int
    ts: str
    kind: str
    actor: str
    items: list[str]
    compartment: str
    details: list[tuple[str, str]]
    leaf_hash: str
    photos: list[PhotoCell]
    proof: str | None


@dataclass(frozen=True)
class ReportItem:
    """One item's summary line."""

    label: str
    kind: str
    description: str
    quantity: str
    seized: str
    state: str
    place: str


@dataclass(frozen=True)
class ReportCase:
    """The case's own fields (for a case report, or the item's case)."""

    case_id: str
    fields: list[tuple[str, str]]


@dataclass
class Report:
    """Everything the template shows."""

    subject: str  # "item" or "case"
    subject_id: str
    origin: str
    generated_at: str
    generated_by: str
    ledger_size: int
    checkpoint_size: int | None
    checkpoint_note: str | None
    verifier_key: str
    case: ReportCase | None
    items: list[ReportItem] = field(default_factory=list)
    steps: list[ReportStep] = field(default_factory=list)

    @property
    def uncovered(self) -> int:
        """Steps newer than the checkpoint (no proof yet)."""
        return sum(1 for s in self.steps if s.proof is None)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def photo_cell(data_dir: Path, sha256: str, size: int) -> PhotoCell:
    """The report's view of one photo: checked against its hash, thumbnail inlined."""
    try:
        data = photo_path(data_dir, sha256).read_bytes()
    except (FileNotFoundError, ValueError):
        return PhotoCell(sha256, size, None, "photo missing from the store")
    if hashlib.sha256(data).hexdigest() != sha256 or len(data) != size:
        return PhotoCell(sha256, size, None, "photo in the store does not match its hash")
    try:
        thumb = checked_thumbnail_bytes(data_dir, sha256)  # checked, rebuilt if it differs
    except (NotFoundError, HTTPException):
        return PhotoCell(sha256, size, None, "no thumbnail (the photo itself is intact)")
    uri = "data:image/jpeg;base64," + base64.b64encode(thumb).decode()
    return PhotoCell(sha256, size, uri)


def make_step(
    data_dir: Path, entry: Any, items: Iterable[str], proof: str | None
) -> ReportStep:
    """A report step from a ledger entry (``seq``, ``leaf_hash``, ``body``)."""
    body: Mapping[str, Any] = entry.body
    details = [(k, _text(v)) for k, v in body.items() if k not in _SHOWN]
    return ReportStep(
        seq=entry.seq,
        ts=str(body.get("ts", "")),
        kind=str(body.get("kind", "")),
        actor=_text(body.get("actor")),
        items=sorted(items),
        compartment=_text(body.get("compartment")),
        details=details,
        leaf_hash=base64.b64encode(entry.leaf_hash).decode(),
        photos=[photo_cell(data_dir, sha, size) for sha, size in photo_refs(body)],
        proof=proof,
    )


def render(report: Report) -> str:
    """The report as one self-contained HTML page."""
    return _ENV.get_template("report.html").render(report=report)


def _item_row(item: ItemView) -> ReportItem:
    return ReportItem(
        label=item.label,
        kind=item.kind,
        description=item.description,
        quantity=str(item.quantity),
        seized=f"{utc(item.seized_at)} from {item.seized_from or '-'} by {item.seizing_officer}",
        state=item.state.value,
        place=item.compartment or (f"with {item.holder}" if item.holder else "-"),
    )


def _case_box(case: CaseView) -> ReportCase:
    rows = [
        ("Title", case.title),
        ("Officer", case.officer),
        ("Officers on the case", ", ".join(case.officers)),
        ("Registered", f"{utc(case.registered_at)} (entry #{case.registered_seq})"),
        ("Complainant", case.complainant.name if case.complainant else "-"),
        ("Handovers", ", ".join(f"#{h.seq} by {h.clerk}" for h in case.handovers) or "-"),
    ]
    return ReportCase(case.case_id, rows)


def build_report(
    reader: Reader, subject: str, subject_id: str, generated_by: str, now: datetime
) -> Report:
    """Gather a report for ``subject`` ("item" or "case"); runs on the ledger thread.

    Every proof is made against the same checkpoint, the one the report prints, so the
    report is consistent even if the station signs a newer one meanwhile.
    """
    custody = reader.custody
    if subject == "item":
        item = custody.items[subject_id]
        labels = [item.label]
        case = custody.cases.get(item.case_id)
        seqs = reader.index.item_seqs(item.label)
    else:
        case = custody.cases[subject_id]
        labels = list(case.items)
        seqs = reader.case_seqs(case.case_id)
    cp = reader.latest_checkpoint()
    label_set = set(labels)
    report = Report(
        subject=subject,
        subject_id=subject_id,
        origin=reader.ledger.origin,
        generated_at=utc(now) or "",
        generated_by=generated_by,
        ledger_size=reader.ledger.size,
        checkpoint_size=cp[1] if cp else None,
        checkpoint_note=cp[0] if cp else None,
        verifier_key=reader.ledger.verifier_key(),
        case=_case_box(case) if case else None,
        items=[_item_row(custody.items[x]) for x in labels],
    )
    for seq in seqs:
        entry = reader.entry(seq)
        proof = reader.proof_text(seq, cp) if cp and seq < cp[1] else None
        named = references(entry.body).items & label_set
        report.steps.append(make_step(reader.data_dir, entry, named, proof))
    return report
