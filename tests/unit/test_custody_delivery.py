"""Delivery entries of notices: recorded once, folded into the projection, the given rule,
and the ladder going on at once when a whole step failed for good."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custody.delivery import notice_given
from custody.domain import InvalidInputError, UnknownNoticeError
from custody.projection import Projection
from custody.rules.catalogue import EMPTY
from custody.services import CustodyService
from custody.testing import sample_directory
from tests.unit.test_custody_services import World, world  # noqa: F401 - the fixture

KEY = "progress:C1:received"


def _sent(key: str = KEY, attempt: int = 1) -> dict[str, object]:
    return {"key": key, "channel": "modem", "references": ["7"], "attempt": attempt,
            "parts": 1, "number": "+8613900000000", "report": True}


def test_outcomes_fold_into_the_projection_and_the_given_rule(world: World) -> None:  # noqa: F811
    world.register()
    svc = world.svc
    assert notice_given(svc.projection.deliveries, KEY)  # no channel tracks it: given
    assert not notice_given(svc.projection.deliveries, KEY, tracked=True)  # still queued
    assert svc.record_delivery("notice.sms_sent", _sent())
    assert not notice_given(svc.projection.deliveries, KEY)  # waiting for its report
    assert not svc.record_delivery("notice.sms_sent", _sent())  # a repeat: skipped
    assert svc.record_delivery("notice.delivered", {"key": KEY, "channel": "modem",
                                                    "references": ["7"], "attempt": 1})
    record = svc.projection.deliveries[KEY]
    assert record.status == "delivered" and record.given and record.references == ("7",)
    assert len(record.seqs) == 2
    rebuilt = Projection.rebuild(world.sink.entries())
    assert rebuilt == svc.projection
    assert Projection.from_state(rebuilt.to_state()) == rebuilt


def test_unconfirmed_is_given_failed_is_not(world: World) -> None:  # noqa: F811
    world.register(case="C1")
    world.register(case="C2", serials=(3,))
    svc = world.svc
    svc.record_delivery("notice.unconfirmed", {"key": KEY, "channel": "modem",
                                               "reason": "no report within 86400 s"})
    other = "progress:C2:received"
    svc.record_delivery("notice.failed", {"key": other, "channel": "modem",
                                          "reason": "temporary failure", "final": False,
                                          "attempt": 1})
    assert svc.projection.deliveries[other].status == "retrying"
    svc.record_delivery("notice.failed", {"key": other, "channel": "modem",
                                          "reason": "unknown subscriber", "final": True,
                                          "attempt": 2})
    assert notice_given(svc.projection.deliveries, KEY)
    assert not notice_given(svc.projection.deliveries, other)
    assert svc.projection.deliveries[other].attempts == 2


def test_bad_delivery_entries_write_nothing(world: World) -> None:  # noqa: F811
    world.register()
    before = world.sink.size
    with pytest.raises(UnknownNoticeError):
        world.svc.record_delivery("notice.sms_sent", _sent("progress:NOPE:received"))
    with pytest.raises(InvalidInputError, match="not a delivery entry kind"):
        world.svc.record_delivery("notice.bounced", {"key": KEY})
    with pytest.raises(InvalidInputError, match="needs reason, final"):
        world.svc.record_delivery("notice.failed", {"key": KEY, "channel": "modem",
                                                    "attempt": 1})
    assert world.sink.size == before


def _fail(svc: CustodyService, key: str) -> None:
    svc.record_delivery("notice.failed", {"key": key, "channel": "modem", "final": True,
                                          "reason": "no phone number", "attempt": 0})


@pytest.mark.parametrize("restart", [False, True])
def test_a_step_that_failed_for_good_brings_the_next_one_due(world: World,  # noqa: F811
                                                             restart: bool) -> None:
    world.register(serials=(1,))
    world.clock.advance(timedelta(hours=20))  # the officer's reminder (4 h before the deadline)
    [reminder] = world.svc.tick()
    assert reminder.role == "officer"
    world.clock.advance(timedelta(minutes=1))
    assert world.svc.tick() == []  # the supervisor's step is 3 h away
    _fail(world.svc, reminder.key)
    svc = world.svc
    if restart:  # the pull-forward is not stored: a restarted service finds it again
        svc = CustodyService(world.sink, sample_directory(), notifier=world.notifier,
                             clock=world.clock, catalogue=EMPTY)
    world.clock.advance(timedelta(seconds=1))
    escalated = svc.tick()
    assert [n.role for n in escalated] == ["supervisor"]
    assert escalated[0].refs["step"] == "2"
    world.clock.advance(timedelta(seconds=1))
    assert svc.tick() == []  # the supervisor's notice is pending: the ladder waits for it
