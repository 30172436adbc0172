"""The report's content rules without a PDF: transfers from entries, local times with their
offset, both languages complete, and who may see contact details."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from api.auth import Principal, Role, may_see_contacts
from api.report_i18n import TEXTS
from api.reports import local_time
from custody.domain.people import Complainant
from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.services.custody import CustodyService
from custody.settings import DEFAULT_CHECKLIST
from custody.sink import MemorySink
from custody.testing import FakeClock, ListNotifier, photo, sample_directory
from custody.transfers import (
    CENTRE,
    CHECK_OUT,
    COMPARTMENT,
    DISPOSAL,
    HANDOVER,
    OUTSIDE,
    PERSON,
    RETURN,
    SEIZURE,
    STORAGE,
    Party,
    transfers,
)

E1 = make_label("exhibit", 2026, 1).text
E2 = make_label("exhibit", 2026, 2).text


def _entries() -> list[dict[str, Any]]:
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    sink = MemorySink(clock=clock)
    svc = CustodyService(sink, sample_directory(), notifier=ListNotifier(), clock=clock)
    seized = clock.now() - timedelta(hours=1)
    svc.register_case("C-1", title="t", officer="wang", items=[
        ItemSpec(E1, "exhibit", "crowbar", 1, seized, "Suspect A"),
        ItemSpec(E2, "exhibit", "phone", 1, seized, "Suspect B"),
    ], complainant=Complainant("Liu", "+8613900000000"))
    svc.handover("C-1", clerk="zhou", scanned=[E1, E2],
                 checklist=dict.fromkeys(DEFAULT_CHECKLIST, True), photos=[photo("h")])
    svc.store(E1, compartment="A/1", photos=[photo("s")], clerk="zhou")
    svc.check_out(E1, officer="wang", photos=[photo("o")])
    svc.return_item(E1, photos=[photo("r")], actor="wang")
    svc.store(E1, compartment="A/2", photos=[photo("s2")], clerk="zhou")
    svc.dispose(E1, disposal="to_court", approved_by="zhao", actor="zhou")
    return [dict(e.body) for e in sink.entries()]


def test_transfers_follow_the_item_hand_to_hand() -> None:
    steps = transfers(_entries(), [E1])
    assert [(s.purpose, s.giver, s.receiver, s.place) for s in steps] == [
        (SEIZURE, Party(OUTSIDE, "Suspect A"), Party(PERSON, "wang"), ""),
        (HANDOVER, Party(PERSON, "wang"), Party(PERSON, "zhou"), ""),
        (STORAGE, Party(PERSON, "zhou"), Party(COMPARTMENT, "A/1"), "A/1"),
        (CHECK_OUT, Party(COMPARTMENT, "A/1"), Party(PERSON, "wang"), "A/1"),
        (RETURN, Party(PERSON, "wang"), Party(CENTRE, ""), ""),
        (STORAGE, Party(PERSON, "zhou"), Party(COMPARTMENT, "A/2"), "A/2"),
        (DISPOSAL, Party(COMPARTMENT, "A/2"), Party(OUTSIDE, "to_court"), "A/2"),
    ]
    assert all(len(s.photos) == 1 for s in steps[1:6])
    # a case: the registration splits by who the items were seized from
    both = transfers(_entries(), [E1, E2])
    seizures = [s for s in both if s.purpose == SEIZURE]
    assert sorted(s.items for s in seizures) == [(E1,), (E2,)]


def test_local_time_shows_the_zone_offset() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    assert local_time("2026-03-02T01:30:00.000Z", zone) == "2026-03-02 09:30:00 (UTC+08:00)"
    assert local_time("2026-07-01T12:00:00.000Z", ZoneInfo("Europe/Berlin")) == (
        "2026-07-01 14:00:00 (UTC+02:00)"
    )


def test_both_languages_have_every_word() -> None:
    assert set(TEXTS["zh"]) == set(TEXTS["en"])


def test_contact_rule() -> None:
    assert not may_see_contacts("clerk")
    assert all(may_see_contacts(r) for r in ("auditor", "supervisor", "officer", "legal"))
    assert Principal("t1", Role.AUDITOR, None).sees_contacts
    assert not Principal("t2", Role.CLERK, "zhou").sees_contacts
