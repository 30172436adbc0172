"""Custody scenarios over simulated days, on the REAL ledger (SQLite in a tmp dir).

The clock is a fake one shared by the ledger and the services; notices go to a list. Each
scenario ends by rebuilding the projection from the ledger alone and comparing it with the
live one, and (where photos were written to the store) by verifying the whole data dir.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custody.domain import (
    AlreadyDisposedError,
    AlreadyHandedOverError,
    AlreadyStoredError,
    Complainant,
    ItemSpec,
    ItemState,
    NotCheckedOutError,
    NotOnCaseError,
    UnknownItemError,
)
from custody.errors import LockerError
from custody.labels import LabelError, make_label
from custody.ledger import Ledger
from custody.ledger.station import init_station
from custody.ledger.verify import verify_data_dir
from custody.ports import PhotoRef
from custody.projection import Projection
from custody.rules.catalogue import EMPTY
from custody.services import CustodyService
from custody.testing import FakeClock, ListNotifier, sample_directory
from custody.testing import photo as photo_ref

# Monday 2 March 2026, 07:00 in Shanghai (UTC+8)
MONDAY_0700 = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Station:
    """A data dir with a real ledger, a fake clock and a custody service over them."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.clock = FakeClock(MONDAY_0700)
        self.notifier = ListNotifier()
        self.ledger = Ledger.open(data, clock=self.clock)
        self.svc = self._service()

    def _service(self) -> CustodyService:
        return CustodyService(self.ledger, sample_directory(), notifier=self.notifier,
                              clock=self.clock, catalogue=EMPTY)

    def restart(self) -> None:
        """Close everything and start again from the data dir (a new notifier too)."""
        self.ledger.close()
        self.notifier = ListNotifier()
        self.ledger = Ledger.open(self.data, clock=self.clock)
        self.svc = self._service()

    def photo(self, tag: str) -> PhotoRef:
        """A photo reference whose bytes really are in the station's photo store."""
        ref = photo_ref(tag)
        path = self.data / "photos" / ref.sha256[:2] / ref.sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"photo:{tag}".encode())
        return ref

    def run_until(self, end: datetime, step: timedelta = timedelta(minutes=30)) -> list[str]:
        """Tick the rules every ``step`` until ``end``; returns 'time person rule step'."""
        log: list[str] = []
        while self.clock.now() < end:
            self.clock.advance(step)
            for n in self.svc.tick():
                local = self.clock.now() + timedelta(hours=8)
                log.append(f"{local:%a %H:%M} {n.person} {n.refs['rule']} {n.refs['step']}")
        return log

    def rebuilt(self) -> Projection:
        return Projection.rebuild(self.ledger.entries())

    def checklist(self) -> dict[str, bool]:
        return dict.fromkeys(self.svc.settings.lawfulness_checklist, True)


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    init_station(tmp_path / "data", "evidence-locker/test")
    st = Station(tmp_path / "data")
    yield st
    st.ledger.close()


def label(serial: int, kind: str = "exhibit") -> str:
    return make_label(kind, 2026, serial).text


def register(st: Station, case: str = "C1", serials: tuple[int, ...] = (1,),
             kind: str = "exhibit", seized_ago: timedelta = HOUR) -> list[str]:
    labels = [label(s, kind) for s in serials]
    st.svc.register_case(
        case, title="Theft of a bicycle", officer="wang", officers=["li"],
        complainant=Complainant("Ms Huang", "+8613900000000"),
        items=[ItemSpec(lab, kind, f"item {lab}", 1, st.clock.now() - seized_ago, "suspect")
               for lab in labels],
    )
    return labels


def hand_over_and_store(st: Station, case: str, labels: list[str], where: str = "A/1") -> None:
    st.svc.handover(case, clerk="zhou", scanned=labels, checklist=st.checklist(),
                    photos=[st.photo("handover")])
    for lab in labels:
        st.svc.store(lab, compartment=where, photos=[st.photo(f"store {lab}")], clerk="zhou")


