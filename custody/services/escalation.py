"""Escalation: the deadline ladders' notices, who receives each step, and acknowledgements.

Every step goes to the people its role names for the item at that moment; a step whose
notices are already in the ledger is not sent again (the notice key makes it idempotent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from custody.domain.errors import (
    AlreadyAcknowledgedError,
    NotRecipientError,
    UnknownNoticeError,
)
from custody.domain.people import Role
from custody.domain.values import millis
from custody.ports import Notice
from custody.projection import NOTICE_ACKNOWLEDGED, ItemView, NoticeRecord
from custody.rules.case_matters import CaseMatter
from custody.rules.engine import Matter
from custody.services.core import ServiceCore
from custody.services.notices import ladder_notice


class Escalation(ServiceCore):
    """The rules engine's ladders turned into notices, and their acknowledgement."""

    def acknowledge(self, key: str, *, person: str) -> NoticeRecord:
        """Record that the person a notice went to has acknowledged it."""
        with self.lock:
            self._sync()
            notice = self.projection.notices.get(key)
            if notice is None:
                raise UnknownNoticeError(f"no notice with key {key!r} has been sent")
            if person != notice.person:
                raise NotRecipientError(
                    f"notice {key!r} went to {notice.person!r}; {person!r} cannot acknowledge it"
                )
            if notice.acknowledged_seq is not None:
                raise AlreadyAcknowledgedError(
                    f"notice {key!r} was already acknowledged (entry {notice.acknowledged_seq})"
                )
            self._append(NOTICE_ACKNOWLEDGED, {"key": key, "person": person}, person)
            return self.projection.notices[key]

    def _recipients(self, role: str, item: ItemView) -> list[str]:
        officer = self.projection.responsible_officer(item)
        if role == "officer":
            return [officer] if officer in self.directory else []
        if role == "supervisor":
            boss = self.directory.supervisor_of(officer)
            return [boss.id] if boss is not None else []
        if role == "legal":
            return [p.id for p in self.directory.with_role(Role.LEGAL)]
        if item.clerk is not None and item.clerk in self.directory:
            return [item.clerk]
        return [p.id for p in self.directory.with_role(Role.CLERK)]

    def tick(self, now: datetime | None = None) -> list[Notice]:
        """Send every ladder step that is due at ``now`` and not sent yet; returns them.

        Steps that fell due while the daemon was down all go out at the next tick, in
        ladder order; a step whose notices are already in the ledger is not sent again.
        """
        with self.lock:
            self._sync()
            moment = now or self._now()
            now_ms = millis(moment)
            sent: list[Notice] = []
            for matter in self.engine.due(now_ms):
                self._climb(matter, now_ms, sent)
            return sent

    def _whole_step_failed(self, matter: Matter | CaseMatter) -> bool:
        """Whether every notice of the matter's latest step failed for good (none given:
        :mod:`custody.delivery`), so the ladder should not wait for its next step."""
        if matter.next_step == 0 or matter.next_step >= len(matter.point.ladder):
            return False
        prefix = f"{matter.key}:{matter.next_step}:"
        deliveries = self.projection.deliveries
        peers = [k for k in self.projection.notices if k.startswith(prefix)]
        return bool(peers) and all(k in deliveries and deliveries[k].failed_for_good
                                   for k in peers)

    def _climb(self, matter: Matter, now_ms: int, sent: list[Notice]) -> None:
        item = self.projection.items[matter.label]
        self._climb_ladder(
            matter, now_ms, sent,
            recipients=lambda role: self._recipients(role, item),
            notice=lambda step, role, person: ladder_notice(
                matter, step, role, person, item, self._zone
            ),
        )

    def _climb_ladder(
        self,
        matter: Matter | CaseMatter,
        now_ms: int,
        sent: list[Notice],
        *,
        recipients: Callable[[str], Iterable[str]],
        notice: Callable[[int, str, str], Notice],
    ) -> None:
        """Send every step of ``matter``'s ladder due by ``now_ms`` (an item's or a case's:
        one climb for both), each to the ``recipients`` of its role, as ``notice`` words it.

        The ladder does not wait on a step nobody was given (:mod:`custody.delivery`'s
        rule): when every notice of the latest step failed for good, the next step is due at
        once (after a restart too: the pull-forward is not stored)."""
        if matter.next_due_ms > now_ms and self._whole_step_failed(matter):
            matter.next_due_ms = now_ms
        while matter.next_due_ms <= now_ms:
            step = matter.next_step
            role = matter.point.ladder[step].role
            for person in recipients(role):
                made = notice(step, role, person)
                if self._emit(made):
                    sent.append(made)
            matter.advance()
            if matter.next_due_ms > now_ms and self._whole_step_failed(matter):
                matter.next_due_ms = now_ms
