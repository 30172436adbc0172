"""The daily reconciliation: what should be back, handed over or in its compartment, and isn't."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from custody.domain.people import Role
from custody.domain.states import ItemState
from custody.domain.values import check_compartment
from custody.projection import Projection, ReconciliationRecord
from custody.services.core import ServiceCore
from custody.services.notices import SYSTEM_ACTOR, reconciliation_notice


def reconciliation_body(
    projection: Projection,
    now: datetime,
    zone: ZoneInfo,
    occupancy: Mapping[str, bool] | None,
) -> dict[str, Any]:
    """The ``reconciliation`` entry fields for the state at ``now``."""
    if occupancy is not None:
        for compartment in occupancy:
            check_compartment(compartment)
    out: list[str] = []
    registered: list[str] = []
    empty: list[dict[str, str]] = []
    for item in projection.items.values():
        if item.state is ItemState.CHECKED_OUT:
            if item.due_back is not None and item.due_back <= now:
                out.append(item.label)
        elif item.state is ItemState.REGISTERED:
            registered.append(item.label)
        elif (
            item.state is ItemState.STORED
            and occupancy is not None
            and item.compartment is not None
            and occupancy.get(item.compartment) is False
        ):
            empty.append({"item": item.label, "compartment": item.compartment})
    return {
        "day": now.astimezone(zone).date().isoformat(),
        "checked_out_not_back": sorted(out),
        "registered_not_handed_over": sorted(registered),
        "stored_but_empty": sorted(empty, key=lambda e: e["item"]),
        "occupancy_known": occupancy is not None,
    }


class Reconciliation(ServiceCore):
    """The daily reconciliation command: record what is amiss, tell the supervisors."""

    def reconcile(
        self, now: datetime | None = None, occupancy: Mapping[str, bool] | None = None
    ) -> ReconciliationRecord:
        """The daily reconciliation, recorded as a ``reconciliation`` entry.

        Lists files checked out and not back by their deadline, items registered and not
        handed over, and (when ``occupancy`` maps compartments ``cabinet/n`` to the sensor's
        reading) stored items whose compartment reads empty. When anything is listed, every
        supervisor is told (once per day: key ``reconciliation:<day>:<person>``).
        """
        with self.lock:
            self._sync()
            moment = now or self._now()
            body = reconciliation_body(self.projection, moment, self._zone, occupancy)
            self._append("reconciliation", body, SYSTEM_ACTOR)
            record = self.projection.reconciliations[-1]
            if not record.clean:
                for boss in self.directory.with_role(Role.SUPERVISOR):
                    self._emit(reconciliation_notice(record, boss.id))
            return record
