"""What the screens ask of the custody state: read-only answers over a :class:`Projection`.

Each function is a rule of the station stated once, so the kiosk, the console and the demo
(through the step service in ``lockerd``) and the API give the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from custody.projection import ItemView, Projection

#: why a returned file goes where it goes (the screens translate these)
WHERE_IT_WAS = "where_it_was"
WITH_ITS_CASE = "with_its_case"


@dataclass(frozen=True)
class ReturnPlace:
    """Where a checked-out file goes back, and why (:data:`WHERE_IT_WAS`,
    :data:`WITH_ITS_CASE`)."""

    compartment: str
    reason: str


def _holds_only(projection: Projection, where: str, case_id: str) -> bool:
    held = projection.compartments.get(where, set())
    return all(projection.items[label].case_id == case_id for label in held)


def return_compartment(projection: Projection, item: ItemView) -> ReturnPlace | None:
    """Where a checked-out file goes back: the compartment it was last stored in, unless
    another case's items are there now (cases are never mixed); else a compartment holding
    the rest of its case; else None (any free compartment will do)."""
    last = item.last_compartment
    if last is not None and _holds_only(projection, last, item.case_id):
        return ReturnPlace(last, WHERE_IT_WAS)
    for where, labels in sorted(projection.compartments.items()):
        if labels and _holds_only(projection, where, item.case_id):
            return ReturnPlace(where, WITH_ITS_CASE)
    return None


def compartments_of_case(projection: Projection, case_id: str) -> list[str]:
    """Compartments that hold items of this case and of no other, in name order."""
    return [
        where for where, labels in sorted(projection.compartments.items())
        if labels and _holds_only(projection, where, case_id)
    ]
