"""Case stages: recording a stage (``case.stage``) and the case deadlines' ladders.

:meth:`Stages.record_stage` checks everything before it writes: the case and the stage are
known, the recorder's role may record that stage, the stage may follow the ones the case
has (:meth:`custody.stages.StageSet.may_follow`), the document is named, and the time it took
effect is not in the future. An ``event_id`` (the case-management system's) makes the call
idempotent: the same event again returns the stage already recorded and writes nothing; the
same id for another case or stage is refused.

The case deadlines (:mod:`custody.rules.case_matters`) climb their ladders in :meth:`tick`,
after the items' ladders: each step's notice says the case, its current stage, the deadline
and the next step, in zh-CN (the catalogue's texts).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from custody.domain.errors import (
    CustodyError,
    IllegalTransitionError,
    InvalidInputError,
    RoleError,
)
from custody.domain.people import Role
from custody.domain.values import millis, utc_text
from custody.ports import Notice
from custody.projection import CaseView
from custody.rules.case_matters import CaseMatter
from custody.services.escalation import Escalation
from custody.services.stage_notices import case_ladder_notice, stage_progress_notice
from custody.stages import CASE_STAGE, StageRecord

_EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
#: how far ahead of the station's clock a stage's effective time may be (clock drift)
FUTURE_SLACK = timedelta(minutes=5)


class UnknownStageError(CustodyError):
    """The stage id is not one the catalogue configures."""


class StageOrderError(IllegalTransitionError):
    """The stage may not follow the stages the case has (or it was recorded already)."""


class EventConflictError(CustodyError):
    """An event id already recorded a different stage or case."""


class Stages(Escalation):
    """Recording case stages, and the case deadlines' escalation."""

    def record_stage(
        self,
        case_id: str,
        stage: str,
        *,
        actor: str,
        role: str,
        document: str,
        number: str = "",
        effective_at: datetime | None = None,
        event_id: str = "",
    ) -> StageRecord:
        """Record that ``case_id`` reached ``stage`` (refusing, and writing nothing, on any
        bad input); the complainant hears of the stages that concern them."""
        with self.lock:
            self._sync()
            if event_id:
                if not _EVENT_ID.match(event_id):
                    raise InvalidInputError(f"event id {event_id!r} is not a valid id")
                done = self.projection.stage_events.get(event_id)
                if done is not None:
                    return self._replayed(event_id, done, case_id, stage)
            case = self._case(case_id)
            definition = self.catalogue.stages.get(stage)
            if definition is None:
                raise UnknownStageError(f"no stage {stage!r} is configured")
            if role not in definition.roles:
                raise RoleError(
                    f"role {role!r} may not record stage {stage!r} (may: "
                    f"{', '.join(sorted(definition.roles))})"
                )
            if role != Role.CASE_SYSTEM.value:
                person = self.directory.get(actor)  # a person must be on the station's list
                if person.role.value != role:
                    raise RoleError(f"{actor!r} is a {person.role.value}, not a {role}")
            recorded = [r.stage for r in case.stages]
            if not self.catalogue.stages.may_follow(recorded, stage):
                have = ", ".join(recorded) or "none"
                raise StageOrderError(
                    f"stage {stage!r} may not be recorded on case {case_id!r} (its stages: {have})"
                )
            if not isinstance(document, str) or not document.strip():
                raise InvalidInputError("a stage names its document (decision, notice, approval)")
            if not isinstance(number, str) or len(number) > 64 or len(document) > 200:
                raise InvalidInputError("document number at most 64, document at most 200 chars")
            now = self._now()
            moment = effective_at or now
            if moment.tzinfo is None:
                raise InvalidInputError("the stage's effective time has no time zone")
            if moment > now + FUTURE_SLACK:
                raise InvalidInputError(f"stage {stage!r} cannot take effect in the future")
            body: dict[str, object] = {
                "case": case_id,
                "stage": stage,
                "effective_at": utc_text(moment),
                "document": document.strip(),
                "number": number.strip(),
                "role": role,
            }
            if event_id:
                body["event_id"] = event_id
            self._append(CASE_STAGE, body, actor)
            record = case.stages[-1]
            if definition.complainant and case.complainant is not None:
                self._emit(stage_progress_notice(case, case.complainant, definition, record))
            return record

    def _replayed(self, event_id: str, done: tuple[str, int], case_id: str,
                  stage: str) -> StageRecord:
        case_of, seq = done
        record = next(r for r in self.projection.cases[case_of].stages if r.seq == seq)
        if case_of != case_id or record.stage != stage:
            raise EventConflictError(
                f"event {event_id!r} already recorded stage {record.stage!r} of case {case_of!r}"
            )
        return record

    # ------------------------------------------------------------------ ladders

    def tick(self, now: datetime | None = None) -> list[Notice]:
        """The items' ladders (:meth:`Escalation.tick`), then the case deadlines'."""
        with self.lock:
            moment = now or self._now()
            sent = super().tick(moment)
            now_ms = millis(moment)
            for matter in self.engine.cases.due(now_ms):
                self._climb_case(matter, now_ms, sent)
            return sent

    def _case_recipients(self, role: str, case: CaseView) -> list[str]:
        if role == "officer":
            return [case.officer] if case.officer in self.directory else []
        if role == "supervisor":
            boss = self.directory.supervisor_of(case.officer)
            return [boss.id] if boss is not None else []
        if role == "legal":
            return [p.id for p in self.directory.with_role(Role.LEGAL)]
        return [p.id for p in self.directory.with_role(Role.CLERK)]

    def _climb_case(self, matter: CaseMatter, now_ms: int, sent: list[Notice]) -> None:
        case = self.projection.cases[matter.case_id]
        # the stage the deadline runs from (the latest recorded may be a side step, such as
        # the family notified, that says less about where the case is)
        stage = self.catalogue.stages.get(matter.started.stage)
        stage_name = stage.name if stage is not None else matter.started.stage
        self._climb_ladder(
            matter, now_ms, sent,
            recipients=lambda role: self._case_recipients(role, case),
            notice=lambda step, role, person: case_ladder_notice(
                matter, step, role, person, stage_name, self._zone
            ),
        )
