"""The custody state saved and restored: ``Projection.to_state``/``from_state``, the API's
``CustodyView`` on top, the snapshot file (``api.snapshot``) and the reader that restores
from it, on a real ledger written through the real custody services (every entry kind)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from api.auth import Principal, Role
from api.backend import Backend, Reader
from api.custody_view import CustodyView
from api.snapshot import (
    SNAPSHOT_NAME,
    NoSnapshotError,
    SnapshotFile,
    SnapshotRejectedError,
)
from custody.alarms import AlarmView
from custody.domain.people import Complainant
from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.ledger import Ledger
from custody.ledger.station import init_station
from custody.projection import (
    CaseView,
    HandoverRecord,
    ItemView,
    LadderStep,
    NoticeRecord,
    Projection,
    ProjectionStateError,
    ReconciliationRecord,
)
from custody.projection_state import (
    ALARM_FIELDS,
    CASE_FIELDS,
    HANDOVER_FIELDS,
    ITEM_FIELDS,
    LADDER_FIELDS,
    NOTICE_FIELDS,
    RECONCILIATION_FIELDS,
    STATE_VERSION,
)
from custody.services.custody import CustodyService
from custody.settings import DEFAULT_CHECKLIST
from custody.testing import FakeClock, ListNotifier, photo, sample_directory

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
L = [make_label("case_file" if i == 1 else "exhibit", 2026, i).text for i in range(1, 5)]
AUDITOR = Principal("t1", Role.AUDITOR, "audit1")


def _day(data: Path) -> None:
    """A station's day with every kind of custody entry (and an unknown kind)."""
    init_station(data, "test.example/snapshot")
    clock = FakeClock(START)
    with Ledger.open(data, clock=clock) as ledger:
        svc = CustodyService(ledger, sample_directory(), notifier=ListNotifier(), clock=clock)
        seized = START - timedelta(hours=1, microseconds=123457)  # microseconds survive
        svc.register_case(
            "C-1", title="Burglary", officer="wang", officers=["li"],
            complainant=Complainant("Ms Huang", "+8613900000000"),
            items=[ItemSpec(L[0], "case_file", "File", 1, seized, "-"),
                   ItemSpec(L[1], "exhibit", "Crowbar", 1, seized, "Suspect A")],
        )
        svc.register_case("C-2", title="Fraud", officer="chen",
                          items=[ItemSpec(L[2], "exhibit", "Laptop", 1, seized, "B")])
        svc.add_items("C-1", [ItemSpec(L[3], "exhibit", "Gloves", 2, seized, "A")],
                      officer="li")
        ledger.append("other.kind", {"note": "not custody"}, actor="system")
        clock.advance(timedelta(minutes=30))
        svc.handover("C-1", clerk="zhou", scanned=[L[0], L[1]], reason="gloves at the lab",
                     checklist={name: True for name in DEFAULT_CHECKLIST},
                     photos=[photo("handover")])
        svc.store(L[0], compartment="A/1", photos=[photo("s0")], clerk="zhou")
        svc.store(L[1], compartment="A/1", photos=[photo("s1")], clerk="zhou")
        svc.check_out(L[0], officer="wang", photos=[photo("out")])
        clock.set(START + timedelta(hours=13))
        sent = svc.tick()  # overdue return, late handovers: notices up the ladder
        svc.acknowledge(sent[0].key, person=sent[0].person)
        svc.return_item(L[0], photos=[photo("back")], actor="wang")
        svc.store(L[0], compartment="B/2", photos=[photo("s2")], clerk="wu")
        svc.dispose(L[1], disposal="to_court", approved_by="zhao", actor="zhou")
        svc.reconcile(occupancy={"B/2": False})
        svc.tick(START + timedelta(hours=40))


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("snap") / "station"
    _day(data)
    return data


@pytest.fixture()
def bodies(station: Path) -> list[dict[str, Any]]:
    with Ledger.open(station, readonly=True) as ledger:
        return [dict(e.body) for e in ledger.entries()]


def _fold(bodies: list[dict[str, Any]], view: CustodyView | None = None) -> CustodyView:
    view = view or CustodyView()
    for body in bodies[view.size:]:
        view.apply(body)
    return view


def _json(state: dict[str, Any]) -> dict[str, Any]:
    """Through JSON and back, as the snapshot file does."""
    out: dict[str, Any] = orjson.loads(orjson.dumps(state))
    return out


# ---------------------------------------------------------------- Projection.to_state


