"""Hypothesis stateful test of the custody state machine.

Random command sequences (any command on any item, by any person, at any time) either
succeed with a legal transition, or are refused with a LockerError that writes nothing.
Alarms are raised (through the service, or appended by another writer and caught up) and
acknowledged (sometimes twice, or never raised). Items leave custody: requests, decisions
(self-approvals refused), carrying out (by the wrong person refused; a second clerk for cash),
returns from a temporary leave, holds placed and lifted (a held item's release refused).
After every step: the projection rebuilt from the ledger's entries equals the live one
(items with their last compartment, ladder steps, open alarms, leaves, holds), and the
state satisfies the custody invariants.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from custody.alarms import AlarmKind, alarm_body
from custody.domain import Complainant, DisposalKind, ItemSpec, ItemState
from custody.domain.states import TRANSITIONS, Action
from custody.errors import LockerError
from custody.labels import make_label
from custody.leaving import Recipient, UnderHoldError, holds_on
from custody.ledger import Ledger
from custody.ledger.station import init_station
from custody.projection import Projection, ladder_step_of
from custody.rules import load_catalogue
from custody.services import CustodyService
from custody.sink import EntrySink, MemorySink
from custody.testing import SAMPLE_PEOPLE, FakeClock, ListNotifier, photo, sample_directory

PEOPLE = [p.id for p in SAMPLE_PEOPLE] + ["stranger"]
# mostly the right role for the step, sometimes anyone (so refusals are exercised too)
OFFICERS = st.sampled_from(["wang", "li"] * 4 + PEOPLE)
CLERKS = st.sampled_from(["zhou", "wu"] * 4 + PEOPLE)
SUPERVISORS = st.sampled_from(["zhao", "sun"] * 4 + PEOPLE)
SERIALS = st.integers(min_value=1, max_value=12)
# an item: one the step suits ("ready"), any registered one ("known"), or any label at all
ITEMS = st.tuples(st.sampled_from(["ready"] * 4 + ["known", "any"]), st.integers(0, 1000))
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

# action -> the command's kind in the ledger
ACTION_KIND = {
    Action.HANDOVER: "case.handed_over",
    Action.STORE: "item.stored",
    Action.CHECK_OUT: "item.checked_out",
    Action.RETURN: "item.returned",
    Action.DISPOSE: "item.disposed",
    Action.LEAVE: "leave.carried_out",
    Action.COME_BACK: "leave.returned",
}
LEAVE_KINDS = st.sampled_from(["examination", "examination", "court_production",
                               "release_to_owner", "destruction", "transfer_with_case", "lost"])
DOCS = {"decision_no": "D-1", "receiving_unit": "Lab"}


SEEN: dict[Action, int] = {}  # successful transitions, to check the test reaches them
STATE_SEEN: set[str] = set()  # parts of the state reached: ladder steps, alarm acks


def label(serial: int) -> str:
    return make_label("exhibit" if serial % 2 else "case_file", 2026, serial).text


class CustodyMachine(RuleBasedStateMachine):
    """Drives a CustodyService and a tiny independent model of item states."""

    sink: EntrySink

    def make_sink(self, clock: FakeClock) -> EntrySink:
        return MemorySink(clock)

    @initialize()
    def start(self) -> None:
        self.clock = FakeClock(START)
        self.notifier = ListNotifier()
        self.sink = self.make_sink(self.clock)
        self.svc = CustodyService(self.sink, sample_directory(), notifier=self.notifier,
                                  clock=self.clock, catalogue=load_catalogue())
        self.model: dict[str, ItemState] = {}
        self.open_alarms: set[int] = set()  # the model of open alarms: seqs
        self.leaves: dict[int, str] = {}  # the model of leave requests: seq -> status
        self.cases = 0
        self.started = False  # True once the lived-in start state is set up
        # a lived-in station to start from, so short random runs reach every state
        self.register([1, 2, 3], "wang", 2)
        self.register([4, 5], "chen", 1)
        checklist = dict.fromkeys(self.svc.settings.lawfulness_checklist, True)
        self.attempt(lambda: self.svc.handover(
            "C1", clerk="zhou", scanned=[label(1), label(2), label(3)], checklist=checklist,
            photos=[photo("h")]), [label(1), label(2), label(3)], Action.HANDOVER)
        for lab in (label(1), label(2)):
            self.attempt(partial(self.svc.store, lab, compartment="A/1",
                                 photos=[photo("s")], clerk="wu"), [lab], Action.STORE)
        self.attempt(partial(self.svc.check_out, label(2), officer="li", photos=[photo("o")]),
                     [label(2)], Action.CHECK_OUT)
        # now every state but disposed is present, so every action has an item it suits
        assert self.model[label(2)] is ItemState.CHECKED_OUT
        # and leaves under way: one out on examination, one approved and waiting for the
        # clerk (a third case's stored item), so short runs reach every leave step
        self.register([6], "wang", 1)
        self.attempt(lambda: self.svc.handover(
            "C3", clerk="zhou", scanned=[label(6)], checklist=checklist,
            photos=[photo("h")]), [label(6)], Action.HANDOVER)
        self.attempt(partial(self.svc.store, label(6), compartment="B/0",
                             photos=[photo("s")], clerk="wu"), [label(6)], Action.STORE)
        for lab in (label(1), label(6)):
            request = self.svc.request_leave(lab, kind="examination", officer="wang",
                                             reason="lab", documents=DOCS).request
            self.svc.decide_leave(request, supervisor="zhao", approve=True, reason="")
            self.leaves[request] = "approved"
        first = min(self.leaves)
        self.attempt(partial(self.svc.carry_out_leave, first, clerk="zhou", photos=[photo("l")],
                             receipt=photo("receipt"), recipient=Recipient("Mr Ma", "1101", "")),
                     [label(1)], Action.LEAVE, "leave.carried_out")
        self.leaves[first] = "out"
        self.started = True

    # ------------------------------------------------------------------ helpers

    def attempt(self, call: Callable[[], Any], labels: list[str], action: Action | None,
                kind: str | None = None) -> bool:
        """Run a command; check success matches the model, or that a refusal wrote nothing.
        ``kind``: the entry kind it writes, when not the action's own. True if it succeeded."""
        before_size = self.sink.size
        before_sent = len(self.notifier.sent)
        before = {lab: self.model.get(lab) for lab in labels}
        try:
            call()
        except LockerError:
            assert self.sink.size == before_size
            assert len(self.notifier.sent) == before_sent
            return False
        entries = [e.body for e in self.sink.entries(before_size)]
        if kind is not None:
            assert entries[0]["kind"] == kind
        if action is None:
            return True
        sources, target = TRANSITIONS[action]
        assert entries[0]["kind"] == (kind or ACTION_KIND[action])
        moved = entries[0]["items"] if action is Action.HANDOVER else [entries[0]["item"]]
        assert moved and set(moved) <= set(labels)
        for lab in labels:
            now_state = self.svc.projection.items[lab].state
            if lab in moved:
                assert before[lab] in sources, f"{lab}: {before[lab]} -{action}-> {target}"
                assert now_state is target
                self.model[lab] = target
                if self.started:
                    SEEN[action] = SEEN.get(action, 0) + 1
            else:
                assert now_state is before[lab]
        return True

    def pick(self, choice: tuple[str, int], action: Action) -> str:
        how, n = choice
        known = sorted(self.model)
        if how == "ready":
            known = [lab for lab in known if self.model[lab] in TRANSITIONS[action][0]] or known
        if how != "any" and known:
            return known[n % len(known)]
        return label(n % 12 + 1)

    # ------------------------------------------------------------------ commands

    @rule(serials=st.lists(SERIALS, min_size=1, max_size=3, unique=True),
          officer=OFFICERS, hours_ago=st.integers(0, 30))
    def register(self, serials: list[int], officer: str, hours_ago: int) -> None:
        case_id = f"C{self.cases + 1}"
        seized = self.clock.now() - timedelta(hours=hours_ago)
        specs = [ItemSpec(label(s), "exhibit" if s % 2 else "case_file", f"thing {s}", s,
                          seized, category="cash" if s == 3 else "") for s in serials]
        before = self.sink.size
        try:
            self.svc.register_case(case_id, title="case", officer=officer, items=specs,
                                   officers=["li"] if officer == "wang" else [],
                                   complainant=Complainant("Ms Huang", "+86139"))
        except LockerError:
            assert self.sink.size == before
            return
        self.cases += 1
        for s in serials:
            assert label(s) not in self.model
            self.model[label(s)] = ItemState.REGISTERED

    @precondition(lambda self: bool(self.model))
    @rule(case=st.integers(0, 100), keep=st.lists(st.booleans(), min_size=3, max_size=3),
          extra=st.lists(SERIALS, max_size=1), clerk=CLERKS,
          reason=st.sampled_from(["", "one at the lab", "one at the lab"]))
    def handover(self, case: int, keep: list[bool], extra: list[int], clerk: str,
                 reason: str) -> None:
        case_id = f"C{case % self.cases + 1}" if self.cases else "C1"
        view = self.svc.projection.cases.get(case_id)
        mine = view.items if view is not None else []
        labels = [lab for lab, k in zip(mine, keep, strict=False) if k]
        labels += [label(s) for s in extra]
        checklist = dict.fromkeys(self.svc.settings.lawfulness_checklist, True)
        self.attempt(lambda: self.svc.handover(
            case_id, clerk=clerk, scanned=labels, checklist=checklist,
            photos=[photo("h")], reason=reason), [lab for lab in labels if lab in self.model],
            Action.HANDOVER)

    @precondition(lambda self: bool(self.model))
    @rule(action=st.sampled_from([Action.STORE, Action.CHECK_OUT, Action.RETURN,
                                  Action.DISPOSE]),
          item=ITEMS, person=st.integers(0, 1000), where=st.sampled_from(["A/0", "A/1", "B/0"]),
          how=st.sampled_from([*(k.value for k in DisposalKind), "lost"]))
    def act(self, action: Action, item: tuple[str, int], person: int, where: str,
            how: str) -> None:
        """One step on one item by someone: mostly a sensible choice, sometimes anything."""
        lab = self.pick(item, action)
        calls: dict[Action, tuple[list[str], Callable[[str], object]]] = {
            Action.STORE: (["zhou", "wu"], lambda who: self.svc.store(
                lab, compartment=where, photos=[photo("s")], clerk=who)),
            Action.CHECK_OUT: (["wang", "li"], lambda who: self.svc.check_out(
                lab, officer=who, photos=[photo("o")])),
            Action.RETURN: (["wang", "li", "zhou"], lambda who: self.svc.return_item(
                lab, photos=[photo("r")], actor=who)),
            Action.DISPOSE: (["zhao", "sun"], lambda who: self.svc.dispose(
                lab, disposal=how, approved_by=who, actor="zhou")),
        }
        fitting, call = calls[action]
        pool = fitting * 4 + PEOPLE
        who = pool[person % len(pool)]
        self.attempt(lambda: call(who), [lab], action)

    # ------------------------------------------------------------------ leaving custody

    def pick_leave(self, index: int, status: str) -> int:
        """A request in ``status`` (mostly), any request, or one that does not exist."""
        fitting = sorted(r for r, s in self.leaves.items() if s == status)
        pool = fitting or sorted(self.leaves) or [self.sink.size + 3]
        return pool[index % len(pool)] if index % 5 else index

    @precondition(lambda self: bool(self.model))
    @rule(item=ITEMS, kind=LEAVE_KINDS, officer=OFFICERS, docs=st.booleans())
    def request_leave(self, item: tuple[str, int], kind: str, officer: str,
                      docs: bool) -> None:
        lab = self.pick(item, Action.LEAVE)
        held = bool(self.svc.projection.items.get(lab) and holds_on(
            self.svc.projection.holds, self.svc.projection.items[lab].case_id, lab))
        before = self.sink.size
        if self.attempt(lambda: self.svc.request_leave(
                lab, kind=kind, officer=officer, reason="asked", documents=DOCS if docs else {}),
                [lab], None, "leave.requested"):
            self.leaves[before] = "requested"
            assert not (held and kind in ("release_to_owner", "destruction"))
        elif held and kind in ("release_to_owner", "destruction"):
            STATE_SEEN.add("leave refused under hold")

    @precondition(lambda self: bool(self.leaves))
    @rule(index=st.integers(0, 50), supervisor=SUPERVISORS, approve=st.booleans())
    def decide_leave(self, index: int, supervisor: str, approve: bool) -> None:
        request = self.pick_leave(index, "requested")
        record = self.svc.projection.leaves.get(request)
        if record is not None and index % 7 == 0:
            supervisor = record.requested_by  # a self-approval: always refused
        if self.attempt(lambda: self.svc.decide_leave(
                request, supervisor=supervisor, approve=approve, reason="decided"),
                [], None, "leave.decided"):
            assert record is not None and supervisor != record.requested_by
            self.leaves[request] = "approved" if approve else "refused"
        elif record is not None and supervisor == record.requested_by:
            STATE_SEEN.add("self-approval refused")

    @precondition(lambda self: bool(self.leaves))
    @rule(index=st.integers(0, 50), clerk=CLERKS, second=st.sampled_from([None, "wu", "zhou"]))
    def carry_out_leave(self, index: int, clerk: str, second: str | None) -> None:
        request = self.pick_leave(index, "approved")
        record = self.svc.projection.leaves.get(request)
        labels = [record.item] if record is not None else []
        action = Action.DISPOSE if record is not None and record.final else Action.LEAVE
        if self.attempt(lambda: self.svc.carry_out_leave(
                request, clerk=clerk, second_clerk=second, photos=[photo("l")],
                receipt=photo("receipt"), recipient=Recipient("Mr Ma", "1101", "Lab")),
                labels, action, "leave.carried_out"):
            assert record is not None
            assert clerk not in (record.requested_by, record.decided_by)
            self.leaves[request] = "done" if record.final else "out"

    @precondition(lambda self: bool(self.leaves))
    @rule(index=st.integers(0, 50), actor=st.sampled_from(["zhou", "wang", "stranger"]))
    def return_from_leave(self, index: int, actor: str) -> None:
        request = self.pick_leave(index, "out")
        record = self.svc.projection.leaves.get(request)
        labels = [record.item] if record is not None else []
        if self.attempt(lambda: self.svc.return_from_leave(
                request, actor=actor, photos=[photo("b")]), labels, Action.COME_BACK):
            self.leaves[request] = "back"

    @precondition(lambda self: bool(self.model))
    @rule(item=ITEMS, whole_case=st.sampled_from([False, False, True]),
          lift=st.booleans(),
          who=st.sampled_from(["wang", "zhao", "sun", "zhou"]),
          approver=st.sampled_from(["sun", "zhao", "wang"]))
    def hold(self, item: tuple[str, int], whole_case: bool, lift: bool, who: str,
             approver: str) -> None:
        """A hold placed on a case or an item, or lifted (approved by another supervisor)."""
        lab = self.pick(item, Action.LEAVE)
        view = self.svc.projection.items.get(lab)
        case_id = view.case_id if view is not None else "C1"
        target = None if whole_case else lab
        held = sorted(self.svc.projection.holds.values(), key=lambda h: h.key)
        if lift and held and item[1] % 4:  # mostly a hold in force
            case_id, target = held[item[1] % len(held)].case_id, held[item[1] % len(held)].item
        if lift:
            if self.attempt(lambda: self.svc.lift_hold(
                    case_id, item=target, requested_by=who, approved_by=approver,
                    reason="trial over"), [], None, "hold.lifted"):
                assert approver != who
                STATE_SEEN.add("hold lifted")
        elif held:
            return  # one hold at a time, so the other steps keep flowing
        elif self.attempt(lambda: self.svc.place_hold(case_id, item=target, actor=who,
                                                      reason="under investigation"),
                          [], None, "hold.placed"):
            # a held item's release is refused, and nothing is written
            before = self.sink.size
            try:
                self.svc.request_leave(lab, kind="release_to_owner", officer="wang",
                                       reason="owner", documents=DOCS)
            except UnderHoldError:
                STATE_SEEN.add("leave refused under hold")
            except LockerError:
                pass
            else:
                raise AssertionError(f"{lab} was released under a hold")
            assert self.sink.size == before

    @rule(minutes=st.integers(1, 60 * 30), reconcile=st.sampled_from([None, True, False]))
    def time_passes(self, minutes: int, reconcile: bool | None) -> None:
        """Time moves on, the rules tick runs, and sometimes the daily reconciliation."""
        self.clock.advance(timedelta(minutes=minutes))
        keys_before = set(self.svc.projection.notices)
        sent = self.svc.tick()
        assert not keys_before & {n.key for n in sent}
        if reconcile is not None:  # True: every compartment reads occupied; False: empty
            occupancy = dict.fromkeys(self.svc.projection.compartments, reconcile)
            record = self.svc.reconcile(occupancy=occupancy)
            stored = self.svc.projection.items_in(ItemState.STORED)
            assert len(record.stored_but_empty) == (0 if reconcile else len(stored))

    @precondition(lambda self: bool(self.svc.projection.notices))
    @rule(index=st.integers(0, 50), person=st.sampled_from([*PEOPLE, "+86139"]))
    def acknowledge(self, index: int, person: str) -> None:
        keys = sorted(self.svc.projection.notices)
        key = keys[index % len(keys)]
        if index % 3:  # mostly the right person
            person = self.svc.projection.notices[key].person
        self.attempt(lambda: self.svc.acknowledge(key, person=person), [], None)

    @rule(kind=st.sampled_from(list(AlarmKind)), where=st.sampled_from(["A/0", "A/1", None]),
          item=ITEMS, direct=st.booleans())
    def raise_alarm(self, kind: AlarmKind, where: str | None, item: tuple[str, int],
                    direct: bool) -> None:
        """An alarm: through the service, or appended by another writer (the daemon's own
        entries), which the service folds in when it next catches up."""
        labels = [self.pick(item, Action.CHECK_OUT)] if where else []
        if direct:
            entry = self.sink.append(kind.entry_kind, alarm_body(
                compartment=where, items=labels, event="test"), actor="lockerd")
            seq = entry.seq
            self.svc.catch_up()
            STATE_SEEN.add("alarm by another writer")
        else:
            seq = self.svc.raise_alarm(kind, compartment=where, items=labels,
                                       cabinet=None if where else "B").seq
        self.open_alarms.add(seq)

    @rule(index=st.integers(0, 50), clerk=CLERKS)
    def acknowledge_alarm(self, index: int, clerk: str) -> None:
        """A clerk acknowledges an open alarm (mostly), or one already closed / never raised
        (refused, nothing written)."""
        known = sorted(self.open_alarms) or [self.sink.size + 5]
        seq = known[index % len(known)] if index % 4 else index
        before = self.sink.size
        self.attempt(lambda: self.svc.acknowledge_alarm(seq, clerk=clerk), [], None)
        accepted = seq in self.open_alarms and clerk in ("zhou", "wu")  # open, by a clerk
        assert self.sink.size == before + accepted
        if accepted:
            self.open_alarms.discard(seq)
            STATE_SEEN.add("alarm acknowledged")

    # ------------------------------------------------------------------ invariants

    @invariant()
    def rebuild_equals_live(self) -> None:
        if not hasattr(self, "svc"):
            return
        assert Projection.rebuild(self.sink.entries()) == self.svc.projection

    @invariant()
    def states_are_legal(self) -> None:
        if not hasattr(self, "svc"):
            return
        items = self.svc.projection.items
        assert {k: v.state for k, v in items.items()} == self.model
        for item in items.values():
            case = self.svc.projection.cases[item.case_id]
            assert (item.compartment is not None) == (item.state is ItemState.STORED)
            assert (item.holder is not None) == (item.state is ItemState.CHECKED_OUT)
            if item.state is ItemState.OUT_ON_LEAVE:
                assert item.due_back is not None
            if item.holder is not None:
                assert item.holder in case.officers
            if item.state is ItemState.DISPOSED:
                assert item.approved_by is not None
        for where, labels in self.svc.projection.compartments.items():
            assert labels and len({items[lab].case_id for lab in labels}) == 1, where
        sent_entries = [e for e in self.sink.entries() if e.body["kind"] == "notice.sent"]
        assert len(sent_entries) == len(self.svc.projection.notices)
        assert [n.key for n in self.notifier.sent] == [e.body["key"] for e in sent_entries]
        for matter in self.svc.engine.matters():
            assert items[matter.label].state is matter.point.state
        assert set(self.svc.projection.alarms) == self.open_alarms
        for item in items.values():
            if item.state is ItemState.STORED:
                assert item.last_compartment == item.compartment
            if item.state in (ItemState.CHECKED_OUT, ItemState.RETURNED,
                              ItemState.OUT_ON_LEAVE):
                assert item.last_compartment is not None

    @invariant()
    def leaves_follow_their_steps(self) -> None:
        if not hasattr(self, "svc"):
            return
        p = self.svc.projection
        assert {r: rec.status for r, rec in p.leaves.items()} == self.leaves
        for item in p.items.values():
            assert (item.leave is not None) == (item.state is ItemState.OUT_ON_LEAVE)
            if item.leave is not None:
                record = p.leaves[item.leave]
                assert record.status == "out" and record.item == item.label
                assert item.due_back == record.due
        for record in p.leaves.values():
            if record.decided_by is not None:
                assert record.decided_by != record.requested_by
            if record.carried_out_by:
                assert record.carried_out_by[0] not in (record.requested_by, record.decided_by)
                assert record.receipt is not None and record.recipient is not None

    @invariant()
    def ladder_is_the_highest_step_notified(self) -> None:
        if not hasattr(self, "svc"):
            return
        highest: dict[str, int] = {}
        for notice in self.svc.projection.notices.values():
            found = ladder_step_of(notice.key, notice.refs)
            if found is not None:
                highest[found[0]] = max(highest.get(found[0], 0), found[1])
        ladder = self.svc.projection.ladder
        if any(s.step > 1 for s in ladder.values()):
            STATE_SEEN.add("ladder step 2+")
        assert {m: s.step for m, s in ladder.items()} == highest
        for step in ladder.values():
            assert self.svc.projection.notices[step.key].role == step.role


