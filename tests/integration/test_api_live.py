"""The API with a live cabinet state plugged in (as the daemon does), and the derived index
across restarts: caught up, persisted, and thrown away when it does not match the ledger."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.cabinets import CabinetStateSource, LiveCabinet, StaticCabinetState
from api.index import INDEX_NAME
from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.ports import CabinetStatus, CompartmentState
from custody.settings import DEFAULT_CHECKLIST
from tests.integration.api_support import E1, F1, Station, auth, build_station, serve_station

READ_AT = datetime(2026, 3, 2, 12, 30, 5, tzinfo=UTC)


def _get(url: str, **kw: Any) -> httpx.Response:
    """GET with a generous timeout (httpx's default is 5 s; the server shares this busy
    process), as the other API tests do."""
    return httpx.get(url, timeout=30, **kw)


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
        cabs = _get(url + "/v1/cabinets", headers=auth(station.tokens["clerk"])).json()
    a, b = cabs["items"]
    assert a["source"] == "live" and a["online"] is True
    assert a["read_at"] == "2026-03-02T12:30:05.000Z" and a["door_event_counter"] == 17
    comps = {c["index"]: c for c in a["compartments"]}
    # compartment 1 reads occupied but the ledger says F1 is checked out: flagged
    assert comps[1]["items"] == [] and comps[1]["occupied"] is True
    assert comps[1]["consistent"] is False
    assert comps[2]["items"] == [E1] and comps[2]["consistent"] is True
    assert comps[3]["door_closed"] is False and comps[3]["consistent"] is True
    assert b == {"cabinet_id": "B", "source": "live", "online": False, "read_at": None,
                 "door_event_counter": None, "firmware_version": None, "compartments": [],
                 "alarms": []}


def test_index_persists_and_catches_up_across_restarts(station: Station) -> None:
    token = station.tokens["auditor"]
    with serve_station(station) as url:
        first = _get(url + f"/v1/items/{F1}/history", headers=auth(token)).json()
    db = station.data / INDEX_NAME
    with sqlite3.connect(db) as conn:
        size = int(conn.execute("SELECT value FROM meta WHERE key='size'").fetchone()[0])
    assert size == station.ledger.size
    # the ledger grows while the API is down; the restarted API indexes only the new part
    station.service.return_item(F1, photos=[station.photo("back")], actor="wang")
    with serve_station(station) as url:
        again = _get(url + f"/v1/items/{F1}/history", headers=auth(token)).json()
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
        hist = _get(url + f"/v1/items/{F1}/history", headers=auth(token)).json()
    assert 1 not in [e["seq"] for e in hist["items"]]  # seq 1 is case C-2's registration
    assert all(F1 in str(e["fields"]) for e in hist["items"])


def _store_in_more_cabinets(station: Station) -> list[str]:
    """Case C-9's two exhibits stored in cabinets D and C, which no poller reports."""
    labels = [make_label("exhibit", 2026, 90 + i).text for i in range(2)]
    seized = station.clock.now() - timedelta(hours=1)
    station.service.register_case(
        "C-9", title="Theft", officer="wang",
        items=[ItemSpec(x, "exhibit", "Phone", 1, seized, "Suspect C") for x in labels],
    )
    station.service.handover("C-9", clerk="zhou", scanned=labels,
                             checklist={name: True for name in DEFAULT_CHECKLIST},
                             photos=[station.photo("handover C-9")])
    station.service.store(labels[0], compartment="D/1", photos=[station.photo("D")],
                          clerk="zhou")
    station.service.store(labels[1], compartment="C/3", photos=[station.photo("C")],
                          clerk="zhou")
    return labels


def _walk(url: str, token: str, limit: int) -> list[dict[str, object]]:
    """Every cabinet, page by page, following next_offset."""
    seen: list[dict[str, object]] = []
    offset: int | None = 0
    while offset is not None:
        r = _get(url + "/v1/cabinets", headers=auth(token),
                      params={"offset": offset, "limit": limit})
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["offset"] == offset and page["limit"] == limit and page["total"] == 4
        assert len(page["items"]) <= limit
        seen.extend(page["items"])
        offset = page["next_offset"]
    return seen


def test_cabinets_are_paginated(station: Station) -> None:
    d1, c3 = _store_in_more_cabinets(station)
    token = station.tokens["supervisor"]
    with serve_station(station, cabinet_state=_live()) as url:
        whole = _get(url + "/v1/cabinets", headers=auth(token),
                          params={"limit": 500}).json()
        # live cabinets in the poller's order, then those only the ledger knows, by id
        assert [c["cabinet_id"] for c in whole["items"]] == ["A", "B", "C", "D"]
        assert [c["source"] for c in whole["items"]] == ["live", "live", "ledger", "ledger"]
        assert whole["total"] == 4 and whole["next_offset"] is None
        assert whole["items"][2]["compartments"][0]["items"] == [c3]
        assert whole["items"][3]["compartments"][0]["items"] == [d1]
        for limit in (1, 3):
            assert _walk(url, token, limit) == whole["items"]
        first = _get(url + "/v1/cabinets", headers=auth(token), params={"limit": 3}).json()
        assert first["next_offset"] == 3 and len(first["items"]) == 3
        past = _get(url + "/v1/cabinets", headers=auth(token), params={"offset": 9}).json()
        assert past == {"items": [], "total": 4, "offset": 9, "limit": 50, "next_offset": None}
        for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "x"}):
            r = _get(url + "/v1/cabinets", headers=auth(token), params=bad)
            assert r.status_code == 422, bad
        one = _get(url + "/v1/cabinets/D", headers=auth(token)).json()
        assert one == whole["items"][3]
        schema = _get(url + "/openapi.json").json()
        ok = schema["paths"]["/v1/cabinets"]["get"]["responses"]["200"]["content"]
        ref = ok["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        props = schema["components"]["schemas"][ref]["properties"]
        assert set(props) == {"items", "total", "offset", "limit", "next_offset"}
        params = {p["name"] for p in schema["paths"]["/v1/cabinets"]["get"]["parameters"]}
        assert {"offset", "limit"} <= params
    with serve_station(station) as url:  # no poller: only the ledger's cabinets, by id
        ids = [c["cabinet_id"] for c in _get(
            url + "/v1/cabinets", headers=auth(token), params={"limit": 2}).json()["items"]]
        assert ids == ["A", "C"]
