"""The read API's leave lists over real HTTP: requests waiting (for a decision, for a clerk),
items out for a while (and overdue), the roles that may read them, in the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from custody.leaving import Recipient
from tests.integration.api_support import E1, Station, auth, build_station, serve_station


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    st = build_station(tmp_path_factory.mktemp("leaves"))
    try:
        yield st
    finally:
        st.close()


@pytest.fixture(scope="module")
def url(station: Station) -> Iterator[str]:
    with serve_station(station) as served:
        yield served


def get(url: str, path: str, token: str, **params: object) -> httpx.Response:
    return httpx.get(url + path, headers=auth(token), params=params,  # type: ignore[arg-type]
                     timeout=30)


def test_pending_and_out(url: str, station: Station) -> None:
    svc, clerk = station.service, station.tokens["clerk"]
    assert get(url, "/v1/leaves/pending", clerk).json()["total"] == 0
    request = svc.request_leave(E1, kind="examination", officer="wang", reason="lab",
                                documents={"decision_no": "D-7", "receiving_unit": "Lab"}).request
    body = get(url, "/v1/leaves/pending", clerk).json()
    assert body["total"] == 1
    row = body["items"][0]
    assert (row["request"], row["item"], row["status"], row["requested_by"]) == (
        request, E1, "requested", "wang")
    assert row["documents"] == {"decision_no": "D-7", "receiving_unit": "Lab"}
    svc.decide_leave(request, supervisor="zhao", approve=True, reason="ok")
    assert get(url, "/v1/leaves/pending", clerk, status="requested").json()["total"] == 0
    approved = get(url, "/v1/leaves/pending", clerk, status="approved").json()["items"]
    assert approved[0]["decided_by"] == "zhao"
    svc.carry_out_leave(request, clerk="zhou", recipient=Recipient("Liu", "1101", ""),
                        photos=[station.photo("out")], receipt=station.photo("receipt"))
    assert get(url, "/v1/leaves/pending", clerk).json()["total"] == 0
    out = get(url, "/v1/leaves/out", station.tokens["supervisor"]).json()["items"]
    assert len(out) == 1 and out[0]["status"] == "out" and not out[0]["overdue"]
    assert out[0]["recipient"] == {"name": "Liu", "id_number": "1101", "unit": "Lab"}
    assert out[0]["carried_out_by"] == ["zhou"] and out[0]["receipt"]
    assert get(url, "/v1/leaves/out", clerk, overdue="true").json()["total"] == 0
    # the chain-of-custody report shows the leave, its approval and its recipient
    html = get(url, f"/v1/reports/items/{E1}", station.tokens["auditor"], lang="en").text
    assert "left custody" in html and "Liu (Lab)" in html
    assert "approved by zhao" in html and "Requested by wang" in html  # ids: no [[people]]
    station.clock.advance(timedelta(days=15))
    overdue = get(url, "/v1/leaves/out", clerk, overdue="true").json()["items"]
    assert [r["item"] for r in overdue] == [E1] and overdue[0]["overdue"]


def test_roles_and_bad_parameters(url: str, station: Station) -> None:
    assert get(url, "/v1/leaves/pending", station.tokens["officer"]).status_code == 403
    assert httpx.get(url + "/v1/leaves/out", timeout=30).status_code == 401
    assert get(url, "/v1/leaves/pending", station.tokens["clerk"],
               status="lost").status_code == 422
    paths = httpx.get(url + "/openapi.json", timeout=30).json()["paths"]
    for path in ("/v1/leaves/pending", "/v1/leaves/out"):
        assert {"200", "401", "403", "422"} <= set(paths[path]["get"]["responses"])
