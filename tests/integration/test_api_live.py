"""The API with a live cabinet state plugged in (as the daemon does), and the derived index
across restarts: caught up, persisted, and thrown away when it does not match the ledger."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from api.cabinets import CabinetStateSource, LiveCabinet, StaticCabinetState
from api.index import INDEX_NAME
from custody.ports import CabinetStatus, CompartmentState
from tests.integration.api_support import E1, F1, Station, auth, build_station, serve_station

READ_AT = datetime(2026, 3, 2, 12, 30, 5, tzinfo=UTC)


@pytest.fixture()
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    st = build_station(tmp_path_factory.mktemp("live"))
    try:
        yield st
    finally:
        st.close()


def _live() -> StaticCabinetState:
    comps = (
        CompartmentState(index=1, door_closed=True, occupied=True, locked=True),  # F1 is out!
        CompartmentState(index=2, door_closed=True, occupied=True, locked=True),  # E1
        CompartmentState(index=3, door_closed=False, occupied=False, locked=False),
    )
    return StaticCabinetState(
        [
            LiveCabinet("A", True, CabinetStatus("A", comps, door_event_counter=17,
                                                 firmware_version=3), READ_AT),
            LiveCabinet("B", False, None, None),
        ]
    )


def test_live_cabinet_state_next_to_the_ledger(station: Station) -> None:
    source = _live()
    assert isinstance(source, CabinetStateSource)
    with serve_station(station, cabinet_state=source) as url:
        cabs = httpx.get(url + "/v1/cabinets", headers=auth(station.tokens["clerk"])).json()
    a, b = cabs
    assert a["source"] == "live" and a["online"] is True
    assert a["read_at"] == "2026-03-02T12:30:05.000Z" and a["door_event_counter"] == 17
    comps = {c["index"]: c for c in a["compartments"]}
    # compartment 1 reads occupied but the ledger says F1 is checked out: flagged
    assert comps[1]["items"] == [] and comps[1]["occupied"] is True
    assert comps[1]["consistent"] is False
    assert comps[2]["items"] == [E1] and comps[2]["consistent"] is True
    assert comps[3]["door_closed"] is False and comps[3]["consistent"] is True
    assert b == {"cabinet_id": "B", "source": "live", "online": False, "read_at": None,
                 "door_event_counter": None, "firmware_version": None, "compartments": []}


def test_index_persists_and_catches_up_across_restarts(station: Station) -> None:
    token = station.tokens["auditor"]
    with serve_station(station) as url:
        first = httpx.get(url + f"/v1/items/{F1}/history", headers=auth(token)).json()
    db = station.data / INDEX_NAME
    with sqlite3.connect(db) as conn:
        size = int(conn.execute("SELECT value FROM meta WHERE key='size'").fetchone()[0])
    assert size == station.ledger.size
    # the ledger grows while the API is down; the restarted API indexes only the new part
    station.service.return_item(F1, photos=[station.photo("back")], actor="wang")
    with serve_station(station) as url:
        again = httpx.get(url + f"/v1/items/{F1}/history", headers=auth(token)).json()
    assert again["total"] == first["total"] + 1
    assert again["items"][-1]["kind"] == "item.returned"


def test_an_index_that_does_not_match_the_ledger_is_rebuilt(station: Station) -> None:
    token = station.tokens["auditor"]
    with serve_station(station):
        pass
    db = station.data / INDEX_NAME
    with sqlite3.connect(db) as conn:
        # forge the index: a wrong last leaf and a fake history row for F1
        conn.execute("UPDATE meta SET value='AAAA' WHERE key='last_leaf'")
        conn.execute("INSERT INTO item_seq VALUES (?, 1)", (F1,))
    with serve_station(station) as url:
        hist = httpx.get(url + f"/v1/items/{F1}/history", headers=auth(token)).json()
    assert 1 not in [e["seq"] for e in hist["items"]]  # seq 1 is case C-2's registration
    assert all(F1 in str(e["fields"]) for e in hist["items"])