def test_a_normal_day(station: Station) -> None:
    st = station
    (exhibit,) = register(st)
    (file_,) = register(st, "C2", (2,), "case_file")
    st.clock.advance(2 * HOUR)  # 09:00: both handed over well within 24 h
    hand_over_and_store(st, "C1", [exhibit], "A/1")
    hand_over_and_store(st, "C2", [file_], "A/2")
    st.svc.check_out(file_, officer="li", photos=[st.photo("out")])  # 09:00 out for the day
    assert st.svc.projection.items[file_].due_back == datetime(2026, 3, 2, 10, tzinfo=UTC)
    log = st.run_until(MONDAY_0700 + 10 * HOUR)  # until 17:00
    assert log == []
    st.svc.return_item(file_, photos=[st.photo("back")], actor="li")
    st.svc.store(file_, compartment="A/2", photos=[st.photo("store again")], clerk="wu")
    assert st.run_until(MONDAY_0700 + 40 * HOUR) == []  # nothing due all night
    record = st.svc.reconcile(occupancy={"A/1": True, "A/2": True})
    assert record.clean and record.day == "2026-03-03"
    progress = [n.refs["stage"] for n in st.notifier.sent if n.role == "complainant"]
    assert progress == ["received", "received", "handed_over", "handed_over"]
    assert st.rebuilt() == st.svc.projection
    st.ledger.checkpoint()
    report = verify_data_dir(st.data, workers=1)
    assert report.ok, report.summary()
    assert report.photos_checked >= 6


def test_late_handover_escalates_step_by_step_to_legal(station: Station) -> None:
    st = station
    (item,) = register(st, seized_ago=HOUR)  # seized Monday 06:00 local: due Tuesday 06:00
    log = st.run_until(MONDAY_0700 + 72 * HOUR)
    assert log == [
        "Tue 02:00 wang handover 1",  # reminder to the officer, 4 h before the deadline
        "Tue 06:00 zhao handover 2",  # the supervisor at the deadline
        "Wed 06:00 legal1 handover 3",  # the legal section 24 h later
    ]
    keys = [n.key for n in st.notifier.sent if n.refs.get("rule") == "handover"]
    assert len(keys) == len(set(keys)) == 3
    st.svc.acknowledge(keys[2], person="legal1")
    assert st.svc.projection.notices[keys[2]].acknowledged_seq is not None
    st.svc.handover("C1", clerk="zhou", scanned=[item], checklist=st.checklist(),
                    photos=[st.photo("late handover")])
    assert st.run_until(MONDAY_0700 + 200 * HOUR, step=6 * HOUR) == []
    assert st.rebuilt() == st.svc.projection


def test_a_file_returned_late(station: Station) -> None:
    st = station
    (file_,) = register(st, serials=(7,), kind="case_file")
    hand_over_and_store(st, "C1", [file_])
    st.clock.advance(2 * HOUR)  # 09:00 Monday
    st.svc.check_out(file_, officer="wang", photos=[st.photo("out")])
    log = st.run_until(MONDAY_0700 + 13 * HOUR, step=timedelta(minutes=15))  # until 20:00
    assert log == ["Mon 17:30 wang return 1", "Mon 19:00 zhao return 2"]
    st.svc.return_item(file_, photos=[st.photo("late")], actor="wang")
    last = st.ledger.entry(st.ledger.size - 1).body
    assert last["kind"] == "item.returned" and last["late"] is True
    assert last["due"] == "2026-03-02T10:00:00.000Z"
    assert st.run_until(MONDAY_0700 + 60 * HOUR, step=2 * HOUR) == []  # legal never told
    record = st.svc.reconcile()
    assert record.checked_out_not_back == () and not record.occupancy_known
    assert st.rebuilt() == st.svc.projection


def test_a_handover_with_a_missing_item(station: Station) -> None:
    st = station
    labels = register(st, serials=(11, 12, 13))
    result = st.svc.handover("C1", clerk="zhou", scanned=[labels[0], labels[2]],
                             checklist=st.checklist(), photos=[st.photo("partial")],
                             reason="the third phone is still at the forensic lab")
    assert result.missing == (labels[1],) and result.flagged
    flag = [n for n in st.notifier.sent if n.key.startswith("discrepancy:")]
    assert [n.person for n in flag] == ["zhao"] and labels[1] in flag[0].text
    entry = st.ledger.entry(result.seq).body
    assert entry["missing"] == [labels[1]] and entry["reason"].startswith("the third phone")
    # the missing item's handover deadline keeps running, for it alone
    log = st.run_until(MONDAY_0700 + 23 * HOUR)
    assert log == ["Tue 02:00 wang handover 1", "Tue 06:00 zhao handover 2"]
    assert all(labels[1] in n.text for n in st.notifier.sent if n.refs.get("rule"))
    st.svc.handover("C1", clerk="wu", scanned=[labels[1]], checklist=st.checklist(),
                    photos=[st.photo("rest")])
    assert st.run_until(MONDAY_0700 + 96 * HOUR, step=4 * HOUR) == []
    record = st.svc.reconcile()
    assert record.registered_not_handed_over == ()
    assert st.rebuilt() == st.svc.projection


