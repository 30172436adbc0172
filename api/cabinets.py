"""The live state of the cabinets, as the API shows it.

The daemon's poller knows the doors, locks and occupancy sensors right now; the ledger
knows which item was put in which compartment. The API shows both: it reads the live part
from a :class:`CabinetStateSource` the daemon plugs in (``create_app(...,
cabinet_state=...)``) and, with no daemon, serves what the ledger says alone (the
``source`` field tells which).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from custody.ports import CabinetStatus


@dataclass(frozen=True)
class LiveCabinet:
    """One cabinet as the poller last saw it.

    ``status`` is the last full read (None before the first one succeeded); ``online`` is
    the poller's verdict (a cabinet is offline after N failed polls); ``read_at`` is when
    ``status`` was read.
    """

    cabinet_id: str
    online: bool
    status: CabinetStatus | None
    read_at: datetime | None


@runtime_checkable
class CabinetStateSource(Protocol):
    """Where the API gets the cabinets' live state. The daemon's poller implements it.

    Called on the API's event loop, so it must return at once (a snapshot of what the
    poller already holds), never do I/O.
    """

    def snapshot(self) -> Sequence[LiveCabinet]:
        """Every configured cabinet's latest state."""
        ...


class StaticCabinetState:
    """A fixed snapshot: for tests and for embedding the API without a poller."""

    def __init__(self, cabinets: Sequence[LiveCabinet]) -> None:
        self._cabinets = tuple(cabinets)

    def snapshot(self) -> Sequence[LiveCabinet]:
        return self._cabinets
