"""Open case deadlines: the catalogue's case points applied to the cases' recorded stages.

A case point is open on a case once its start stage is recorded and until one of its
``resolved_by`` stages is. Its deadline is the start stage's ``effective_at`` plus the point's
span, or plus the span of the latest extension stage recorded (an extension counts from the
same start, so it moves the deadline exactly there). A matter's key is
``<point>:<case>:<seq>`` with the seq of the entry that set the current deadline (the start
stage, or the latest extension): an extension starts a fresh ladder, and a ladder notice
already in the ledger is never sent again (its key is the same after a restart).

Like the item matters, each case matter precomputes its next ladder step's due time, so a
tick is one integer comparison per open case deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from custody.domain.values import millis
from custody.projection import CaseView, Projection, matter_key
from custody.rules.case_points import CasePoint, Extension
from custody.stages import StageRecord

NEVER = 2**62


@dataclass(slots=True)
class CaseMatter:
    """One open statutory deadline of one case, and how far up its ladder it has gone."""

    key: str
    point: CasePoint
    case_id: str
    epoch: int
    started: StageRecord
    deadline: datetime
    deadline_ms: int
    extension: Extension | None = None
    next_step: int = 0
    next_due_ms: int = NEVER

    def step_due_ms(self, index: int) -> int:
        return self.deadline_ms + int(self.point.ladder[index].at_ms)

    def advance(self) -> None:
        """Mark the current step handled and schedule the next (or none)."""
        self.next_step += 1
        self.next_due_ms = (
            self.step_due_ms(self.next_step) if self.next_step < len(self.point.ladder) else NEVER
        )


def open_case_matters(case: CaseView, points: tuple[CasePoint, ...],
                      zone: ZoneInfo) -> list[CaseMatter]:
    """The case points open on ``case`` now, each with its deadline (a pure function of the
    case's recorded stages: a rebuild gives the same)."""
    recorded = {r.stage: r for r in case.stages}
    made: list[CaseMatter] = []
    for point in points:
        start = recorded.get(point.stage)
        if start is None or any(s in recorded for s in point.resolved_by):
            continue
        span, epoch, extension = point.span, start.seq, None
        for ext in point.extensions:  # the latest recorded extension wins
            rec = recorded.get(ext.stage)
            if rec is not None and rec.seq > epoch:
                span, epoch, extension = ext.span, rec.seq, ext
        deadline = span.after(start.effective_at, zone)
        matter = CaseMatter(
            key=matter_key(point.id, case.case_id, epoch),
            point=point,
            case_id=case.case_id,
            epoch=epoch,
            started=start,
            deadline=deadline,
            deadline_ms=millis(deadline),
            extension=extension,
        )
        matter.next_due_ms = matter.step_due_ms(0)
        made.append(matter)
    return made


class CaseDeadlines:
    """Every open case matter, kept up to date case by case."""

    def __init__(self, points: tuple[CasePoint, ...], zone: ZoneInfo) -> None:
        self._points = points
        self._zone = zone
        self._by_case: dict[str, tuple[CaseMatter, ...]] = {}
        self._matters: dict[str, CaseMatter] = {}

    def rebuild(self, projection: Projection) -> None:
        """Recompute every case matter from the projection (at start-up)."""
        self._by_case.clear()
        self._matters.clear()
        for case in projection.cases.values():
            if case.stages:
                self.refresh(case)

    def refresh(self, case: CaseView) -> None:
        """Recompute one case's matters after a stage was recorded. A matter that stays
        open with the same key keeps its ladder position (it is the same deadline)."""
        old = {m.key: m for m in self._by_case.pop(case.case_id, ())}
        for key in old:
            self._matters.pop(key, None)
        made = open_case_matters(case, self._points, self._zone)
        for matter in made:
            kept = old.get(matter.key)
            if kept is not None:
                matter.next_step, matter.next_due_ms = kept.next_step, kept.next_due_ms
            self._matters[matter.key] = matter
        if made:
            self._by_case[case.case_id] = tuple(made)

    def due(self, now_ms: int) -> list[CaseMatter]:
        """Case matters with a ladder step due at or before ``now_ms``, earliest first."""
        found = [m for m in self._matters.values() if m.next_due_ms <= now_ms]
        found.sort(key=lambda m: (m.next_due_ms, m.key))
        return found

    def matters(self) -> Iterator[CaseMatter]:
        """Every open case matter."""
        return iter(self._matters.values())

    def of(self, case_id: str) -> tuple[CaseMatter, ...]:
        """The open matters of one case."""
        return self._by_case.get(case_id, ())

    def __len__(self) -> int:
        return len(self._matters)
