"""Cabinets and compartments: live sensor state (when the daemon plugs its poller in) next
to what the ledger says each compartment holds.

``source`` is ``live`` when the state comes from the poller, ``ledger`` when the API runs
without a daemon (then doors, locks and occupancy are unknown: null). ``consistent`` flags a
compartment whose occupancy sensor disagrees with the ledger (occupied but nothing stored,
or empty while an item is stored there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.backend import Reader
from api.cabinets import CabinetStateSource, LiveCabinet
from api.deps import StationRole
from api.entryfields import utc
from api.errors import NotFoundError

router = APIRouter(prefix="/v1/cabinets", tags=["cabinets"])


class CompartmentOut(BaseModel):
    """One compartment: sensors (null when unknown) and the items the ledger puts there."""

    compartment: str = Field(description="cabinet/n, as in ledger entries")
    index: int
    door_closed: bool | None
    occupied: bool | None
    locked: bool | None
    items: list[str]
    consistent: bool | None = Field(description="sensor agrees with the ledger; null unknown")


class CabinetOut(BaseModel):
    """One cabinet."""

    cabinet_id: str
    source: str = Field(description="'live' (the daemon's poller) or 'ledger'")
    online: bool | None
    read_at: str | None
    door_event_counter: int | None
    firmware_version: int | None
    compartments: list[CompartmentOut]


def _split(compartment: str) -> tuple[str, int]:
    cabinet, _, n = compartment.rpartition("/")
    return cabinet, int(n) if n.isdigit() else -1


def build_cabinets(
    live: Sequence[LiveCabinet] | None, stored: Mapping[str, set[str]]
) -> list[CabinetOut]:
    """Merge the live snapshot (or none) with the ledger's compartment contents."""
    by_cabinet: dict[str, dict[int, list[str]]] = {}
    for compartment, labels in stored.items():
        cab_id, idx = _split(compartment)
        by_cabinet.setdefault(cab_id, {})[idx] = sorted(labels)
    out: list[CabinetOut] = []
    seen: set[str] = set()
    for cab in live or ():
        seen.add(cab.cabinet_id)
        contents = by_cabinet.get(cab.cabinet_id, {})
        comps: list[CompartmentOut] = []
        states = cab.status.compartments if cab.status else ()
        for st in states:
            items = contents.get(st.index, [])
            comps.append(
                CompartmentOut(
                    compartment=f"{cab.cabinet_id}/{st.index}",
                    index=st.index,
                    door_closed=st.door_closed,
                    occupied=st.occupied,
                    locked=st.locked,
                    items=items,
                    consistent=st.occupied == bool(items),
                )
            )
        out.append(
            CabinetOut(
                cabinet_id=cab.cabinet_id,
                source="live",
                online=cab.online,
                read_at=utc(cab.read_at),
                door_event_counter=cab.status.door_event_counter if cab.status else None,
                firmware_version=cab.status.firmware_version if cab.status else None,
                compartments=comps,
            )
        )
    for cab_id in sorted(set(by_cabinet) - seen):  # cabinets only the ledger knows
        comps = [
            CompartmentOut(
                compartment=f"{cab_id}/{idx}",
                index=idx,
                door_closed=None,
                occupied=None,
                locked=None,
                items=labels,
                consistent=None,
            )
            for idx, labels in sorted(by_cabinet[cab_id].items())
        ]
        out.append(
            CabinetOut(
                cabinet_id=cab_id,
                source="ledger",
                online=None,
                read_at=None,
                door_event_counter=None,
                firmware_version=None,
                compartments=comps,
            )
        )
    return out


async def _cabinets(request: Request) -> list[CabinetOut]:
    source: CabinetStateSource | None = request.app.state.cabinet_state
    live = list(source.snapshot()) if source is not None else None

    def stored(r: Reader) -> dict[str, set[str]]:
        return {k: set(v) for k, v in r.custody.projection.compartments.items()}

    contents = await request.app.state.backend.call(stored)
    return build_cabinets(live, contents)


@router.get("", response_model=list[CabinetOut], summary="Every cabinet and its compartments")
async def cabinets(request: Request, who: StationRole) -> list[CabinetOut]:
    return await _cabinets(request)


@router.get("/{cabinet_id}", response_model=CabinetOut, summary="One cabinet")
async def cabinet(request: Request, who: StationRole, cabinet_id: str) -> CabinetOut:
    for cab in await _cabinets(request):
        if cab.cabinet_id == cabinet_id:
            return cab
    raise NotFoundError(f"no cabinet {cabinet_id!r}")
