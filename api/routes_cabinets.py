"""Cabinets and compartments: live sensor state (when the daemon plugs its poller in) next
to what the ledger says each compartment holds.

``source`` is ``live`` when the state comes from the poller, ``ledger`` when the API runs
without a daemon (then doors, locks and occupancy are unknown: null). ``consistent`` flags a
compartment whose occupancy sensor disagrees with the ledger (occupied but nothing stored,
or empty while an item is stored there). ``alarms`` are the seqs of the open alarms about a
compartment (or, on the cabinet, about the whole cabinet): what the ledger says is in each
place and what is alarmed there both come from the custody projection
(:mod:`custody.queries`).

The list is paginated like every other list (``offset``/``limit`` in, a ``Page`` out), in
a stable order: the live cabinets in the poller's (configuration) order, then the cabinets
only the ledger knows, by id. A page is built from its own cabinets only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.backend import Reader
from api.cabinets import CabinetStateSource, LiveCabinet
from api.deps import StationRole
from api.entryfields import utc
from api.errors import NotFoundError
from api.pagination import Page, PageParams, page_params

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
    alarms: list[int] = Field(
        default_factory=list, description="seqs of the open alarms about this compartment")


class CabinetOut(BaseModel):
    """One cabinet."""

    cabinet_id: str
    source: str = Field(description="'live' (the daemon's poller) or 'ledger'")
    online: bool | None
    read_at: str | None
    door_event_counter: int | None
    firmware_version: int | None
    compartments: list[CompartmentOut]
    alarms: list[int] = Field(
        default_factory=list, description="seqs of the open alarms about the whole cabinet")


def _split(compartment: str) -> tuple[str, int]:
    cabinet, _, n = compartment.rpartition("/")
    return cabinet, int(n) if n.isdigit() else -1


def build_cabinets(
    live: Sequence[LiveCabinet] | None,
    stored: Mapping[str, set[str]],
    alarms: Mapping[str, list[int]] | None = None,
) -> list[CabinetOut]:
    """Merge the live snapshot (or none) with the ledger's compartment contents and open
    alarms (compartment or cabinet -> alarm seqs)."""
    alarms = alarms or {}
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
                    alarms=list(alarms.get(f"{cab.cabinet_id}/{st.index}", ())),
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
                alarms=list(alarms.get(cab.cabinet_id, ())),
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
                alarms=list(alarms.get(f"{cab_id}/{idx}", ())),
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
                alarms=list(alarms.get(cab_id, ())),
            )
        )
    return out


def cabinet_order(live: Sequence[LiveCabinet] | None, ledger_ids: Iterable[str]) -> list[str]:
    """Every cabinet id in list order: the live ones as the poller gives them, then the ones
    only the ledger knows, sorted (the order :func:`build_cabinets` returns them in)."""
    seen = [cab.cabinet_id for cab in live or ()]
    return seen + sorted(set(ledger_ids) - set(seen))


def _contents(
    r: Reader, wanted: Iterable[str]
) -> tuple[dict[str, set[str]], dict[str, list[int]]]:
    """Compartment -> labels for the ``wanted`` cabinets, and place -> open alarm seqs, copied
    off the ledger thread's state (the event loop builds the answer while the ledger thread
    may fold on)."""
    grouped = r.cabinet_compartments()
    wanted = set(wanted)
    contents = {
        comp: set(labels)
        for cab in wanted
        for comp, labels in grouped.get(cab, {}).items()
    }
    alarms = {
        place: list(seqs) for place, seqs in r.alarms_at().items()
        if place.rpartition("/")[0] in wanted or place in wanted
    }
    return contents, alarms


def _live(request: Request) -> list[LiveCabinet] | None:
    source: CabinetStateSource | None = request.app.state.cabinet_state
    return list(source.snapshot()) if source is not None else None


@router.get(
    "",
    response_model=Page[CabinetOut],
    summary="Cabinets and their compartments, paginated (live ones first, then by id)",
)
async def cabinets(
    request: Request, who: StationRole, page: Annotated[PageParams, Depends(page_params)]
) -> Page[CabinetOut]:
    live = _live(request)

    def run(
        r: Reader,
    ) -> tuple[list[str], tuple[dict[str, set[str]], dict[str, list[int]]]]:
        ids = cabinet_order(live, r.cabinet_compartments())
        return ids, _contents(r, ids[page.offset : page.offset + page.limit])

    ids, (contents, alarms) = await request.app.state.backend.call(run)
    chosen = ids[page.offset : page.offset + page.limit]
    wanted = set(chosen)
    built = {
        cab.cabinet_id: cab
        for cab in build_cabinets(
            [c for c in live or () if c.cabinet_id in wanted], contents, alarms
        )
    }
    return page.page([built[c] for c in chosen], len(ids))


@router.get("/{cabinet_id}", response_model=CabinetOut, summary="One cabinet")
async def cabinet(request: Request, who: StationRole, cabinet_id: str) -> CabinetOut:
    live = [c for c in _live(request) or () if c.cabinet_id == cabinet_id]

    def run(r: Reader) -> tuple[dict[str, set[str]], dict[str, list[int]]]:
        return _contents(r, [cabinet_id])

    contents, alarms = await request.app.state.backend.call(run)
    for cab in build_cabinets(live, contents, alarms):
        if cab.cabinet_id == cabinet_id:
            return cab
    raise NotFoundError(f"no cabinet {cabinet_id!r}")
