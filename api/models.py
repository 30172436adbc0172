"""The API's response models (what the OpenAPI schema shows) and their builders."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel, Field

from api.custody_view import Deadline
from api.entryfields import photo_refs, utc
from custody.projection import CaseView, HandoverRecord, ItemView


class PhotoOut(BaseModel):
    """A photo an entry references, and where to fetch it (check it against ``sha256``)."""

    sha256: str
    bytes: int
    url: str
    thumbnail_url: str


class ItemOut(BaseModel):
    """An item (case file or exhibit): what it is, its custody state and its place."""

    label: str
    case_id: str
    kind: str
    category: str
    description: str
    quantity: int
    seized_from: str
    seized_at: str
    seizing_officer: str
    handover_due: str
    state: str
    state_since: str
    state_seq: int = Field(description="the entry that put the item in its current state")
    compartment: str | None = Field(description="cabinet/n while stored")
    last_compartment: str | None = Field(
        default=None, description="where it was last stored (kept while it is out)")
    holder: str | None = Field(description="the officer holding it while checked out")
    due_back: str | None
    disposal: str | None
    approved_by: str | None


class HandoverOut(BaseModel):
    """One handover of a case's items, with the clerk's check."""

    seq: int
    at: str
    clerk: str
    items: list[str]
    missing: list[str]
    extra: list[str]
    reason: str
    photos: list[PhotoOut]


class CaseOut(BaseModel):
    """A case: its officers, its complainant and its items' labels."""

    case_id: str
    title: str
    officer: str
    officers: list[str]
    complainant_name: str | None
    registered_at: str
    registered_seq: int
    items: list[str]


class CaseDetail(CaseOut):
    """A case with its items' current state and its handovers."""

    item_states: list[ItemOut]
    handovers: list[HandoverOut]


class EntryOut(BaseModel):
    """One ledger entry: its fields decoded, its exact bytes and its leaf hash."""

    seq: int
    ts: str
    kind: str
    actor: str
    compartment: str | None
    leaf_hash: str = Field(description="base64 RFC 6962 leaf hash of the exact bytes")
    raw: str = Field(description="base64 of the entry's exact (canonical JSON) bytes")
    fields: dict[str, Any] = Field(description="the whole decoded entry")
    photos: list[PhotoOut]


class DeadlineOut(BaseModel):
    """An open deadline and how far up the escalation ladder it has gone."""

    key: str = Field(description="the matter: rule:label:seq of the entry that opened it")
    label: str
    case_id: str
    rule: str = Field(description="handover (24 h from seizure), return (daily) or a risk point")
    rule_name: str
    due: str
    officer: str
    overdue: bool
    escalation_step: int = Field(description="highest ladder step notified so far (0: none)")
    ladder_steps: int = Field(description="how many steps the ladder has")
    last_notice_role: str | None
    last_notice_at: str | None
    last_notice_key: str | None
    acknowledged: bool


def photo_out(sha256: str, size: int) -> PhotoOut:
    """A photo reference with its URLs."""
    return PhotoOut(
        sha256=sha256,
        bytes=size,
        url=f"/v1/photos/{sha256}",
        thumbnail_url=f"/v1/photos/{sha256}/thumbnail",
    )


def item_out(item: ItemView) -> ItemOut:
    """The API view of an item."""
    return ItemOut(
        label=item.label,
        case_id=item.case_id,
        kind=item.kind,
        category=item.category,
        description=item.description,
        quantity=item.quantity,
        seized_from=item.seized_from,
        seized_at=utc(item.seized_at) or "",
        seizing_officer=item.seizing_officer,
        handover_due=utc(item.handover_due) or "",
        state=item.state.value,
        state_since=utc(item.state_since) or "",
        state_seq=item.state_seq,
        compartment=item.compartment,
        last_compartment=item.last_compartment,
        holder=item.holder,
        due_back=utc(item.due_back),
        disposal=item.disposal,
        approved_by=item.approved_by,
    )


def case_out(case: CaseView) -> CaseOut:
    """The API view of a case (without its items' states)."""
    return CaseOut(
        case_id=case.case_id,
        title=case.title,
        officer=case.officer,
        officers=list(case.officers),
        complainant_name=case.complainant.name if case.complainant else None,
        registered_at=utc(case.registered_at) or "",
        registered_seq=case.registered_seq,
        items=list(case.items),
    )


def handover_out(h: HandoverRecord) -> HandoverOut:
    """The API view of a handover."""
    return HandoverOut(
        seq=h.seq,
        at=utc(h.at) or "",
        clerk=h.clerk,
        items=list(h.items),
        missing=list(h.missing),
        extra=list(h.extra),
        reason=h.reason,
        photos=[photo_out(p.sha256, p.bytes) for p in h.photos],
    )


def entry_out(entry: Any) -> EntryOut:
    """The API view of a ledger entry (``seq``, ``leaf_hash``, ``raw``, ``body``)."""
    body = entry.body
    compartment = body.get("compartment")
    return EntryOut(
        seq=entry.seq,
        ts=str(body.get("ts", "")),
        kind=str(body.get("kind", "")),
        actor=str(body.get("actor", "")),
        compartment=compartment if isinstance(compartment, str) else None,
        leaf_hash=base64.b64encode(entry.leaf_hash).decode(),
        raw=base64.b64encode(entry.raw).decode(),
        fields=dict(body),
        photos=[photo_out(sha, size) for sha, size in photo_refs(body)],
    )


def deadline_out(d: Deadline) -> DeadlineOut:
    """The API view of a deadline."""
    return DeadlineOut(
        key=d.key,
        label=d.label,
        case_id=d.case_id,
        rule=d.rule,
        rule_name=d.rule_name,
        due=utc(d.due) or "",
        officer=d.officer,
        overdue=d.overdue,
        escalation_step=d.step,
        ladder_steps=d.ladder_steps,
        last_notice_role=d.last_notice_role,
        last_notice_at=utc(d.last_notice_at),
        last_notice_key=d.last_notice_key,
        acknowledged=d.acknowledged,
    )
