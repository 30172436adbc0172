"""The API restarted from its custody snapshot (``DATA/api-projection.json``) answers exactly
as after a full replay of the ledger; a snapshot of another or a shorter ledger, or a damaged
one, is ignored and the state rebuilt. Real station, real uvicorn, real HTTP."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.server import running_server
from api.snapshot import SNAPSHOT_NAME
from custody.ledger import Ledger
from custody.ledger.station import init_station
from tests.integration.api_support import E1, E2, F1, Station, auth, build_station

PATHS = [
    "/v1/cases", "/v1/cases/C-1", "/v1/cases/C-2", "/v1/cases/C-1/history?limit=500",
    "/v1/items?limit=500", "/v1/items?state=stored", f"/v1/items/{F1}", f"/v1/items/{E2}",
    f"/v1/items/{F1}/history", f"/v1/items/{E1}/history", "/v1/deadlines?limit=500",
    "/v1/overdue?limit=500", "/v1/cabinets", "/v1/cabinets/A", "/v1/ledger",
    f"/v1/reports/items/{F1}", "/v1/reports/cases/C-1",
]
OFFICER_PATHS = ["/v1/cases", "/v1/cases/C-2", "/v1/items", "/v1/deadlines", "/v1/overdue",
                 f"/v1/items/{E2}/history"]


@dataclass
class Run:
    """What one start of the API answered."""

    restored: int  # entries restored from the snapshot (0: folded from entry 0)
    size: int  # entries folded in when asked
    answers: dict[str, tuple[int, str]]
    state: dict[str, Any]  # the custody view's whole state


@pytest.fixture()
def station(tmp_path: Path) -> Iterator[Station]:
    st = build_station(tmp_path)
    try:
        yield st
    finally:
        st.close()


@contextmanager
def _served(st: Station) -> Iterator[tuple[str, Any]]:
    app = create_app(st.data, clock=st.clock)
    with running_server(app) as url:
        yield url, app.state.backend


def _start(st: Station) -> Run:
    """Start the API, ask everything, stop it (which saves the snapshot)."""
    with _served(st) as (url, backend), httpx.Client(base_url=url, timeout=30) as client:
        answers: dict[str, tuple[int, str]] = {}
        for role, paths in (("auditor", PATHS), ("officer", OFFICER_PATHS)):
            for path in paths:
                r = client.get(path, headers=auth(st.tokens[role]))
                assert r.status_code < 500, (path, r.text)
                answers[f"{role} {path}"] = (r.status_code, r.text)
        restored, size, state = backend.call_sync(
            lambda r: (r.restored_size, r.custody.size, r.custody.to_state()))
    return Run(restored, size, answers, state)


def _header(data: Path) -> dict[str, Any]:
    header: dict[str, Any] = json.loads((data / SNAPSHOT_NAME).read_bytes().split(b"\n")[0])
    return header


def test_restart_from_the_snapshot_answers_as_a_replay(station: Station) -> None:
    assert not (station.data / SNAPSHOT_NAME).exists()
    first = _start(station)
    assert first.restored == 0  # nothing to restore: folded from entry 0
    saved = station.ledger.size
    assert _header(station.data)["size"] == saved  # written at shutdown
    # the ledger moves on while the API is down: a return, a storage, a new ladder step
    station.clock.advance(timedelta(hours=1))
    station.service.return_item(F1, photos=[station.photo("back")], actor="wang")
    station.service.store(F1, compartment="A/3", photos=[station.photo("again")], clerk="zhou")
    station.clock.advance(timedelta(hours=30))
    assert station.service.tick()  # E2's handover is long overdue: notices
    station.ledger.checkpoint()
    restored = _start(station)
    assert restored.restored == saved and restored.size == station.ledger.size > saved
    # deleting the derived files is always safe: both are rebuilt from the ledger
    (station.data / SNAPSHOT_NAME).unlink()
    (station.data / "api-index.db").unlink()
    replayed = _start(station)
    assert replayed.restored == 0
    assert restored.answers == replayed.answers
    assert restored.state == replayed.state
    # the answers did change since the first start (the comparison is not vacuous)
    assert restored.answers != first.answers
    assert json.loads(restored.answers[f"auditor /v1/items/{F1}"][1])["compartment"] == "A/3"
    assert json.loads(restored.answers["auditor /v1/overdue?limit=500"][1])["total"] >= 1
    assert _header(station.data)["size"] == station.ledger.size


def _filler_station(data: Path, entries: int) -> Path:
    """Another station whose ledger holds ``entries`` entries of no custody kind."""
    init_station(data, "test.example/other")
    with Ledger.open(data) as ledger:
        ledger.append_many([("note", {"n": i}, "system") for i in range(entries)])
    return data


def test_a_snapshot_of_another_ledger_is_discarded(station: Station, tmp_path: Path) -> None:
    first = _start(station)
    assert json.loads(first.answers["auditor /v1/cases"][1])["total"] == 2
    size = station.ledger.size
    for name, entries in (("longer", size + 3), ("shorter", size - 3)):
        other = _filler_station(tmp_path / name, entries)
        shutil.copy(station.data / SNAPSHOT_NAME, other / SNAPSHOT_NAME)
        shutil.copy(station.data / "api.db", other / "api.db")  # the same tokens work there
        moved = Station(other, station.clock, station.ledger, station.service,
                        station.photos, station.tokens)
        run = _start(moved)
        assert run.restored == 0, name  # the cases in the snapshot were not taken
        assert json.loads(run.answers["auditor /v1/cases"][1])["total"] == 0
        assert run.answers[f"auditor /v1/items/{F1}"][0] == 404
        header = _header(other)
        assert header["size"] == entries  # replaced by a snapshot of this ledger
        assert header["root"] != _header(station.data)["root"]


def _corrupt(path: Path, how: str) -> None:
    data = path.read_bytes()
    head, body, _ = data.split(b"\n")
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "bad state, good hash":
        # a well-formed file whose body is not a custody state this version restores
        doc = json.loads(body)
        doc["projection"]["cases"] = []
        new = json.dumps(doc).encode()
        header = {**json.loads(head), "body_bytes": len(new),
                  "body_sha256": hashlib.sha256(new).hexdigest()}
        path.write_bytes(json.dumps(header).encode() + b"\n" + new + b"\n")


def test_a_damaged_snapshot_gives_a_rebuild(station: Station) -> None:
    first = _start(station)
    for how in ("truncated", "bad state, good hash"):
        _corrupt(station.data / SNAPSHOT_NAME, how)
        run = _start(station)  # no error: folded from entry 0
        assert run.restored == 0, how
        assert run.answers == first.answers and run.state == first.state
    again = _start(station)  # the rebuild saved a good snapshot at shutdown
    assert again.restored == station.ledger.size
    assert again.answers == first.answers