def test_a_disposal(station: Station) -> None:
    st = station
    (item,) = register(st, serials=(21,))
    hand_over_and_store(st, "C1", [item], "B/4")
    st.clock.advance(48 * HOUR)
    st.svc.dispose(item, disposal="to_court", approved_by="sun", actor="zhou",
                   reference="court transfer order 2026-17", photos=[st.photo("to court")])
    view = st.svc.projection.items[item]
    assert view.state is ItemState.DISPOSED and view.approved_by == "sun"
    assert "B/4" not in st.svc.projection.compartments
    progress = [n for n in st.notifier.sent if n.role == "complainant"]
    assert [n.refs["stage"] for n in progress] == ["received", "handed_over", "disposed"]
    assert {n.person for n in progress} == {"+8613900000000"}
    with pytest.raises(AlreadyDisposedError):
        st.svc.check_out(item, officer="wang", photos=[st.photo("x")])
    assert st.rebuilt() == st.svc.projection


def test_a_restart_in_the_middle_of_a_ladder(station: Station) -> None:
    st = station
    register(st, serials=(31,))
    before = st.run_until(MONDAY_0700 + 24 * HOUR)  # Tuesday 07:00: two steps out
    assert [line.split()[2:] for line in before] == [["wang", "handover", "1"],
                                                     ["zhao", "handover", "2"]]
    live = st.svc.projection
    st.restart()
    assert st.svc.projection == live  # rebuilt from the ledger alone
    assert st.svc.tick() == []  # nothing re-sent after the restart
    after = st.run_until(MONDAY_0700 + 72 * HOUR)
    assert [line.split()[2:] for line in after] == [["legal1", "handover", "3"]]
    sent = [e.body["key"] for e in st.ledger.entries() if e.body["kind"] == "notice.sent"]
    assert len(sent) == len(set(sent))
    # a restart after a long outage: every step that fell due goes out once, in order
    register(st, "C2", serials=(32,))
    st.restart()
    st.clock.advance(60 * HOUR)
    late = st.svc.tick()
    assert [(n.person, n.refs["step"]) for n in late] == [
        ("wang", "1"), ("zhao", "2"), ("legal1", "3")
    ]
    st.restart()
    assert st.svc.tick() == []


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("unknown label", UnknownItemError, "no item with label"),
        ("wrong check character", LabelError, "wrong check character"),
        ("already stored", AlreadyStoredError, "already stored"),
        ("officer not on case", NotOnCaseError, "is not on case"),
        ("return of item not out", NotCheckedOutError, "is not checked out"),
        ("second handover", AlreadyHandedOverError, "already handed over"),
    ],
)
def test_bad_input_leaves_the_real_ledger_unchanged(
    station: Station, name: str, error: type[LockerError], message: str
) -> None:
    st = station
    (item,) = register(st, serials=(41,))
    hand_over_and_store(st, "C1", [item])
    wrong = item[:-1] + ("0" if item[-1] != "0" else "1")
    calls: dict[str, Callable[[], object]] = {
        "unknown label": lambda: st.svc.store(label(999), compartment="A/1",
                                              photos=[st.photo("s")], clerk="zhou"),
        "wrong check character": lambda: st.svc.check_out(wrong, officer="wang",
                                                          photos=[st.photo("o")]),
        "already stored": lambda: st.svc.store(item, compartment="A/3",
                                               photos=[st.photo("s")], clerk="zhou"),
        "officer not on case": lambda: st.svc.check_out(item, officer="chen",
                                                        photos=[st.photo("o")]),
        "return of item not out": lambda: st.svc.return_item(item, photos=[st.photo("r")],
                                                             actor="wang"),
        "second handover": lambda: st.svc.handover("C1", clerk="zhou", scanned=[item],
                                                   checklist=st.checklist(),
                                                   photos=[st.photo("h")]),
    }
    size, root = st.ledger.size, st.ledger.root()
    with pytest.raises(error, match=message):
        calls[name]()
    assert st.ledger.size == size and st.ledger.root() == root
    assert st.rebuilt() == st.svc.projection
