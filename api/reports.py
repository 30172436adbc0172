"""Chain-of-custody reports for one item or one case: the content model and its builder.

One content model (:class:`Report`) feeds both outputs: the HTML page for the screen
(:func:`render_html`) and the issued PDF/A-3b (:mod:`api.report_pdf`). Everything a reader
sees is decided here, once: the language (Simplified Chinese by default, English on
request), people by name and role (from the station's people list), times in the station's
zone with their UTC offset, and what the reader's role may see (:func:`api.auth.
may_see_contacts`: the complainant's contact and staff phone numbers are withheld from the
others).

The report's *data* (:meth:`Report.data`: every row shown, the steps' leaf hashes, the
photos' hashes, the checkpoint, the verifier key, the proofs' hashes, who asked and when,
in plain JSON values) is what the report hash covers: ``SHA-256`` of its RFC 8785 canonical
bytes, which the PDF carries as its ``report.json`` attachment and prints on its last page
(docs/reports.md).

:func:`build_report` runs on the API's ledger thread (it reads the ledger through a
:class:`api.backend.Reader`); the CLI builds its own reader.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import jinja2

from api.report_i18n import DEFAULT_LANGUAGE, word, words
from api.report_photos import report_image
from custody.ledger.canonical import canonical_bytes
from custody.settings import PersonSettings
from custody.transfers import CENTRE, COMPARTMENT, OUTSIDE, Party, Transfer, transfers

if TYPE_CHECKING:
    from api.backend import Reader

REPORT_ISSUED = "report.issued"  # the ledger entry kind recording an issued PDF report
REPORT_FORMAT = "evidence-locker/report@v1"  # the "format" field of report.json

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("api", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class ReportSetup:
    """What a report needs besides the ledger: the station's name, zone and people."""

    station: str = ""
    timezone: str = "Asia/Shanghai"
    people: Sequence[PersonSettings] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def person(self, person_id: str) -> PersonSettings | None:
        for p in self.people:
            if p.id == person_id:
                return p
        return None


@dataclass(frozen=True)
class Requester:
    """Who asked for a report: shown on it and recorded with it."""

    actor: str  # the ledger actor: a person id, or "token:<id>" / "cli:<user>"
    role: str  # the role the report was made for (decides what it shows)
    contacts: bool  # whether that role may see contact details
    token: str = ""  # the API token id, when asked through the API


@dataclass
class PhotoCell:
    """One photo: a tag (P1, P2...) the transfer table refers to, its hash, and (once
    :func:`load_images` ran) its image or why there is none."""

    tag: str
    seq: int
    sha256: str
    bytes: int
    image: str | None = None  # a data: URI of the photo (large enough to read the label)
    problem: str = ""


@dataclass(frozen=True)
class TransferRow:
    seq: int
    time: str
    giver: str
    receiver: str
    purpose: str
    place: str
    items: str
    photos: str  # "P1, P2"


@dataclass(frozen=True)
class EventRow:
    seq: int
    time: str
    kind: str
    actor: str
    summary: str


@dataclass(frozen=True)
class StepRow:
    """One ledger entry of the report, with its proof (None when not yet covered)."""

    seq: int
    kind: str
    ts: str  # UTC, as in the entry
    actor: str
    leaf_hash: str  # hex
    proof: str | None
    withheld: bool = False  # the proof exists but carries contact details this role may not see

    @property
    def leaf_short(self) -> str:
        return self.leaf_hash[:16]

    @property
    def proof_printed(self) -> str:
        """The proof as printed: lines longer than :data:`PRINT_WIDTH` characters (the
        ``extra`` line: the entry's base64) folded, so a page shows all of it; join them
        back to type it in (the attached file is the exact text)."""
        return fold_lines(self.proof or "")


