"""Hypothesis state machine over case stage sequences.

Random stages are recorded on two cases (in order or not, by allowed roles or not, taking
effect a while ago or in the future), time passes, the rules tick, and the service restarts
over the same ledger. A small independent model says which stages are legal and which
deadlines are open when; after every step: the open case deadlines are exactly the model's
(an extension moves the deadline to exactly start + its span), a refused stage wrote nothing,
every due ladder step has been notified, no notice was ever sent twice (across restarts too),
and the projection rebuilt from the ledger equals the live one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from custody.domain import ItemSpec
from custody.domain.values import millis
from custody.errors import LockerError
from custody.labels import make_label
from custody.projection import Projection
from custody.rules import load_catalogue
from custody.services import CustodyService
from custody.sink import MemorySink
from custody.testing import FakeClock, ListNotifier, sample_directory

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CATALOGUE = """
version = 1
[[stage]]
id = "a"
name = "受案"
name_en = "accepted"
first = true
next = ["b", "x", "r"]
roles = ["officer", "case_system"]
[[stage]]
id = "x"
name = "延长"
name_en = "extended"
next = ["b", "r"]
roles = ["supervisor"]
[[stage]]
id = "b"
name = "拘留"
name_en = "detained"
next = ["r"]
roles = ["officer"]
[[stage]]
id = "r"
name = "结案"
name_en = "closed"
next = []
roles = ["officer", "supervisor"]

[[category]]
id = "t"
name = "测试"
  [[category.point]]
  id = "pa"
  name = "受案后决定"
  stage = "a"
  resolved_by = ["b", "r"]
  deadline = "3d"
  extensions = [{ stage = "x", deadline = "7d", approval = "负责人批准" }]
  next_step = "报批"
  article = "测试规定第一条"
  ladder = [{ role = "officer", at = "-1d" }, { role = "supervisor", at = "0" },
            { role = "legal", at = "+1d" }]
  [[category.point]]
  id = "pb"
  name = "拘留后通知"
  stage = "b"
  resolved_by = ["r"]
  deadline = "24h"
  next_step = "通知家属"
  article = "测试规定第二条"
  ladder = [{ role = "officer", at = "0" }, { role = "supervisor", at = "+2h" }]
"""
NEXT = {"": {"a"}, "a": {"b", "x", "r"}, "x": {"b", "r"}, "b": {"r"}, "r": set()}
ROLES = {"a": {"officer", "case_system"}, "x": {"supervisor"}, "b": {"officer"},
         "r": {"officer", "supervisor"}}
ACTORS = {"officer": "wang", "supervisor": "zhao", "case_system": "cms", "clerk": "zhou"}
CASES = ("C1", "C2")
SEEN: set[str] = set()


class StageMachine(RuleBasedStateMachine):
    """Drives the service's stages and ticks against a hand-written model."""

    catalogue_path: Path

    @initialize()
    def start(self) -> None:
        self.clock = FakeClock(START)
        self.notifier = ListNotifier()
        self.sink = MemorySink(self.clock)
        self.catalogue = load_catalogue(StageMachine.catalogue_path)
        self.svc = self.service()
        for n, (case, officer) in enumerate(zip(CASES, ("wang", "chen"), strict=True)):
            self.svc.register_case(case, title="t", officer=officer, items=[ItemSpec(
                make_label("case_file", 2026, n + 1).text, "case_file", "卷宗", 1,
                self.clock.now())])
        self.recorded: dict[str, dict[str, datetime]] = {c: {} for c in CASES}
        self.order: dict[str, list[str]] = {c: [] for c in CASES}

    def service(self) -> CustodyService:
        return CustodyService(self.sink, sample_directory(), notifier=self.notifier,
                              clock=self.clock, catalogue=self.catalogue)

    def legal(self, case: str, stage: str, role: str, ago: int) -> bool:
        done = self.order[case]
        allowed = (NEXT[""] if not done else set().union(*(NEXT[s] for s in done)))
        return stage in allowed and stage not in done and role in ROLES[stage] and ago >= -5

    @rule(case=st.sampled_from(CASES), stage=st.sampled_from(["a", "x", "b", "r", "zz"]),
          role=st.sampled_from(list(ACTORS)), ago=st.integers(-30, 3000))
    def record(self, case: str, stage: str, role: str, ago: int) -> None:
        size = self.sink.size
        effective = self.clock.now() - timedelta(minutes=ago)
        ok = stage != "zz" and self.legal(case, stage, role, ago)
        try:
            self.svc.record_stage(case, stage, actor=ACTORS[role], role=role, document="文书",
                                  number="1号", effective_at=effective)
        except LockerError:
            assert not ok, (case, stage, role, ago)
            assert self.sink.size == size  # a refusal writes nothing
            SEEN.add("refused")
            return
        assert ok, (case, stage, role, ago)
        self.recorded[case][stage] = effective.replace(microsecond=effective.microsecond
                                                       // 1000 * 1000)
        self.order[case].append(stage)
        SEEN.add(f"stage {stage}")

    @rule(hours=st.integers(1, 80))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        self.svc.tick()
        self.check_due_steps_sent()

    @rule()
    def restart(self) -> None:
        self.svc = self.service()
        self.svc.tick()
        SEEN.add("restart")

    # ------------------------------------------------------------------ model

    def expected(self) -> dict[tuple[str, str], datetime]:
        out: dict[tuple[str, str], datetime] = {}
        for case, rec in self.recorded.items():
            if "a" in rec and not {"b", "r"} & set(rec):
                out[("t.pa", case)] = rec["a"] + (7 * DAY if "x" in rec else 3 * DAY)
                if "x" in rec:
                    SEEN.add("extended")
            if "b" in rec and "r" not in rec:
                out[("t.pb", case)] = rec["b"] + DAY
        return out

    def check_due_steps_sent(self) -> None:
        now = millis(self.clock.now())
        for m in self.svc.engine.cases.matters():
            for step in range(len(m.point.ladder)):
                if m.step_due_ms(step) <= now:
                    prefix = f"{m.key}:{step + 1}:"
                    assert any(k.startswith(prefix) for k in self.svc.projection.notices), prefix
                    SEEN.add(f"step {step + 1}")

    @invariant()
    def open_deadlines_are_the_models(self) -> None:
        if not hasattr(self, "svc"):
            return
        live = {(m.point.id, m.case_id): m.deadline for m in self.svc.engine.cases.matters()}
        assert live == self.expected()

    @invariant()
    def nothing_fires_twice(self) -> None:
        if not hasattr(self, "svc"):
            return
        keys = self.notifier.keys()
        assert len(keys) == len(set(keys))

    @invariant()
    def rebuild_equals_live(self) -> None:
        if not hasattr(self, "svc"):
            return
        rebuilt = Projection.rebuild(self.sink.entries())
        assert rebuilt.to_state() == self.svc.projection.to_state()


StageMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_stage_machine(tmp_path: Path) -> None:
    path = tmp_path / "stages.toml"
    path.write_text(CATALOGUE, encoding="utf-8")
    StageMachine.catalogue_path = path
    SEEN.clear()
    run_state_machine_as_test(StageMachine, settings=StageMachine.TestCase.settings)
    # not vacuous: the runs reached extensions, every ladder step, refusals, restarts
    run_state_machine_as_test(StageMachine, settings=settings(
        StageMachine.TestCase.settings, derandomize=True, database=None))
    assert {"extended", "step 1", "step 2", "step 3", "refused", "restart",
            "stage r"} <= SEEN, SEEN