def test_the_day_has_every_kind_of_state(bodies: list[dict[str, Any]]) -> None:
    p = _fold(bodies).projection
    assert {i.state.value for i in p.items.values()} >= {"registered", "stored", "disposed"}
    assert p.cases["C-1"].complainant is not None and p.cases["C-1"].handovers[0].missing
    assert any(n.acknowledged_seq is not None for n in p.notices.values())
    assert any(n.acknowledged_seq is None for n in p.notices.values())
    assert p.reconciliations and p.reconciliations[0].stored_but_empty
    assert p.compartments == {"B/2": {L[0]}}


def test_times_keep_every_digit() -> None:
    # entries written by other tools may carry microseconds and other offsets
    item = {"label": L[0], "kind": "case_file", "category": "", "description": "d",
            "quantity": 1, "seized_from": "-", "seized_at": "2026-03-02T08:00:00.123456+08:00",
            "seizing_officer": "wang", "handover_due": "2026-03-03T00:00:00.000001Z"}
    p = Projection()
    p.apply({"seq": 0, "kind": "case.registered", "ts": "2026-03-02T00:00:00.5Z",
             "case": "C-1", "title": "t", "officer": "wang", "officers": ["wang"],
             "complainant": None, "items": [item], "actor": "wang"})
    restored = Projection.from_state(_json(p.to_state()))
    assert restored == p and restored.items[L[0]].seized_at.microsecond == 123456
    assert restored.items[L[0]].seized_at.utcoffset() == timedelta(0)


def test_state_is_plain_json_and_restores_an_equal_projection(
    bodies: list[dict[str, Any]],
) -> None:
    p = _fold(bodies).projection
    state = p.to_state()
    assert json.loads(json.dumps(state)) == state  # plain values only: no datetimes, tuples
    assert state["version"] == STATE_VERSION and state["size"] == len(bodies)
    restored = Projection.from_state(_json(state))
    assert restored == p
    assert list(restored.notices) == list(p.notices)  # "oldest first" order kept
    assert list(restored.items) == list(p.items)
    assert restored.unacknowledged() == p.unacknowledged()
    assert restored.to_state() == state


def test_restored_at_every_size_folds_on_to_the_same_state(
    bodies: list[dict[str, Any]],
) -> None:
    full = _fold(bodies).projection
    for k in range(len(bodies) + 1):
        p = Projection.rebuild(bodies[:k])
        p2 = Projection.from_state(_json(p.to_state()))
        for body in bodies[k:]:
            p2.apply(body)
        assert p2 == full, k


def test_field_lists_are_the_dataclasses_fields() -> None:
    # the rows are positional: a field added to a view must change the format
    for cls, names in ((ItemView, ITEM_FIELDS), (CaseView, CASE_FIELDS),
                       (HandoverRecord, HANDOVER_FIELDS), (NoticeRecord, NOTICE_FIELDS),
                       (ReconciliationRecord, RECONCILIATION_FIELDS),
                       (LadderStep, LADDER_FIELDS), (AlarmView, ALARM_FIELDS)):
        assert tuple(f.name for f in dataclasses.fields(cls)) == names, cls


def _damaged(bodies: list[dict[str, Any]], how: str) -> dict[str, Any]:
    state = _json(_fold(bodies).projection.to_state())
    if how == "version":
        state["version"] = STATE_VERSION + 1
    elif how == "fields":
        state["fields"]["items"] = state["fields"]["items"][:-1]
    elif how == "missing table":
        del state["cases"]
    elif how == "short row":
        state["items"][0] = state["items"][0][:-1]
    elif how == "bad time":
        state["items"][0][7] = "yesterday"
    elif how == "naive time":
        state["items"][0][7] = "2026-03-02T00:00:00"
    elif how == "bad state":
        state["items"][0][11] = "lost"
    elif how == "unknown case":
        state["cases"] = [c for c in state["cases"] if c[0] != "C-1"]
    elif how == "compartment":
        state["compartments"] = [["A/9", [L[0]]]]
    elif how == "out without due":
        row = state["items"][0]
        row[11], row[16] = "checked_out", None
    elif how == "size":
        state["size"] = -1
    elif how == "not a list":
        state["items"][0][20] = 7
    return state


@pytest.mark.parametrize("how", ["version", "fields", "missing table", "short row", "bad time",
                                 "naive time", "bad state", "unknown case", "compartment",
                                 "out without due", "size", "not a list"])
def test_a_damaged_state_is_refused(bodies: list[dict[str, Any]], how: str) -> None:
    with pytest.raises(ProjectionStateError):
        Projection.from_state(_damaged(bodies, how))


# ---------------------------------------------------------------- CustodyView


