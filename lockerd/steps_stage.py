"""Case stages through the one step service: an officer at the kiosk or the console, or the
station's case-management system posting to the kiosk's write endpoint.

Every write goes through the runtime's one writer (:meth:`Runtime.call`) into
:meth:`custody.services.stages.Stages.record_stage`, which refuses bad input before it writes,
and wakes the MQTT feeder. The step service holds one :class:`StageSteps` as
``steps.stages``; the kiosk is handed it (typed as ``terminal.case_stages.StageDesk``).
"""

from __future__ import annotations

from datetime import datetime

from custody import stage_queries
from custody.domain.roles import Role
from custody.stages import StageRecord
from lockerd.runtime import Runtime

#: the ledger actor of stages the case-management system posts
CASE_SYSTEM_ACTOR = "case_system"


class StageSteps:
    """Recording case stages, and reading a person's cases with their deadlines."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def record(self, person: str, case_id: str, stage: str, *, document: str,
                     number: str = "", effective_at: datetime | None = None) -> StageRecord:
        """A person (at the kiosk or the console) records a stage of a case, in their role."""
        role = self.rt.custody.directory.get(person).role.value
        record = await self.rt.call(
            self.rt.custody.record_stage, case_id, stage, actor=person, role=role,
            document=document, number=number, effective_at=effective_at,
        )
        self.rt.ledger_changed()
        return record

    async def post(self, *, event_id: str, case_id: str, stage: str, document: str,
                   number: str = "", effective_at: datetime | None = None) -> StageRecord:
        """The case-management system posts a stage (idempotent by ``event_id``)."""
        record = await self.rt.call(
            self.rt.custody.record_stage, case_id, stage, actor=CASE_SYSTEM_ACTOR,
            role=Role.CASE_SYSTEM.value, document=document, number=number,
            effective_at=effective_at, event_id=event_id,
        )
        self.rt.ledger_changed()
        return record

    def deadlines(self, officer: str | None = None) -> list[stage_queries.CaseDeadline]:
        """Open case deadlines (of one officer's cases, or all), the overdue first."""
        custody = self.rt.custody
        with custody.lock:
            return stage_queries.open_case_deadlines(
                custody.projection, custody.engine, custody.catalogue, self.rt.clock.now(),
                officer=officer,
            )

    def escalations(self) -> list[stage_queries.CustodyEscalation]:
        """Open item deadlines whose custody ladder has started (the supervisor's view)."""
        custody = self.rt.custody
        with custody.lock:
            return stage_queries.custody_escalations(custody.projection, custody.engine)

    def choices(self, person: str) -> list[stage_queries.StageChoice]:
        """The stages ``person`` may record next on the cases he or she may record on (an
        officer: his or her cases; a supervisor: every case)."""
        custody = self.rt.custody
        role = custody.directory.get(person).role.value
        with custody.lock:
            return stage_queries.next_stage_choices(
                custody.projection, custody.catalogue,
                officer=person if role == Role.OFFICER.value else None, role=role)
