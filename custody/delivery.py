"""What became of a notice after it was recorded: its delivery entries and the "given" rule.

A notice is first a ``notice.sent`` entry (the decision to tell someone). The ``notify``
adapter then records each attempt and outcome as its own entry (contract, docs/custody.md):

- ``notice.sms_sent``: a text went out (modem message references or a gateway reference);
- ``notice.delivered``: the delivery report (or the gateway's callback) says it arrived;
- ``notice.failed``: an attempt failed; ``final`` says whether it will be retried;
- ``notice.unconfirmed``: it went out (or may have) but its delivery can never be known
  (no report within the report timeout, no report from this channel, or the daemon died
  while the modem held the message).

**The given rule** (one place: :meth:`DeliveryRecord.given`): a notice counts as *given* to
its recipient only when it was delivered, or when delivery cannot be known (unconfirmed,
or no delivery channel tracks it at all: a station without SMS). A notice still queued or
waiting for its report is not given yet; one that failed for good is never given. The
escalation ladder goes on to its next step at once when every notice of a step failed for
good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

NOTICE_SMS_SENT = "notice.sms_sent"
NOTICE_DELIVERED = "notice.delivered"
NOTICE_FAILED = "notice.failed"
NOTICE_UNCONFIRMED = "notice.unconfirmed"
DELIVERY_KINDS = (NOTICE_SMS_SENT, NOTICE_DELIVERED, NOTICE_FAILED, NOTICE_UNCONFIRMED)

#: statuses of a :class:`DeliveryRecord`
SENT, DELIVERED, RETRYING, FAILED, UNCONFIRMED = (
    "sent", "delivered", "retrying", "failed", "unconfirmed",
)
_STATUS = {
    NOTICE_SMS_SENT: SENT,
    NOTICE_DELIVERED: DELIVERED,
    NOTICE_UNCONFIRMED: UNCONFIRMED,
}


@dataclass(slots=True)
class DeliveryRecord:
    """The latest word on one notice's delivery (keyed like the notice)."""

    key: str
    status: str
    channel: str
    references: tuple[str, ...]
    reason: str
    attempts: int
    seq: int  # the latest delivery entry
    at: datetime
    last: tuple[str, int] = ("", 0)  # (kind, attempt) of the latest entry: repeats are skipped
    seqs: list[int] = field(default_factory=list)

    @property
    def given(self) -> bool:
        """Delivered, or delivery cannot be known (see the module's rule)."""
        return self.status in (DELIVERED, UNCONFIRMED)

    @property
    def failed_for_good(self) -> bool:
        return self.status == FAILED


def notice_given(deliveries: Mapping[str, DeliveryRecord], key: str, *,
                 tracked: bool = False) -> bool:
    """The given rule for one notice key. ``tracked``: the station sends notices through a
    channel that records delivery (``[sms]``), so a notice with no delivery entry yet is
    still queued, not given; otherwise nothing ever will be known about it: given."""
    record = deliveries.get(key)
    if record is None:
        return not tracked
    return record.given


def fold_delivery(
    deliveries: dict[str, DeliveryRecord], body: Mapping[str, Any], seq: int, at: datetime
) -> None:
    """Fold one delivery entry into ``deliveries`` (called by the projection)."""
    kind = str(body["kind"])
    key = str(body["key"])
    attempt = int(body.get("attempt", 0))
    failed = FAILED if body.get("final") else RETRYING
    status = failed if kind == NOTICE_FAILED else _STATUS[kind]
    old = deliveries.get(key)
    refs = tuple(str(r) for r in body.get("references", ()))
    record = DeliveryRecord(
        key=key,
        status=status,
        channel=str(body["channel"]),
        references=refs or (old.references if old is not None else ()),
        reason=str(body.get("reason", "")),
        attempts=max(attempt, old.attempts if old is not None else 0),
        seq=seq,
        at=at,
        last=(kind, attempt),
        seqs=[*(old.seqs if old is not None else []), seq],
    )
    deliveries[key] = record


def is_repeat(deliveries: Mapping[str, DeliveryRecord], kind: str, body: Mapping[str, Any]) -> bool:
    """Whether this entry repeats the latest one of its notice (a re-record after a crash)."""
    record = deliveries.get(str(body["key"]))
    return record is not None and record.last == (kind, int(body.get("attempt", 0)))


DELIVERY_FIELDS = (
    "key", "status", "channel", "references", "reason", "attempts", "seq", "at", "last", "seqs",
)


def delivery_row(d: DeliveryRecord) -> list[Any]:
    """A record as a state row (positional, :data:`DELIVERY_FIELDS` order)."""
    return [d.key, d.status, d.channel, list(d.references), d.reason, d.attempts, d.seq,
            d.at.isoformat(), list(d.last), list(d.seqs)]


def delivery_from(row: Any) -> DeliveryRecord:
    """A record from a state row."""
    key, status, channel, refs, reason, attempts, seq, at, last, seqs = row
    moment = datetime.fromisoformat(at)
    if moment.tzinfo is None:
        raise ValueError(f"time {at!r} has no UTC offset")
    return DeliveryRecord(key, status, channel, tuple(refs), reason, attempts, seq, moment,
                          (str(last[0]), int(last[1])), list(seqs))
