"""The rules engine: which deadline ladders are open, and which steps are due now.

Every open item is watched by the points that apply to its current state: the two built-in
rules (``handover``: registered items, deadline = the recorded ``handover_due``; ``return``:
checked-out items, deadline = the recorded ``due``; ``leave``: items out on a temporary leave,
deadline = the leave's recorded ``due``) and the catalogue's points. Each
(point, item, state entry) is a *matter* with a precomputed deadline and ladder, so a tick
is one comparison of integers per matter; matters are rebuilt only for items that changed.

A matter is identified by ``<point>:<label>:<seq of the entry that opened it>``, so a second
check-out of the same file starts a fresh ladder; leaving the state resolves the matter and
drops it (its ladder stops).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from custody.domain.states import ItemState
from custody.domain.values import millis
from custody.projection import ItemView, Projection, matter_key
from custody.rules.catalogue import EMPTY, Catalogue, LadderStep, RiskPoint
from custody.settings import RulesSettings

NEVER = 2**62
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


def builtin_points(settings: RulesSettings) -> tuple[RiskPoint, RiskPoint]:
    """The 24-hour handover and the daily return, as points with the configured ladders."""
    handover = RiskPoint(
        id="handover",
        category="custody",
        name="Hand over within the deadline after seizure",
        state=ItemState.REGISTERED,
        start="seizure",
        deadline_ms=settings.handover_hours * HOUR_MS,
        ladder=(
            LadderStep("officer", -settings.handover_remind_before_hours * HOUR_MS),
            LadderStep("supervisor", 0),
            LadderStep("legal", settings.handover_legal_after_hours * HOUR_MS),
        ),
    )
    daily_return = RiskPoint(
        id="return",
        category="custody",
        name="Return checked-out items by the station's return time",
        state=ItemState.CHECKED_OUT,
        deadline_ms=0,
        ladder=(
            LadderStep("officer", -settings.return_remind_before_minutes * MINUTE_MS),
            LadderStep("supervisor", settings.return_supervisor_after_minutes * MINUTE_MS),
            LadderStep("legal", settings.return_legal_after_hours * HOUR_MS),
        ),
    )
    return handover, daily_return


@dataclass(slots=True)
class Matter:
    """One open deadline for one item, and how far up its ladder it has gone."""

    key: str
    point: RiskPoint
    label: str
    epoch: int
    deadline_ms: int
    next_step: int = 0
    next_due_ms: int = NEVER

    def step_due_ms(self, index: int) -> int:
        return self.deadline_ms + self.point.ladder[index].at_ms

    def advance(self) -> None:
        """Mark the current step handled and schedule the next (or none)."""
        self.next_step += 1
        self.next_due_ms = (
            self.step_due_ms(self.next_step) if self.next_step < len(self.point.ladder) else NEVER
        )


class RulesEngine:
    """Keeps the open matters of every item and finds the due ladder steps."""

    def __init__(self, settings: RulesSettings, catalogue: Catalogue = EMPTY,
                 leave_point: RiskPoint | None = None) -> None:
        self.handover_point, self.return_point = builtin_points(settings)
        #: a temporary leave's due date (custody.rules.leaving): deadline = the recorded due
        self.leave_point = leave_point
        by_state: dict[ItemState, list[RiskPoint]] = {
            ItemState.REGISTERED: [self.handover_point],
            ItemState.CHECKED_OUT: [self.return_point],
        }
        if leave_point is not None:
            by_state[ItemState.OUT_ON_LEAVE] = [leave_point]
        for state, points in catalogue.by_state().items():
            by_state.setdefault(state, []).extend(points)
        self._by_state = {k: tuple(v) for k, v in by_state.items()}
        self._by_label: dict[str, tuple[Matter, ...]] = {}
        self._matters: dict[str, Matter] = {}

    # ------------------------------------------------------------------ maintenance

    def rebuild(self, projection: Projection) -> None:
        """Recompute every matter from the projection (at start-up)."""
        self._by_label.clear()
        self._matters.clear()
        for item in projection.open_items():
            self.refresh(item)

    def refresh(self, item: ItemView) -> None:
        """Recompute the matters of one item after it changed."""
        for old in self._by_label.pop(item.label, ()):
            self._matters.pop(old.key, None)
        points = self._by_state.get(item.state, ())
        if not points:
            return
        made: list[Matter] = []
        for point in points:
            if not point.applies(item.kind, item.category):
                continue
            matter = Matter(
                key=matter_key(point.id, item.label, item.state_seq),
                point=point,
                label=item.label,
                epoch=item.state_seq,
                deadline_ms=self._deadline_ms(point, item),
            )
            matter.next_due_ms = matter.step_due_ms(0)
            made.append(matter)
            self._matters[matter.key] = matter
        if made:
            self._by_label[item.label] = tuple(made)

    def _deadline_ms(self, point: RiskPoint, item: ItemView) -> int:
        if point is self.handover_point:
            return millis(item.handover_due)
        if point is self.return_point or point is self.leave_point:
            assert item.due_back is not None  # checked out or out on leave: always has one
            return millis(item.due_back)
        start = item.seized_at if point.start == "seizure" else item.state_since
        return millis(start) + point.deadline_ms

    # ------------------------------------------------------------------ queries

    def due(self, now_ms: int) -> list[Matter]:
        """Matters with a ladder step due at or before ``now_ms``, earliest first.

        This is the hot loop of a tick: one integer comparison per open matter.
        """
        found = [m for m in self._matters.values() if m.next_due_ms <= now_ms]
        found.sort(key=lambda m: (m.next_due_ms, m.key))
        return found

    def matters(self) -> Iterator[Matter]:
        """Every open matter."""
        return iter(self._matters.values())

    def matters_of(self, label: str) -> Iterable[Matter]:
        """The open matters of one item."""
        return self._by_label.get(label, ())

    def __len__(self) -> int:
        return len(self._matters)