@dataclass
class Report:
    """Everything a report shows, already in the reader's language and rights."""

    lang: str
    subject: str  # "item" or "case"
    subject_id: str
    title: str
    origin: str
    station: str
    timezone: str
    generated_at: str  # local, with offset
    generated_at_utc: str
    requested_by: str
    reader: Requester
    ledger_size: int
    checkpoint_size: int | None
    checkpoint_note: str | None
    verifier_key: str
    case: list[tuple[str, str]] = field(default_factory=list)
    manifest: list[dict[str, str]] = field(default_factory=list)
    transfers: list[TransferRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    photos: list[PhotoCell] = field(default_factory=list)
    people: list[dict[str, str]] = field(default_factory=list)
    steps: list[StepRow] = field(default_factory=list)

    @property
    def t(self) -> Mapping[str, str]:
        """The words of the report's language (for the template)."""
        return words(self.lang)

    @property
    def uncovered(self) -> int:
        """Steps newer than the checkpoint (no proof yet)."""
        return sum(1 for s in self.steps if s.proof is None and not s.withheld)

    @property
    def withheld(self) -> int:
        """Steps whose proof is withheld from this reader (the entry carries contacts)."""
        return sum(1 for s in self.steps if s.withheld)

    def data(self) -> dict[str, Any]:
        """The report's data as plain JSON values: what the report hash covers.

        Photos appear by hash and size (the image bytes are bound by those hashes, which the
        ledger entries carry); proofs by the SHA-256 of their text (the texts are attached).
        """
        return {
            "format": REPORT_FORMAT,
            "lang": self.lang,
            "subject": self.subject,
            "subject_id": self.subject_id,
            "origin": self.origin,
            "station": self.station,
            "timezone": self.timezone,
            "generated_at": self.generated_at_utc,
            "requested_by": {"actor": self.reader.actor, "role": self.reader.role,
                             "token": self.reader.token, "shown_as": self.requested_by},
            "ledger_size": self.ledger_size,
            "checkpoint": self.checkpoint_note,
            "verifier_key": self.verifier_key,
            "case": [list(row) for row in self.case],
            "manifest": self.manifest,
            "transfers": [vars(r) for r in self.transfers],
            "events": [vars(r) for r in self.events],
            "photos": [{"tag": p.tag, "seq": p.seq, "sha256": p.sha256, "bytes": p.bytes,
                        "problem": p.problem} for p in self.photos],
            "people": self.people,
            "steps": [
                {"seq": s.seq, "kind": s.kind, "ts": s.ts, "actor": s.actor,
                 "leaf_hash": s.leaf_hash, "withheld": s.withheld,
                 "proof_sha256": hashlib.sha256(s.proof.encode()).hexdigest()
                 if s.proof else None}
                for s in self.steps
            ],
        }

    def data_bytes(self) -> bytes:
        """:meth:`data` in RFC 8785 canonical form: the bytes of ``report.json``."""
        return canonical_bytes(self.data())

    def sha256(self) -> str:
        """The report hash: SHA-256 (hex) of :meth:`data_bytes`."""
        return hashlib.sha256(self.data_bytes()).hexdigest()


PRINT_WIDTH = 96


def fold_lines(text: str, width: int = PRINT_WIDTH) -> str:
    """``text`` with every line longer than ``width`` cut into ``width``-character lines."""
    out: list[str] = []
    for line in text.split("\n"):
        out.extend(line[i : i + width] for i in range(0, max(len(line), 1), width))
    return "\n".join(out)


def local_time(ts: str | datetime | None, zone: ZoneInfo) -> str:
    """A UTC time (``...Z`` text or aware datetime) in the station's zone with its offset,
    e.g. ``2026-03-02 08:30:00 (UTC+08:00)``."""
    if ts is None or ts == "":
        return ""
    moment = ts if isinstance(ts, datetime) else datetime.fromisoformat(
        str(ts).replace("Z", "+00:00")
    )
    here = moment.astimezone(zone)
    off = here.strftime("%z")
    return f"{here:%Y-%m-%d %H:%M:%S} (UTC{off[:3]}:{off[3:]})"


class _Names:
    """People shown by name and role, in the report's language."""

    def __init__(self, setup: ReportSetup, t: Mapping[str, str], contacts: bool) -> None:
        self.setup, self.t, self.contacts = setup, t, contacts
        self.seen: dict[str, PersonSettings | None] = {}

    def role(self, role: str) -> str:
        return word(self.t, f"role_{role}", role)

    def person(self, person_id: str) -> str:
        if not person_id:
            return ""
        if person_id == "system":
            return self.role("system")
        p = self.setup.person(person_id)
        self.seen.setdefault(person_id, p)
        if p is None:
            return person_id
        return f"{p.name}({self.role(p.role)})" if self.t is words("zh") else (
            f"{p.name} ({self.role(p.role)})"
        )

    def party(self, party: Party) -> str:
        if party.kind == COMPARTMENT:
            return party.ref
        if party.kind == CENTRE:
            return self.t["centre"]
        if party.kind == OUTSIDE:
            if party.ref in ("", "-"):
                return self.t["outside_unknown"]
            return word(self.t, f"disposal_{party.ref}", party.ref)
        return self.person(party.ref)

    def table(self) -> list[dict[str, str]]:
        rows = []
        for pid, p in sorted(self.seen.items()):
            if p is None:
                continue
            phone = p.phone if self.contacts else (self.t["redacted"] if p.phone else "")
            rows.append({"id": pid, "name": p.name, "role": self.role(p.role), "phone": phone})
        return rows


def _detail(t: Mapping[str, str], names: _Names, tr: Transfer, zone: ZoneInfo) -> str:
    parts = []
    for key, value in tr.detail:
        if key == "late":
            if value == "true":
                parts.append(t["late"])
        elif key == "due":
            parts.append(f"{t['due']} {local_time(value, zone)}")
        elif key == "approved_by":
            parts.append(f"{t['approved_by']} {names.person(value)}")
        elif key in ("requested_by", "second_clerk"):  # a leave's people
            if value:
                parts.append(f"{word(t, key, key)} {names.person(value)}")
        elif key == "disposal":
            continue  # shown as the receiver
        elif value:
            parts.append(f"{word(t, key, key)}: {value}")
    return "; ".join(parts)


def _summary(body: Mapping[str, Any], names: _Names) -> str:
    kind = str(body.get("kind"))
    if kind.startswith("notice.") and body.get("role") == "complainant":
        # a complainant's notice is addressed to the contact itself: shown by role only
        refs = body.get("refs") or {}
        name = refs.get("name", "") if isinstance(refs, dict) else ""
        who = f"{names.t['complainant']} {name}".strip()
        if names.contacts:
            who += f" <{body.get('person', '')}>"
        return f"{who}: {body.get('subject', '')}"
    if kind.startswith("notice."):
        who = names.person(str(body.get("person", "")))
        return f"{who}: {body.get('subject', '')}".strip(": ")
    skip = {"v", "seq", "prev", "ts", "kind", "actor", "photos"}
    parts = []
    for key, value in body.items():
        if key in skip or isinstance(value, dict | list):
            continue
        parts.append(f"{key}={value}")
    return ", ".join(parts)[:300]


def build_report(
    reader: Reader,
    subject: str,
    subject_id: str,
    *,
    who: Requester,
    setup: ReportSetup,
    now: datetime,
    lang: str = DEFAULT_LANGUAGE,
) -> Report:
    """Gather a report for ``subject`` ("item" or "case"); runs on the ledger thread.

    Every proof is made against the same checkpoint, the one the report prints, so the
    report is consistent even if the station signs a newer one meanwhile. The photos are
    listed by hash; :func:`load_images` reads them (off the ledger thread).
    """
    t = words(lang)
    zone = setup.zone
    names = _Names(setup, t, who.contacts)
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
    known = setup.person(who.actor)
    requester = names.person(who.actor) if known else f"{who.actor}, {names.role(who.role)}"
    report = Report(
        lang=lang,
        subject=subject,
        subject_id=subject_id,
        title=t[f"title_{subject}"].format(id=subject_id),
        origin=reader.ledger.origin,
        station=setup.station,
        timezone=setup.timezone,
        generated_at=local_time(now, zone),
        generated_at_utc=now.astimezone(UTC).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"),
        requested_by=requester,
        reader=who,
        ledger_size=reader.ledger.size,
        checkpoint_size=cp[1] if cp else None,
        checkpoint_note=cp[0] if cp else None,
        verifier_key=reader.ledger.verifier_key(),
    )
    if case is not None:
        contact = case.complainant.contact if case.complainant else ""
        report.case = [
            (t["case_id"], case.case_id),
            (t["case_title"], case.title),
            (t["lead_officer"], names.person(case.officer)),
            (t["officers"], "、".join(names.person(o) for o in case.officers)
             if lang == "zh" else ", ".join(names.person(o) for o in case.officers)),
            (t["registered"], local_time(case.registered_at, zone)),
            (t["complainant"], case.complainant.name if case.complainant else t["none"]),
            (t["complainant_contact"],
             (contact if who.contacts else t["redacted"]) if contact else t["none"]),
        ]
    for label in labels:
        it = custody.items[label]
        report.manifest.append({
            "label": it.label,
            "kind": word(t, f"kind_{it.kind}", it.kind),
            "category": it.category,
            "description": it.description,
            "quantity": str(it.quantity),
            "seized_from": it.seized_from if it.seized_from not in ("", "-") else "",
            "seized_at": local_time(it.seized_at, zone),
            "seizing_officer": names.person(it.seizing_officer),
            "state": word(t, f"state_{it.state.value}", it.state.value),
            "place": it.compartment or (names.person(it.holder) if it.holder else ""),
        })
    hidden = set() if who.contacts else _contacts(setup, case)
    bodies: list[Mapping[str, Any]] = []
    for seq in seqs:
        entry = reader.entry(seq)
        body = entry.body
        bodies.append(body)
        # A proof carries the entry's exact bytes: one that holds a contact this reader may
        # not see is withheld (an auditor's report has it), never edited.
        withheld = bool(hidden) and any(v in entry.raw.decode() for v in hidden)
        proof = reader.proof_text(seq, cp) if cp and seq < cp[1] and not withheld else None
        report.steps.append(StepRow(seq, str(body.get("kind")), str(body.get("ts")),
                                    str(body.get("actor", "")), entry.leaf_hash.hex(), proof,
                                    withheld))
    photo_tags: dict[tuple[int, str], str] = {}
    for tr in transfers(bodies, labels):
        tags = []
        for sha, size in tr.photos:
            tag = photo_tags.get((tr.seq, sha))
            if tag is None:
                tag = f"P{len(report.photos) + 1}"
                photo_tags[(tr.seq, sha)] = tag
                report.photos.append(PhotoCell(tag, tr.seq, sha, size))
            tags.append(tag)
        purpose = word(t, f"purpose_{tr.purpose}", tr.purpose)
        extra = _detail(t, names, tr, zone)
        report.transfers.append(TransferRow(
            seq=tr.seq,
            time=local_time(tr.ts, zone),
            giver=names.party(tr.giver),
            receiver=names.party(tr.receiver),
            purpose=f"{purpose}({extra})" if extra and lang == "zh" else (
                f"{purpose} ({extra})" if extra else purpose),
            place=tr.place,
            items=", ".join(tr.items),
            photos=", ".join(tags),
        ))
    moved = {r.seq for r in report.transfers}
    for other in bodies:
        if int(other["seq"]) in moved:
            continue
        report.events.append(EventRow(
            seq=int(other["seq"]),
            time=local_time(str(other.get("ts")), zone),
            kind=str(other.get("kind")),
            actor=names.person(str(other.get("actor", ""))),
            summary=_summary(other, names),
        ))
    report.people = names.table()
    if hidden:
        _withhold(report, hidden, t["redacted"])
    return report


def _contacts(setup: ReportSetup, case: Any) -> set[str]:
    """The contact texts a reader without contact rights must not see in this report."""
    hidden = {p.phone for p in setup.people if p.phone}
    if case is not None and case.complainant is not None and case.complainant.contact:
        hidden.add(case.complainant.contact)
    return hidden


def _withhold(report: Report, hidden: set[str], mark: str) -> None:
    """Belt and braces for readers who may not see contacts: no contact text anywhere in
    the rows built from free-text entry fields (a notice addressed to a phone number)."""

    def clean(text: str) -> str:
        for value in hidden:
            text = text.replace(value, mark)
        return text

    report.events = [EventRow(e.seq, e.time, e.kind, e.actor, clean(e.summary))
                     for e in report.events]
    report.transfers = [
        TransferRow(r.seq, r.time, clean(r.giver), clean(r.receiver), clean(r.purpose),
                    r.place, r.items, r.photos)
        for r in report.transfers
    ]


def load_images(report: Report, data_dir: Path) -> None:
    """Read, check and scale every photo of the report (or note why it cannot be shown).
    Run it before :meth:`Report.data`: a missing or damaged photo is part of the report."""
    t = report.t
    for cell in report.photos:
        cell.image, problem = report_image(data_dir, cell.sha256, cell.bytes)
        cell.problem = t[problem] if problem else ""


def render_html(report: Report, *, pdf: bool = False, report_hash: str = "") -> str:
    """The report as one HTML page: for the screen, or (``pdf=True``) for WeasyPrint, with
    the page furniture (page x of y) and the report hash on the last page."""
    return _ENV.get_template("report.html").render(
        report=report, t=report.t, pdf=pdf, report_hash=report_hash
    )
