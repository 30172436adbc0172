"""The daily reconciliation: what should be back, handed over or in its compartment, and isn't."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from custody.domain.states import ItemState
from custody.domain.values import check_compartment
from custody.projection import Projection


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
