"""A small real station for the API tests: a data directory made by ``init_station``, a
day of custody written through the real services into the real ledger, real photos in the
real photo store, tokens for every role, and the API served by uvicorn on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from api.app import create_app
from api.auth import Role, TokenStore
from api.cabinets import CabinetStateSource
from api.server import running_server
from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.ledger import Ledger
from custody.ledger.station import init_station
from custody.ports import PhotoRef
from custody.services.custody import CustodyService
from custody.settings import DEFAULT_CHECKLIST
from custody.testing import FakeClock, ListNotifier, sample_directory
from scanner.photostore import FilePhotoStore

REPO_ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "test.example/station-7"
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # Monday 08:00 in Shanghai

F1 = make_label("case_file", 2026, 1).text
E1 = make_label("exhibit", 2026, 2).text
E2 = make_label("exhibit", 2026, 3).text  # case C-2, officer chen, never handed over


@dataclass
class Station:
    """The data directory, the writer's handles and the tokens of each role."""

    data: Path
    clock: FakeClock
    ledger: Ledger
    service: CustodyService
    photos: FilePhotoStore
    tokens: dict[str, str] = field(default_factory=dict)  # "auditor", "clerk", ... -> secret
    photo_refs: list[PhotoRef] = field(default_factory=list)

    def photo(self, tag: str) -> PhotoRef:
        """Store a real JPEG (a drawn frame with ``tag`` written on it) and return its ref."""
        img = np.full((240, 320, 3), 200, np.uint8)
        cv2.putText(img, tag, (10, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
        ok, buf = cv2.imencode(".jpg", img)
        assert ok
        meta = {"time": "2026-03-02T00:00:00.000Z", "camera": "test", "labels": []}
        ref = self.photos.put(bytes(buf.tobytes()), meta)
        self.photo_refs.append(ref)
        return ref

    def close(self) -> None:
        self.ledger.close()


def build_station(root: Path, *, origin: str = ORIGIN, tick: bool = True) -> Station:
    """A station after a morning: two cases, a handover, storage, a late check-out, notices
    (``tick=False``: the station's rules tick never ran, so no ladder notice went out)."""
    data = root / "station"
    init_station(data, origin)
    clock = FakeClock(START)
    ledger = Ledger.open(data, clock=clock)
    service = CustodyService(ledger, sample_directory(), notifier=ListNotifier(), clock=clock)
    st = Station(data, clock, ledger, service, FilePhotoStore(data))
    seized = START - timedelta(hours=2)
    service.register_case(
        "C-1",
        title="Burglary at 12 Garden Road",
        officer="wang",
        items=[
            ItemSpec(F1, "case_file", "Case file, burglary", 1, seized, "-"),
            ItemSpec(E1, "exhibit", "Crowbar", 1, seized, "Suspect A"),
        ],
    )
    service.register_case(
        "C-2",
        title="Fraud",
        officer="chen",
        items=[ItemSpec(E2, "exhibit", "Laptop", 1, seized, "Suspect B")],
    )
    clock.advance(timedelta(minutes=30))
    service.handover(
        "C-1",
        clerk="zhou",
        scanned=[F1, E1],
        checklist={name: True for name in DEFAULT_CHECKLIST},
        photos=[st.photo("handover C-1")],
    )
    service.store(F1, compartment="A/1", photos=[st.photo("store F1")], clerk="zhou")
    service.store(E1, compartment="A/2", photos=[st.photo("store E1")], clerk="zhou")
    clock.advance(timedelta(minutes=30))
    service.check_out(F1, officer="wang", photos=[st.photo("check-out F1")])
    ledger.checkpoint()
    # 20:30 in Shanghai: F1 is overdue (due 18:00), the ladder has climbed.
    clock.set(START + timedelta(hours=12, minutes=30))
    if tick:
        service.tick()
    ledger.checkpoint()
    store = TokenStore(data)
    try:
        for role, person in (
            (Role.AUDITOR, "audit1"),
            (Role.CLERK, "zhou"),
            (Role.SUPERVISOR, "zhao"),
            (Role.OFFICER, "wang"),
        ):
            st.tokens[role.value] = store.create(role, person)[1]
        st.tokens["officer_chen"] = store.create(Role.OFFICER, "chen")[1]
        revoked_id, st.tokens["revoked"] = store.create(Role.AUDITOR, "audit1")
        store.revoke(revoked_id)
    finally:
        store.close()
    return st


@contextmanager
def serve_station(
    st: Station, cabinet_state: CabinetStateSource | None = None
) -> Iterator[str]:
    """The API over the station, on a free port; yields the base URL."""
    app = create_app(st.data, cabinet_state=cabinet_state, clock=st.clock)
    with running_server(app) as url:
        yield url


def auth(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}
