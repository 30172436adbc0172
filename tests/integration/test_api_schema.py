"""Schemathesis against the API's own OpenAPI schema, over real HTTP, with every check it has
(``schemathesis run --checks all``: no server error, every status code and content type
documented, every response matching its schema, schema-valid requests accepted or refused
as documented, invalid ones refused, auth not ignored, ...), as an auditor, as an officer
and without a token. The operations are read from the served schema, so a route added
later is fuzzed too. And the few answers the schema alone cannot pin: ``/v1/health``'s body
is what docs/api.md says, a garbage ``cursor`` (or any parameter a route does not take) is
a 422, a consistency request with ``old`` above ``new`` is a documented 404, and every time
the API shows carries its true offset.

The number of examples is bounded, the three identities run at once and only the
auditor's run has schemathesis's (unbounded, deterministic) coverage phase: the whole file
took 55-65 s on the shared build machine at load 7-9 on 2 cores, most of it that coverage
phase and the PDF reports it asks for."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.auth import TokenStore
from custody.testing import FakeClock
from tests.integration.api_support import (
    REPO_ROOT,
    Station,
    auth,
    build_station,
    serve_station,
)

# The CLI beside this interpreter (the project's venv), so the run uses the pinned version.
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# tests/conftest.py's Hypothesis profile, as the CLI takes it: no health check may fail a
# correct run on a loaded machine (its deadline is already off in schemathesis), plus a
# bound on the examples per operation and no example database left behind.
EXAMPLES = 3
HYPOTHESIS = ["--suppress-health-check", "all", "--generation-database", "none"]


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Station]:
    st = build_station(tmp_path_factory.mktemp("schema"))
    try:
        yield st
    finally:
        st.close()


@pytest.fixture(scope="module")
def served(station: Station) -> Iterator[str]:
    # the writer steps aside, as on a station whose daemon serves the API: an issued PDF
    # report is recorded in the ledger by the API itself (else: a documented 503, which
    # schemathesis counts as a server error)
    station.close()
    with serve_station(station) as url:
        yield url


def get(url: str, path: str, token: str | None = None, **params: str | int) -> httpx.Response:
    return httpx.get(url + path, headers=auth(token) if token else {}, params=params, timeout=30)


def test_schema_lists_every_area(served: str, station: Station) -> None:
    paths = get(served, "/openapi.json").json()["paths"]
    for path in ("/v1/cases", "/v1/items/{label}/history", "/v1/deadlines", "/v1/overdue",
                 "/v1/cabinets", "/v1/alarms", "/v1/ledger/entries", "/v1/ledger/checkpoint",
                 "/v1/ledger/key", "/v1/ledger/proofs/{seq}", "/v1/ledger/consistency",
                 "/v1/ledger/verification", "/v1/photos/{sha256}",
                 "/v1/photos/{sha256}/thumbnail", "/v1/reports/items/{label}",
                 "/v1/reports/cases/{case_id}", "/log/checkpoint", "/log/tile/{path}"):
        assert path in paths, path


def test_error_statuses_are_documented_by_construction(served: str) -> None:
    paths = get(served, "/openapi.json").json()["paths"]
    for path, operations in paths.items():
        documented = set(operations["get"]["responses"])
        needs_token = "security" in operations["get"]
        assert "422" in documented, path  # an unknown parameter, everywhere
        assert ("401" in documented) == needs_token, path
        if "{" in path:
            assert "404" in documented, path
        for code, answer in operations["get"]["responses"].items():
            if int(code) >= 400:  # errors are JSON even on text/plain and HTML routes
                assert set(answer["content"]) == {"application/json"}, (path, code)
    assert "403" in paths["/v1/cases/{case_id}"]["get"]["responses"]
    assert "403" in paths["/v1/refusals"]["get"]["responses"]
    assert "403" not in paths["/v1/whoami"]["get"]["responses"]
    assert "409" in paths["/v1/ledger/proofs/{seq}"]["get"]["responses"]


def _schemathesis(
    url: str, who: str, token: str | None, workdir: Path
) -> subprocess.Popen[str]:
    headers = ["-H", f"Authorization: Bearer {token}"] if token else []
    # The auditor (who may read everything) gets every phase, schemathesis's deterministic
    # coverage phase included (boundary values, missing and wrong auth on each operation:
    # the bulk of the run); the officer and the anonymous client, whose answers are mostly
    # refusals, get the examples, fuzzing and stateful phases, at a third of the time each.
    phases = [] if who == "auditor" else ["--phases", "examples,fuzzing,stateful"]
    return subprocess.Popen(
        [str(SCHEMATHESIS), "run", url + "/openapi.json", "--checks", "all",
         "--max-examples", str(EXAMPLES), "--workers", "2", "--no-color",
         "--continue-on-failure", *HYPOTHESIS, *phases, *headers],
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_schemathesis_all_checks_with_and_without_tokens(
    served: str, station: Station, tmp_path: Path
) -> None:
    runs = {}
    for who in ("auditor", "officer", "anonymous"):
        (tmp_path / who).mkdir()
        runs[who] = _schemathesis(served, who, station.tokens.get(who), tmp_path / who)
    outputs = {}
    for who, proc in runs.items():
        try:
            out, _ = proc.communicate(timeout=300)
        finally:
            proc.kill()
        outputs[who] = (proc.returncode, out)
    operations = get(served, "/openapi.json").json()["paths"]
    for who, (code, out) in outputs.items():
        assert f"Tested: {len(operations)}" in out, (who, out[-3000:])
        assert code == 0, f"schemathesis as {who} found failures:\n{out[-12000:]}"


def test_health_is_what_the_docs_say(served: str) -> None:
    body = get(served, "/v1/health").json()
    assert body == {"status": "ok", "ready": True}
    docs = (REPO_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert '`{"status": "ok", "ready": true}`' in docs


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/cases", {"cursor": "garbage"}),
        ("/v1/ledger/entries", {"cursor": "eyJzZXEiOjV9"}),
        ("/v1/items", {"limt": 5}),  # a misspelt limit is not the default page either
        ("/v1/whoami", {"cursor": "1"}),
    ],
)
def test_a_parameter_the_route_does_not_take_is_422(
    served: str, station: Station, path: str, params: dict[str, str | int]
) -> None:
    r = get(served, path, station.tokens["auditor"], **params)
    assert r.status_code == 422, r.text
    (issue,) = r.json()["detail"]
    name = next(iter(params))
    assert issue["loc"] == ["query", name] and name in issue["msg"]


def test_consistency_old_above_new_is_a_documented_404(served: str, station: Station) -> None:
    r = get(served, "/v1/ledger/consistency", station.tokens["auditor"], old=3, new=2)
    assert r.status_code == 404
    assert "old must not be above new" in r.json()["detail"]
    ok = get(served, "/v1/ledger/consistency", station.tokens["auditor"], old=2, new=3)
    assert ok.status_code == 200 and ok.json()["old_size"] == 2


def test_times_carry_their_true_offset(tmp_path: Path) -> None:
    """A clock in the station's zone (as the demo's) gives +08:00 times: the API shows each
    in UTC, as docs/api.md says, never a +08:00 time labelled UTC or the other way round."""
    st = build_station(tmp_path)
    try:
        shanghai = ZoneInfo("Asia/Shanghai")
        moment = datetime(2026, 3, 2, 20, 30, 5, 123000, tzinfo=shanghai)
        tokens = TokenStore(st.data, clock=FakeClock(moment))
        try:
            tokens.record_refusal(method="GET", path="/v1/x", status=401, reason="test")
        finally:
            tokens.close()
        st.clock.set(moment)
        with serve_station(st) as url:
            page = get(url, "/v1/refusals", st.tokens["auditor"]).json()
            verification = get(url, "/v1/ledger/verification", st.tokens["auditor"]).json()
            items = get(url, "/v1/items", st.tokens["auditor"]).json()["items"]
    finally:
        st.close()
    (refusal,) = [r for r in page["items"] if r["path"] == "/v1/x"]
    assert refusal["at"] == "2026-03-02T12:30:05.123Z"
    assert verification["ran_at"] == "2026-03-02T12:30:05.123Z"
    for item in items:
        for field in ("seized_at", "handover_due", "state_since"):
            assert item[field].endswith("Z"), (field, item[field])
            datetime.fromisoformat(item[field])
    assert json.dumps(items)  # plain JSON all the way
