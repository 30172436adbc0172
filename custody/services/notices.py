"""Notices: each one is a ``notice.sent`` ledger entry first, then goes out via the Notifier.

The notice key makes it idempotent: a key already in the projection (which is rebuilt from
the ledger after a restart) is never sent again. The entry is written before the hand-over
to the Notifier, so a crash between the two can lose a delivery but never repeat one; the
daemon's durable outbox narrows that window to the append itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from custody.domain.people import Complainant
from custody.domain.values import utc_text
from custody.ports import Notice
from custody.projection import CaseView, ItemView, ReconciliationRecord
from custody.rules.engine import Matter

SYSTEM_ACTOR = "system"


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    """A deadline as people at the station read it: ``2026-11-28 18:00 (Asia/Shanghai)``."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def notice_body(notice: Notice) -> dict[str, object]:
    """The ``notice.sent`` entry fields for a notice."""
    return {
        "key": notice.key,
        "role": notice.role,
        "person": notice.person,
        "subject": notice.subject,
        "text": notice.text,
        "refs": dict(notice.refs),
    }


def ladder_notice(
    matter: Matter, step: int, role: str, person: str, item: ItemView, zone: ZoneInfo
) -> Notice:
    """The notice for one ladder step of one matter to one person."""
    point = matter.point
    deadline = datetime.fromtimestamp(matter.deadline_ms / 1000, tz=zone)
    rung = point.ladder[step]
    when = "is due" if rung.at_ms < 0 else "was due"
    text = (
        f"{point.name}. Item {item.label} ({item.description}, case {item.case_id}) {when} by"
        f" {local_text(deadline, zone)}. Escalation step {step + 1} of {len(point.ladder)}"
        f" ({role})."
    )
    return Notice(
        key=f"{matter.key}:{step + 1}:{person}",
        role=role,
        person=person,
        subject=f"{point.name}: {item.label}",
        text=text,
        refs={
            "rule": point.id,
            "item": item.label,
            "case": item.case_id,
            "deadline": utc_text(deadline),
            "step": str(step + 1),
        },
    )


def progress_notice(case: CaseView, complainant: Complainant, stage: str, key: str,
                    detail: str) -> Notice:
    """A progress notice to a case's complainant (received, handed over, disposed, released
    to the owner)."""
    subjects = {
        "received": "Your case has been registered",
        "handed_over": "The items of your case are in the evidence centre's custody",
        "disposed": "An item of your case has been disposed of",
        "released": "An item of your case has been released to its owner",
    }
    return Notice(
        key=key,
        role="complainant",
        person=complainant.contact,
        subject=f"{subjects[stage]} ({case.case_id})",
        text=f"Dear {complainant.name}, case {case.case_id}: {detail}",
        refs={"case": case.case_id, "stage": stage, "name": complainant.name},
    )


def discrepancy_notice(case: CaseView, supervisor: str, seq: int, missing: tuple[str, ...],
                       extra: tuple[str, ...], clerk: str, reason: str) -> Notice:
    """The flag to the supervisor when a handover did not match its manifest."""
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("extra " + ", ".join(extra))
    return Notice(
        key=f"discrepancy:{case.case_id}:{seq}",
        role="supervisor",
        person=supervisor,
        subject=f"Handover discrepancy in case {case.case_id}",
        text=(
            f"Clerk {clerk} took over case {case.case_id} (officer {case.officer}) with "
            f"{'; '.join(parts)}. Clerk's reason: {reason}"
        ),
        refs={"case": case.case_id, "handover_seq": str(seq)},
    )


def reconciliation_notice(record: ReconciliationRecord, supervisor: str) -> Notice:
    """The daily reconciliation's findings, to one supervisor (once per day)."""
    parts = []
    if record.checked_out_not_back:
        parts.append("checked out and not back: " + ", ".join(record.checked_out_not_back))
    if record.registered_not_handed_over:
        parts.append(
            "registered, not handed over: " + ", ".join(record.registered_not_handed_over)
        )
    if record.stored_but_empty:
        parts.append(
            "stored but the compartment reads empty: "
            + ", ".join(f"{lab} ({where})" for lab, where in record.stored_but_empty)
        )
    count = (len(record.checked_out_not_back) + len(record.registered_not_handed_over)
             + len(record.stored_but_empty))
    return Notice(
        key=f"reconciliation:{record.day}:{supervisor}",
        role="supervisor",
        person=supervisor,
        subject=f"Daily reconciliation {record.day}: {count} finding(s)",
        text="; ".join(parts) + ".",
        refs={"day": record.day, "reconciliation_seq": str(record.seq)},
    )


def notice_from_body(body: Mapping[str, object]) -> Notice:
    """The :class:`Notice` a ``notice.sent`` entry records (e.g. to re-deliver it)."""
    refs = body["refs"]
    assert isinstance(refs, Mapping)
    return Notice(
        key=str(body["key"]),
        role=str(body["role"]),
        person=str(body["person"]),
        subject=str(body["subject"]),
        text=str(body["text"]),
        refs={str(k): str(v) for k, v in refs.items()},
    )
