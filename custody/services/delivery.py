"""Recording what became of a notice (the ``notify`` adapter's entries) in the ledger.

The adapter reports each attempt and outcome here; this checks the entry names a notice
that was sent and has the fields of its kind, skips a repeat of the notice's latest entry
(the adapter re-records after a crash when it cannot tell whether its write landed), and
appends it. When a ladder notice fails for good and nobody else at that step was given it,
the ladder's next step comes due at once (see :mod:`custody.delivery`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from custody.delivery import (
    DELIVERY_KINDS,
    NOTICE_DELIVERED,
    NOTICE_FAILED,
    NOTICE_SMS_SENT,
    NOTICE_UNCONFIRMED,
    is_repeat,
)
from custody.domain.errors import InvalidInputError, UnknownNoticeError
from custody.domain.values import millis
from custody.services.escalation import Escalation
from custody.services.notices import SYSTEM_ACTOR

_REQUIRED = {
    NOTICE_SMS_SENT: ("key", "channel", "references", "attempt"),
    NOTICE_DELIVERED: ("key", "channel"),
    NOTICE_FAILED: ("key", "channel", "reason", "final", "attempt"),
    NOTICE_UNCONFIRMED: ("key", "channel", "reason"),
}


class Delivery(Escalation):
    """``record_delivery``: the delivery entries of notices already sent."""

    def record_delivery(self, kind: str, body: Mapping[str, Any]) -> bool:
        """Append one delivery entry; False when it repeats the notice's latest one.

        Raises :class:`InvalidInputError` for an unknown kind or a missing field and
        :class:`UnknownNoticeError` for a key no ``notice.sent`` entry has.
        """
        if kind not in DELIVERY_KINDS:
            raise InvalidInputError(f"{kind!r} is not a delivery entry kind")
        missing = [f for f in _REQUIRED[kind] if f not in body]
        if missing:
            raise InvalidInputError(f"{kind} needs {', '.join(missing)}")
        with self.lock:
            self._sync()
            key = str(body["key"])
            if key not in self.projection.notices:
                raise UnknownNoticeError(f"no notice with key {key!r} has been sent")
            if is_repeat(self.projection.deliveries, kind, body):
                return False
            self._append(kind, dict(body), SYSTEM_ACTOR)
            if kind == NOTICE_FAILED and body["final"]:
                self._step_failed(key)
            return True

    def _step_failed(self, key: str) -> None:
        """A ladder notice failed for good: if its whole step did, bring the next step due."""
        notice = self.projection.notices[key]
        rule, item, step = (notice.refs.get(k) for k in ("rule", "item", "step"))
        case = notice.refs.get("case") if "case_stage" in notice.refs else None
        if rule is None or step is None or (item is None and case is None):
            return
        # an item's ladder, or a case deadline's (custody.rules.case_matters)
        matters = self.engine.matters_of(item) if item is not None else self.engine.cases.of(
            str(case))
        for matter in matters:
            if (matter.point.id == rule and key.startswith(f"{matter.key}:{step}:")
                    and str(matter.next_step) == step and self._whole_step_failed(matter)):
                matter.next_due_ms = min(matter.next_due_ms, millis(self._now()))
