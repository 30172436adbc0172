"""The custody state the API serves: the ledger's projection, and its open deadlines.

Derived state only, restored from the API's saved snapshot (:mod:`api.snapshot`) or rebuilt
from the ledger when the API starts, and caught up entry by entry as the ledger grows (on
the API's ledger thread). Nothing here folds entries: the projection does (ladder steps,
open alarms, the responsible officer included); this adds the rules engine's open deadlines
and who may see a case, from the case's officers.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.auth import Principal
from custody.projection import (
    CaseView,
    ItemView,
    NoticeRecord,
    Projection,
    ProjectionStateError,
)
from custody.rules.catalogue import load_catalogue
from custody.rules.engine import RulesEngine
from custody.settings import RulesSettings


@dataclass(frozen=True)
class Deadline:
    """An open deadline (a matter of the rules engine) on one item."""

    key: str  # the matter: "<rule>:<label>:<seq that opened it>"
    label: str
    case_id: str
    rule: str  # "handover", "return", or a catalogue risk point's id
    rule_name: str
    due: datetime
    officer: str
    overdue: bool
    step: int  # the highest ladder step whose notice is in the ledger (0: none yet)
    ladder_steps: int
    last_notice_role: str | None
    last_notice_at: datetime | None
    last_notice_key: str | None
    acknowledged: bool


class CustodyView:
    """The custody projection and the notices about each item; one thread only."""

    def __init__(self, rules: RulesSettings | None = None) -> None:
        settings = (rules or RulesSettings()).check()
        self._settings = settings
        self._catalogue = load_catalogue(settings.catalogue)
        #: the catalogue (its case stages' names, for the case-stage routes)
        self.catalogue = self._catalogue
        self.projection = Projection()
        self.engine = RulesEngine(settings, self._catalogue)
        self._deadlines: list[Deadline] = []
        self._deadlines_at = -1

    @property
    def size(self) -> int:
        """How many ledger entries are folded in."""
        return self.projection.size

    def apply(self, body: Mapping[str, Any]) -> None:
        """Fold in the next entry (decoded)."""
        self.engine.follow(self.projection, body, self.projection.apply(body))

    # ------------------------------------------------------------------ saved state

    def to_state(self) -> dict[str, Any]:
        """The view's ledger-derived state as plain JSON values: the projection (ladder
        steps and open alarms included). The rules engine is not in it: its matters follow
        from the items and the *current* settings, so they are recomputed on restore (a
        station that changed its rules gets deadlines under the new ones)."""
        return {"projection": self.projection.to_state()}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace the view's state with a saved one (from :meth:`to_state`), all or nothing.

        Raises :class:`ProjectionStateError` when ``state`` is not a state this version
        wrote; the view is then unchanged.
        """
        if not isinstance(state, Mapping) or set(state) != {"projection"}:
            raise ProjectionStateError("custody view state has other parts than expected")
        projection = Projection.from_state(state["projection"])
        engine = RulesEngine(self._settings, self._catalogue)
        # Every item, not only the open ones: folding entry by entry refreshed each item
        # after its last change, so its matters are those of its current state, whatever
        # that state is; refreshing them all now gives exactly the same set.
        for item in projection.items.values():
            engine.refresh(item)
        engine.cases.rebuild(projection)  # case deadlines follow from the recorded stages
        self.projection, self.engine = projection, engine
        self._deadlines, self._deadlines_at = [], -1

    # ------------------------------------------------------------------ lookups

    @property
    def cases(self) -> Mapping[str, CaseView]:
        return self.projection.cases

    @property
    def items(self) -> Mapping[str, ItemView]:
        return self.projection.items

    def case_officers(self, case_id: str) -> frozenset[str]:
        """Everyone the case belongs to (its officer and the officers on it)."""
        case = self.projection.cases.get(case_id)
        if case is None:
            return frozenset()
        return frozenset({case.officer, *case.officers})

    def may_see_case(self, who: Principal, case_id: str) -> bool:
        """Station roles see every case; an officer only the cases he or she is on."""
        if who.sees_everything:
            return True
        return who.person is not None and who.person in self.case_officers(case_id)

    def may_see_item(self, who: Principal, label: str) -> bool:
        """Whether ``who`` may see an item (by its case)."""
        if who.sees_everything:
            return True
        item = self.projection.items.get(label)
        return item is not None and self.may_see_case(who, item.case_id)

    def open_deadlines(self) -> list[Deadline]:
        """Every open deadline (handover, daily return, catalogue points), soonest first.

        Built once per ledger size and cached (a million-entry station has tens of
        thousands of open matters); ``overdue`` is left False here: it depends on the time
        of the request, see :meth:`deadlines`.
        """
        if self._deadlines_at == self.projection.size:
            return self._deadlines
        out: list[Deadline] = []
        for matter in self.engine.matters():
            item = self.projection.items[matter.label]
            ladder = self.projection.ladder.get(matter.key)
            step = ladder.step if ladder is not None else 0
            last: NoticeRecord | None = (
                self.projection.notices.get(ladder.key) if ladder is not None else None
            )
            out.append(
                Deadline(
                    key=matter.key,
                    label=item.label,
                    case_id=item.case_id,
                    rule=matter.point.id,
                    rule_name=matter.point.name,
                    due=datetime.fromtimestamp(matter.deadline_ms / 1000, tz=UTC),
                    officer=self.projection.responsible_officer(item),
                    overdue=False,
                    step=step,
                    ladder_steps=len(matter.point.ladder),
                    last_notice_role=last.role if last else None,
                    last_notice_at=last.at if last else None,
                    last_notice_key=last.key if last else None,
                    acknowledged=bool(last and last.acknowledged_seq is not None),
                )
            )
        out.sort(key=lambda d: (d.due, d.key))
        self._deadlines, self._deadlines_at = out, self.projection.size
        return out

    def deadlines(
        self, now: datetime, who: Principal, *, only_overdue: bool = False
    ) -> list[Deadline]:
        """The open deadlines ``who`` may see (overdue ones only, if asked), soonest first,
        with ``overdue`` set for ``now``. Overdue ones are a prefix: the list is by due time."""
        found = self.open_deadlines()
        if only_overdue:
            found = found[: bisect.bisect_right(found, now, key=lambda d: d.due)]
        if not who.sees_everything:
            found = [d for d in found if self.may_see_case(who, d.case_id)]
        return found

    @staticmethod
    def with_overdue(deadline: Deadline, now: datetime) -> Deadline:
        """The deadline with ``overdue`` set for ``now``."""
        return dataclasses.replace(deadline, overdue=deadline.due <= now)