class RealLedgerMachine(CustodyMachine):
    """The same machine over the real ledger (SQLite in a temporary data dir)."""

    def make_sink(self, clock: FakeClock) -> EntrySink:
        self._tmp = tempfile.TemporaryDirectory()
        data = Path(self._tmp.name) / "data"
        init_station(data, "evidence-locker/test")
        self._ledger = Ledger.open(data, clock=clock)
        return self._ledger

    def teardown(self) -> None:
        if hasattr(self, "_ledger"):
            self._ledger.close()
            self._tmp.cleanup()


CustodyMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCustodyMachine = CustodyMachine.TestCase
RealLedgerMachine.TestCase.settings = settings(
    max_examples=12, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRealLedgerMachine = RealLedgerMachine.TestCase


def test_every_transition_is_reached() -> None:
    """The machine above is not vacuous: every action succeeded in the random steps."""
    SEEN.clear()
    STATE_SEEN.clear()
    run_state_machine_as_test(
        CustodyMachine, settings=settings(
            CustodyMachine.TestCase.settings, derandomize=True, database=None, max_examples=60,
            stateful_step_count=50,
        )
    )
    assert set(SEEN) == set(Action), SEEN
    assert {"alarm acknowledged", "alarm by another writer", "ladder step 2+",
            "leave refused under hold", "self-approval refused", "hold lifted"} == STATE_SEEN
