"""Schemathesis against the API's own OpenAPI schema, over real HTTP: generated requests for
every operation (valid and invalid parameters), as an auditor and as an officer, must never
get a server error, and every documented response must match its schema.

The number of examples is bounded so the run stays well under half a minute."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.result import Ok

from tests.integration.api_support import Station, auth, build_station, serve_station


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    st = build_station(tmp_path_factory.mktemp("schema"))
    try:
        yield st
    finally:
        st.close()


@pytest.fixture(scope="module")
def served(station: Station) -> Iterator[str]:
    with serve_station(station) as url:
        yield url


def test_schema_lists_every_area(served: str, station: Station) -> None:
    import httpx

    paths = httpx.get(served + "/openapi.json", timeout=30).json()["paths"]
    for path in ("/v1/cases", "/v1/items/{label}/history", "/v1/deadlines", "/v1/overdue",
                 "/v1/cabinets", "/v1/alarms", "/v1/ledger/entries", "/v1/ledger/checkpoint",
                 "/v1/ledger/key", "/v1/ledger/proofs/{seq}", "/v1/ledger/consistency",
                 "/v1/ledger/verification", "/v1/photos/{sha256}",
                 "/v1/photos/{sha256}/thumbnail", "/v1/reports/items/{label}",
                 "/v1/reports/cases/{case_id}"):
        assert path in paths, path


BOUNDED = settings(
    max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def _fuzz(served: str, token: str) -> int:
    """Run bounded generated requests for every operation; returns how many operations."""
    schema = schemathesis.openapi.from_url(served + "/openapi.json")
    count = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an invalid operation: {result}"
        operation = result.ok()

        @given(case=operation.as_strategy())
        @BOUNDED
        def run(case: Any) -> None:
            response = case.call(base_url=served, headers=auth(token), timeout=30)
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
            assert response.status_code < 500, (case.method, case.formatted_path)

        run()
        count += 1
    return count


@pytest.mark.parametrize("role", ["auditor", "officer"])
def test_no_server_error(served: str, station: Station, role: str) -> None:
    assert _fuzz(served, station.tokens[role]) >= 20