def test_view_restored_gives_the_same_deadlines_and_steps(bodies: list[dict[str, Any]]) -> None:
    now = START + timedelta(hours=41)
    for k in (len(bodies) // 2, len(bodies)):
        replayed = _fold(bodies)
        restored = CustodyView()
        restored.restore(_json(_fold(bodies[:k]).to_state()))
        _fold(bodies, restored)
        assert restored.to_state() == replayed.to_state()
        assert restored.deadlines(now, AUDITOR) == replayed.deadlines(now, AUDITOR)
        assert restored.deadlines(now, AUDITOR, only_overdue=True) == replayed.deadlines(
            now, AUDITOR, only_overdue=True)
        assert len(restored.engine) == len(replayed.engine) > 0
        assert any(d.step > 0 for d in restored.open_deadlines())


def test_view_restore_is_all_or_nothing(bodies: list[dict[str, Any]]) -> None:
    view = _fold(bodies[:5])
    before = view.to_state()
    good = _json(_fold(bodies).to_state())
    for bad in ({**good, "notice_steps": [["m", "one", "k"]]},
                {**good, "extra": 1},
                {"projection": _damaged(bodies, "unknown case"), "notice_steps": []}):
        with pytest.raises(ProjectionStateError):
            view.restore(bad)
        assert view.to_state() == before


# ---------------------------------------------------------------- the snapshot file


@pytest.fixture()
def ledger(station: Path) -> Iterator[Ledger]:
    with Ledger.open(station, readonly=True) as lg:
        yield lg


def test_file_round_trip_and_tag(tmp_path: Path, ledger: Ledger) -> None:
    f = SnapshotFile(tmp_path)
    with pytest.raises(NoSnapshotError):
        f.read(ledger)
    body = {"projection": {"size": 5}, "notice_steps": []}
    f.write(ledger, 5, body)
    head, raw, end = (tmp_path / SNAPSHOT_NAME).read_bytes().split(b"\n")
    header = json.loads(head)
    assert header["body_sha256"] == hashlib.sha256(raw).hexdigest()
    assert header["body_bytes"] == len(raw) and json.loads(raw) == body
    assert header["format"] == "evidence-locker/api-projection" and header["version"] == 1
    assert header["size"] == 5 and end == b""
    assert header["root"] == base64.b64encode(ledger.root(5)).decode()
    snap = f.read(ledger)
    assert (snap.size, snap.body) == (5, body)
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away


class _Other:
    """A ledger of the same size with other contents (another root at every size)."""

    def __init__(self, ledger: Ledger, size: int | None = None) -> None:
        self.size = ledger.size if size is None else size

    def root(self, size: int | None = None) -> bytes:
        return b"\x01" * 32


def test_file_of_another_or_shorter_ledger_is_rejected(tmp_path: Path, ledger: Ledger) -> None:
    f = SnapshotFile(tmp_path)
    f.write(ledger, ledger.size, {"projection": {}})
    with pytest.raises(SnapshotRejectedError, match="replaced"):
        f.read(_Other(ledger))
    with pytest.raises(SnapshotRejectedError, match="shorter"):
        f.read(_Other(ledger, ledger.size - 1))
    with pytest.raises(SnapshotRejectedError):
        f.write(ledger, 0, {})
    with pytest.raises(SnapshotRejectedError):
        f.write(ledger, ledger.size + 1, {})


@pytest.mark.parametrize("damage", ["empty", "garbage", "flip", "truncate", "header",
                                    "version", "no newline", "array body"])
def test_damaged_file_is_rejected(tmp_path: Path, ledger: Ledger, damage: str) -> None:
    f = SnapshotFile(tmp_path)
    f.write(ledger, 3, {"projection": {"size": 3}, "notice_steps": []})
    path = tmp_path / SNAPSHOT_NAME
    data = path.read_bytes()
    head, body, _ = data.split(b"\n")
    header = json.loads(head)
    if damage == "empty":
        data = b""
    elif damage == "garbage":
        data = b"\x00\xff" * 100
    elif damage == "flip":
        data = head + b"\n" + body.replace(b"3", b"4") + b"\n"
    elif damage == "truncate":
        data = data[: len(head) + 10]
    elif damage == "header":
        data = b'{"format": "evidence-locker/api-projection"}\n' + body + b"\n"
    elif damage == "version":
        data = json.dumps({**header, "version": 2}).encode() + b"\n" + body + b"\n"
    elif damage == "no newline":
        data = head + body
    elif damage == "array body":
        arr = b"[1,2]"
        header.update(body_bytes=len(arr), body_sha256=hashlib.sha256(arr).hexdigest())
        data = json.dumps(header).encode() + b"\n" + arr + b"\n"
    path.write_bytes(data)
    with pytest.raises(SnapshotRejectedError):
        f.read(ledger)


# ---------------------------------------------------------------- the reader


def test_reader_saves_restores_and_catches_up(tmp_path: Path, station: Path) -> None:
    # a copy of the station, so that this test can grow its ledger
    data = tmp_path / "station"
    shutil.copytree(station, data)
    replay = Reader(data, snapshot_every=10**9)
    replay.refresh()
    assert replay.restored_size == 0 and not (data / SNAPSHOT_NAME).exists()
    size = replay.custody.size
    replay.close()  # shutdown saves
    assert json.loads((data / SNAPSHOT_NAME).read_bytes().split(b"\n")[0])["size"] == size
    with Ledger.open(data) as lg:
        lg.append("other.kind", {"n": 1}, actor="system")
        lg.append("other.kind", {"n": 2}, actor="system")
    again = Reader(data, snapshot_every=3)
    again.refresh()
    assert again.restored_size == size and again.custody.size == size + 2
    assert not again.snapshot_due  # 2 entries past the snapshot, fewer than 3
    again.snapshot_every = 2
    assert again.snapshot_due
    again.save_snapshot()
    assert again.snapshot_size == size + 2 and not again.snapshot_due
    fresh = CustodyView()
    with Ledger.open(data, readonly=True) as lg:
        for e in lg.entries():
            fresh.apply(e.body)
    assert again.custody.to_state() == fresh.to_state()
    again.close()


def test_reader_rebuilds_over_a_corrupt_snapshot(tmp_path: Path, station: Path) -> None:
    data = tmp_path / "station"
    shutil.copytree(station, data)
    (data / SNAPSHOT_NAME).write_bytes(b"not a snapshot\n{}\n")
    reader = Reader(data)
    reader.refresh()  # no error
    assert reader.restored_size == 0 and reader.custody.projection.items
    reader.close()
    assert SnapshotFile(data).read(_Reopen(data)).size == reader.custody.size  # replaced


class _Reopen:
    """The station's ledger size and roots, read afresh."""

    def __init__(self, data: Path) -> None:
        self.data = data
        with Ledger.open(data, readonly=True) as lg:
            self.size = lg.size

    def root(self, size: int | None = None) -> bytes:
        with Ledger.open(self.data, readonly=True) as lg:
            return lg.root(size)


def test_backend_saves_a_due_snapshot_after_the_build(tmp_path: Path, station: Path) -> None:
    data = tmp_path / "station"
    shutil.copytree(station, data)
    backend = Backend(data, snapshot_every=1)
    backend.start()
    try:
        # the save was queued behind the build: it has run once the next call runs
        assert backend.call_sync(lambda r: r.snapshot_size) == backend.call_sync(
            lambda r: r.custody.size) > 0
        assert (data / SNAPSHOT_NAME).is_file()
    finally:
        backend.stop()
    with Ledger.open(data) as lg:
        size = lg.append("other.kind", {"n": 1}, actor="system").seq + 1
    backend = Backend(data, snapshot_every=10**9)
    backend.start()
    try:
        assert backend.call_sync(lambda r: (r.restored_size, r.snapshot_due)) == (
            size - 1, False)
    finally:
        backend.stop()  # one entry past the snapshot: saved at shutdown
    assert json.loads((data / SNAPSHOT_NAME).read_bytes().split(b"\n")[0])["size"] == size


def test_a_snapshot_the_ledger_does_not_fold_onto_is_dropped(
    tmp_path: Path, station: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "station"
    shutil.copytree(station, data)
    with Ledger.open(data, readonly=True) as lg:
        bodies = [dict(e.body) for e in lg.entries()]
        ack = next(b for b in bodies if b["kind"] == "notice.acknowledged")
        # a well-formed snapshot just before the acknowledgement, missing its notice
        view = _fold(bodies[: ack["seq"]])
        del view.projection.notices[ack["key"]]
        SnapshotFile(data).write(lg, ack["seq"], view.to_state())
    reader = Reader(data)
    with caplog.at_level(logging.INFO, logger="api"):
        reader.refresh()  # restored, then the acknowledgement does not fold: rebuilt from 0
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"custody state restored from {SNAPSHOT_NAME}") for m in messages)
    assert any("does not fold onto the custody snapshot" in m for m in messages)
    assert reader.restored_size == 0 and reader.snapshot_size == 0
    assert reader.custody.to_state() == _fold(bodies).to_state()
    reader.close()  # and the bad snapshot is replaced
    assert SnapshotFile(data).read(_Reopen(data)).size == len(bodies)
