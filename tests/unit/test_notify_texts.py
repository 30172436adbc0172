"""SMS texts (templates, their checks, the values they get), quiet hours, numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from custody.domain.languages import Language
from custody.errors import ConfigError
from notify.pdu import count_parts
from notify.service import normalise_number, parse_quiet_hours, quiet_until
from notify.texts import ALLOWED, WIDEST, Texts, kind_of, values_of

ZONE = ZoneInfo("Asia/Shanghai")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "texts.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_texts_load_and_fit_three_parts() -> None:
    texts = Texts.load()
    for lang in ("zh", "en"):
        for kind in ALLOWED:
            widest = texts.render(kind, lang, WIDEST)
            assert 1 <= count_parts(widest) <= 3, (lang, kind)


def test_override_replaces_one_text(tmp_path: Path) -> None:
    texts = Texts.load(_write(tmp_path, 'version = 1\n[en]\n"other" = "{station}: {subject}"\n'))
    assert texts.render("other", "en", {"station": "S1", "subject": "hello"}) == "S1: hello"
    zh = Language.ZH_CN  # a texts file's [zh] table is read as zh_CN
    assert texts.templates[zh]["other"] == Texts.load().templates[zh]["other"]


@pytest.mark.parametrize(("body", "message"), [
    ('[zh]\n"progress.received" = "{case} {item}"\n', "placeholder(s) item not allowed"),
    ('[zh]\n"progress.received" = "{case} {officer}"\n', "placeholder(s) officer not allowed"),
    ('[zh]\n"nonsense" = "x"\n', "unknown notice kind"),
    ('[fr]\n"other" = "x"\n', "unknown language table [fr]"),
    ('[zh]\n"other" = "{subject"\n', "bad braces"),
    ('[zh]\n"other" = "' + "很长" * 110 + '"\n', "takes 4 SMS with the longest values"),
    ('version = 2\n', "version must be 1"),
])
def test_bad_texts_are_refused(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Texts.load(_write(tmp_path, body))


def test_complainant_text_carries_case_stage_and_phone_only() -> None:
    body = {"key": "progress:K-7:received", "role": "complainant", "person": "+8613812345678",
            "subject": "Your case has been registered (K-7)",
            "text": "Dear Wang, case K-7: registered with 1 item(s); officer off1 is in charge.",
            "refs": {"case": "K-7", "stage": "received", "name": "Wang"}}
    kind = kind_of("complainant", body["refs"])  # type: ignore[arg-type]
    values = values_of(body, "zh", ZONE, "城东派出所", "+862088888888")
    text = Texts.load().render(kind, "zh", values)
    assert kind == "progress.received"
    assert "K-7" in text and "已受理" in text and "+862088888888" in text
    assert "off1" not in text and "Wang" not in text


def test_ladder_values_are_local_and_localised() -> None:
    body = {"key": "return:F-1:3:1:sup", "role": "supervisor", "person": "sup",
            "subject": "Return checked-out items by the station's return time: F-1",
            "refs": {"rule": "return", "item": "F-1", "case": "K-1",
                     "deadline": "2026-12-06T10:00:00.000Z", "step": "2"}}
    zh = values_of(body, "zh", ZONE, "S", "")
    en = values_of(body, "en", ZONE, "S", "")
    assert zh["deadline"] == "2026-12-06 18:00" and zh["rule"] == "应在当日规定时间前归还"
    assert en["rule"] == "to be returned by today's return time"
    assert kind_of("supervisor", body["refs"]) == "ladder.supervisor"  # type: ignore[arg-type]
    catalogue = dict(body, subject="Seized cash deposited: E-1",
                     refs=dict(body["refs"], rule="exhibits.cash_deposit"))  # type: ignore[arg-type]
    assert values_of(catalogue, "en", ZONE, "S", "")["rule"] == "Seized cash deposited"


def test_quiet_hours_hold_until_their_end() -> None:
    hours = parse_quiet_hours("22:00-07:00")
    assert hours == (time(22), time(7))
    late = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    assert quiet_until(late, hours, ZONE) == datetime(2026, 12, 7, 7, 0, tzinfo=ZONE)
    early = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)  # 05:00 next day in Shanghai
    assert quiet_until(early, hours, ZONE) == datetime(2026, 12, 7, 7, 0, tzinfo=ZONE)
    day = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00
    assert quiet_until(day, hours, ZONE) == day
    assert quiet_until(late, parse_quiet_hours("12:00-14:00"), ZONE) == late
    assert parse_quiet_hours("") is None
    with pytest.raises(ValueError, match="22:00-07:00"):
        parse_quiet_hours("22-7")


def test_numbers_are_normalised_to_e164_or_refused() -> None:
    assert normalise_number("+8613812345678", "86") == "+8613812345678"
    assert normalise_number("138 1234 5678", "86") == "+8613812345678"
    assert normalise_number("0086-138-1234-5678", "86") == "+8613812345678"
    assert normalise_number("wang@example.org", "86") == ""
    assert normalise_number("", "86") == ""
