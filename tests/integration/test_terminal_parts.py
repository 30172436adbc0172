"""The terminal's parts without a browser: translations, sign-in policy, retried actions,
the alarm board on a real ledger.

Every text a screen or a message can show exists in both languages with the same
parameters; the PIN lockout and the idle lock follow the clock; an action id is answered
once; an alarm is acknowledged once, by the clerk, in the ledger.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from custody.alarms import OTHER_TO_DO, WHAT_TO_DO, alarm_body
from custody.domain.errors import RoleError
from custody.domain.states import ItemState
from custody.ledger.ledger import Ledger
from custody.ledger.station import init_station
from custody.queries import ReturnReason
from custody.services import CustodyService
from custody.settings import DEFAULT_CHECKLIST
from custody.testing import FakeClock, ListNotifier, sample_directory
from lockerd.config import check_pin, hash_pin
from terminal import errors as terminal_errors
from terminal import sessions as terminal_sessions
from terminal.actions import ALARM_KINDS
from terminal.alarm_board import CustodyAlarmBoard, UnknownAlarmError
from terminal.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    TranslationError,
    catalogue,
    has_key,
    normalise_language,
    parameters,
    translate,
)
from terminal.idempotency import ActionLog, BadActionIdError
from terminal.leave_screens import RUNTIME_KEYS
from terminal.ports import STORE_REASONS
from terminal.sessions import (
    BadgeHolder,
    LockedOutError,
    NotAllowedHereError,
    SessionExpiredError,
    Sessions,
    TerminalSettings,
    UnknownBadgeError,
    WrongPinError,
)

PKG = Path(__file__).resolve().parents[2] / "terminal"

# ---------------------------------------------------------------------------- translations


def test_both_languages_have_every_key_with_the_same_parameters() -> None:
    zh, en = catalogue("zh_CN"), catalogue("en")
    assert set(zh) == set(en)
    for key in zh:
        assert parameters(zh[key]) == parameters(en[key]), key
        assert zh[key].strip() and en[key].strip(), key


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in (PKG / "templates").glob("*.html"):
        keys |= set(re.findall(r"\bt\('([a-z_]+\.[a-z_.]+)'\s*[,)]", path.read_text("utf-8")))
    for path in PKG.glob("*.py"):
        keys |= set(re.findall(r'translate\(\s*"([a-z_]+\.[a-z_.]+)"', path.read_text("utf-8")))
    # families whose last part is chosen at run time
    keys |= {f"role.{r}" for r in ("clerk", "officer", "supervisor", "legal", "auditor",
                                   "complainant")}  # complainant: a failed notice
    keys |= {f"lang.{code}" for code in LANGUAGES}
    keys |= {f"checklist.{name}" for name in DEFAULT_CHECKLIST}
    keys |= {f"state.{s.value}" for s in ItemState}
    for purpose in ("store", "check_out", "return"):
        keys |= {f"bay.title_{purpose}", f"bay.commit_{purpose}",
                 f"bay.instructions_{purpose}", f"bay.recorded_{purpose}"}
    keys |= {f"scan.{status}" for status in ("ticked", "extra", "already", "handed_over")}
    keys |= {f"bay.reason_{reason}" for reason in STORE_REASONS}
    keys |= {f"alarm.{kind}" for kind in ALARM_KINDS}
    keys |= {f"alarm.todo.{kind}" for kind in (*ALARM_KINDS, "other")}
    keys |= {f"return.{reason.value}" for reason in ReturnReason}
    keys |= {f"return.{reason}_unusable" for reason in ("with_its_case", "free_compartment")}
    for module in (terminal_errors, terminal_sessions):
        for value in vars(module).values():
            key = getattr(value, "key", None)
            if isinstance(value, type) and isinstance(key, str):
                keys.add(key)
    keys |= {key for _, key in terminal_errors._BY_CLASS}
    keys |= {"bay.door_open", "bay.door_closed", "signin.signed_out", "signin.locked_idle"}
    keys |= RUNTIME_KEYS  # the leave screens' (terminal.leave_screens)
    # the daemon's notices (terminal.i18n.notices)
    keys |= {k for k in catalogue("en") if k.startswith("notice.")}
    return keys


def test_every_text_the_screens_use_exists_and_none_is_dead() -> None:
    used = _used_keys()
    missing = sorted(k for k in used if not has_key(k, "en") or k not in catalogue("zh_CN"))
    assert missing == []
    assert sorted(set(catalogue("en")) - used) == []


def test_what_to_do_about_an_alarm_is_the_custody_text_in_english() -> None:
    # custody.alarms says what to do (the API and the console show it); the kiosk's English
    # catalogue must say the same, and Chinese must say something for every kind
    for kind in (*ALARM_KINDS, "other"):
        expected = WHAT_TO_DO.get(kind, OTHER_TO_DO)
        assert translate(f"alarm.todo.{kind}", "en") == expected, kind
        assert f"alarm.todo.{kind}" in catalogue("zh_CN"), kind


def test_translate_fills_parameters_and_falls_back() -> None:
    assert translate("signin.wrong_pin", "en", left=2) == (
        "Wrong PIN. 2 tries left before the badge is locked.")
    assert translate("signin.wrong_pin", None, left=2).startswith("密码错误")
    fallback = translate("signin.wrong_pin", "fr", left=2)
    assert fallback == translate("signin.wrong_pin", "zh", left=2)
    with pytest.raises(TranslationError, match="no text"):
        translate("no.such.key", "en")
    with pytest.raises(TranslationError, match="parameter"):
        translate("signin.wrong_pin", "en")


def test_language_names_are_normalised() -> None:
    assert DEFAULT_LANGUAGE == "zh_CN"
    assert [normalise_language(x) for x in ("zh", "zh-CN", "ZH_cn", "en-US", "en", "", None)] == [
        "zh_CN", "zh_CN", "zh_CN", "en", "en", "zh_CN", "zh_CN"]


def test_translation_files_are_plain_json_objects() -> None:
    for code in LANGUAGES:
        data = json.loads((PKG / "i18n" / f"{code}.json").read_text("utf-8"))
        assert isinstance(data, dict) and all(isinstance(v, str) for v in data.values())


# ---------------------------------------------------------------------------- sign-in


@pytest.fixture(scope="module")
def pin_hash() -> str:
    return hash_pin("4321")


def _sessions(pin_hash: str, clock: FakeClock) -> Sessions:
    people = [
        BadgeHolder("zhou", "周燕", "clerk", "C-1", pin_hash),
        BadgeHolder("aud", "审计", "auditor", "A-1", pin_hash),
    ]
    settings = TerminalSettings(idle_lock_s=60, pin_max_attempts=3, pin_lockout_s=300)
    return Sessions(people, clock, settings, check_pin,
                    on_lockout=lambda person, n: locked.append((person.id, n)))


locked: list[tuple[str, int]] = []


def test_pin_lockout_follows_the_clock(pin_hash: str) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    sessions = _sessions(pin_hash, clock)
    locked.clear()
    with pytest.raises(UnknownBadgeError):
        sessions.sign_in("NOPE", "4321", "en")
    with pytest.raises(NotAllowedHereError):
        sessions.sign_in("A-1", "4321", "en")
    for left in (2, 1):
        with pytest.raises(WrongPinError) as wrong:
            sessions.sign_in("c-1", "0000", "en")  # badge text is case-insensitive
        assert wrong.value.params["left"] == left
    with pytest.raises(LockedOutError):
        sessions.sign_in("C-1", "0000", "en")
    assert locked == [("zhou", 3)]
    with pytest.raises(LockedOutError) as still:
        sessions.sign_in("C-1", "4321", "en")  # the right PIN, while locked
    assert still.value.params["minutes"] == 5
    clock.advance(timedelta(seconds=301))
    session = sessions.sign_in("C-1", "4321", "en")
    assert session.person.id == "zhou"
    assert locked == [("zhou", 3)]


def test_idle_lock_and_sign_out(pin_hash: str) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    sessions = _sessions(pin_hash, clock)
    session = sessions.sign_in("C-1", "4321", "zh_CN")
    clock.advance(timedelta(seconds=50))
    assert sessions.get(session.token, touch=True) is session  # an action restarts idle time
    clock.advance(timedelta(seconds=50))
    assert sessions.get(session.token) is session  # a status poll ...
    clock.advance(timedelta(seconds=15))
    with pytest.raises(SessionExpiredError):  # ... does not: 65 s since the last action
        sessions.get(session.token)
    with pytest.raises(SessionExpiredError):
        sessions.get(session.token)  # gone for good
    other = sessions.sign_in("C-1", "4321", "zh_CN")
    sessions.sign_out(other.token)
    sessions.sign_out(other.token)
    assert sessions.peek(other.token) is None


# ---------------------------------------------------------------------------- retried actions


def test_an_action_id_is_answered_once() -> None:
    log = ActionLog(capacity=2)
    done: list[str] = []

    async def work() -> tuple[int, dict[str, Any]]:
        await asyncio.sleep(0)
        done.append("x")
        return 200, {"ok": True, "n": len(done)}

    async def scenario() -> list[tuple[int, dict[str, Any]]]:
        first, concurrent = await asyncio.gather(
            log.run("action-0001", "zhou", work), log.run("action-0001", "zhou", work))
        again = await log.run("action-0001", "zhou", work)
        with pytest.raises(BadActionIdError):
            await log.run("action-0001", "wang", work)  # someone else's id
        with pytest.raises(BadActionIdError):
            await log.run("short", "zhou", work)
        return [first, concurrent, again]

    answers = asyncio.run(scenario())
    assert done == ["x"]
    assert answers[0] == (200, {"ok": True, "n": 1})
    assert answers[1][1]["replayed"] is True and answers[2][1]["n"] == 1
    assert log.replays == 2


def test_a_failed_action_can_be_retried() -> None:
    log = ActionLog()
    tries: list[int] = []

    async def flaky() -> tuple[int, dict[str, Any]]:
        tries.append(1)
        if len(tries) == 1:
            raise OSError("cabinet line dropped")
        return 200, {"ok": True}

    async def scenario() -> tuple[int, dict[str, Any]]:
        with pytest.raises(OSError):
            await log.run("action-0002", "zhou", flaky)
        return await log.run("action-0002", "zhou", flaky)

    assert asyncio.run(scenario()) == (200, {"ok": True})
    assert len(tries) == 2


# ---------------------------------------------------------------------------- alarm board


def test_alarm_board_on_a_real_ledger(tmp_path: Path) -> None:
    init_station(tmp_path / "data", "test.example/alarms")
    with Ledger.open(tmp_path / "data") as ledger:
        def write(kind: str, body: Any, actor: str) -> int:
            return int(ledger.append(kind, dict(body), actor=actor).seq)

        def service() -> CustodyService:
            return CustodyService(ledger, sample_directory(), notifier=ListNotifier())

        woken: list[int] = []
        board = CustodyAlarmBoard(service(), wrote=lambda: woken.append(ledger.size))
        assert board.open_alarms() == []
        # the daemon's alarm desk writes to the ledger directly: the board still sees them
        forced = write("alarm.door_forced", alarm_body(
            compartment="A/3", items=["E2026-000001-X"], event="tamper"), "lockerd")
        write("cabinet.online", {"cabinet": "A"}, "lockerd")  # not an alarm
        offline = write("alarm.cabinet_offline", alarm_body(
            cabinet="B", event="offline", detail="no answer"), "lockerd")
        alarms = board.open_alarms()
        assert [(a.seq, a.kind, a.where, a.items) for a in alarms] == [
            (forced, "door_forced", "A/3", ("E2026-000001-X",)),
            (offline, "cabinet_offline", "B", ())]
        board.acknowledge(str(forced), clerk="zhou")
        assert [a.seq for a in board.open_alarms()] == [offline]
        assert woken == [ledger.size]
        size = ledger.size
        with pytest.raises(UnknownAlarmError):
            board.acknowledge(str(forced), clerk="zhou")  # already acknowledged
        with pytest.raises(UnknownAlarmError):
            board.acknowledge("999", clerk="zhou")
        with pytest.raises(UnknownAlarmError):
            board.acknowledge("A/3", clerk="zhou")
        with pytest.raises(RoleError):
            board.acknowledge(str(offline), clerk="wang")  # an officer, not a clerk
        assert ledger.size == size  # refusals write nothing
        ack = list(ledger.entries())[-1].body
        assert (ack["kind"], ack["alarm"], ack["actor"], ack["where"]) == (
            "alarm.acknowledged", forced, "zhou", "A/3")
        # a service rebuilt from the ledger alone sees the same open alarms
        assert [a.seq for a in CustodyAlarmBoard(service()).open_alarms()] == [offline]


# ---------------------------------------------------------------------------- notices


def test_the_daemons_notices_in_both_languages() -> None:
    from zoneinfo import ZoneInfo

    from custody.ports import Notice
    from terminal.i18n.notices import localise_notice

    zone = ZoneInfo("Asia/Shanghai")
    ladder = Notice(
        key="return:F2026-000021-J:9:2:zhao", role="supervisor", person="zhao",
        subject="Return checked-out items by the station's return time: F2026-000021-J",
        text="...", refs={"rule": "return", "item": "F2026-000021-J", "case": "2026-XS-0200",
                          "deadline": "2026-11-30T10:00:00.000Z", "step": "2"})
    subject, text = localise_notice(ladder, "zh_CN", zone=zone)
    assert subject == "请归还卷宗 F2026-000021-J(案件 2026-XS-0200)"
    assert "2026-11-30 18:00" in text and "第 2 级" in text and "带班领导" in text
    subject, text = localise_notice(ladder, "en", zone=zone)
    assert "18:00" in text and "the supervisor" in text
    progress = Notice(key="progress:C:received", role="complainant", person="+86139",
                      subject="Your case has been registered (C)", text="Dear Zhang",
                      refs={"case": "C", "stage": "received", "name": "张某"})
    assert localise_notice(progress, "zh_CN")[1].startswith("张某,您好")
    other = Notice(key="k", role="clerk", person="zhou", subject="Cash not stored",
                   text="Item E... has waited 2 h", refs={"rule": "cash_store", "step": "1"})
    assert localise_notice(other, "zh_CN") == ("[第 1 级] Cash not stored",
                                               "Item E... has waited 2 h")
