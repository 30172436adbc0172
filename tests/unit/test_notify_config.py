"""``[sms]`` and people's phones in the station config."""

from __future__ import annotations

import pytest

from custody.errors import ConfigError
from lockerd.config import parse_config
from lockerd.sms import recipients, sms_settings


@pytest.mark.parametrize(("text", "message"), [
    ('[sms]\nbackend = "modem"\n', "backend 'modem' needs `port`"),
    ('[sms]\nbackend = "http"\ngateway_url = "ftp://x"\n', "needs `gateway_url`"),
    ('[sms]\nbackend = "pager"\n', "sms.backend"),
    ('[sms]\nquiet_hours = "22:00-7:00"\n', "sms.quiet_hours"),
    ('[sms]\npin = "12"\n', "sms.pin"),
    ('[[people]]\nid = "a"\nname = "A"\nrole = "clerk"\nphone = "13912345678"\n',
     "people.0.phone"),
    ('[[people]]\nid = "a"\nname = "A"\nrole = "clerk"\nlanguage = "fr"\n',
     "people.0.language"),
])
def test_bad_sms_config_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def test_recipients_and_settings() -> None:
    cfg = parse_config(
        '[station]\nname = "城东派出所"\n[sms]\nbackend = "modem"\nport = "/dev/ttyUSB2"\n'
        'quiet_hours = "22:00-07:00"\nlanguage = "zh"\n'
        '[[people]]\nid = "sup"\nname = "S"\nrole = "supervisor"\nphone = "+8613900000001"\n'
        'language = "en"\n'
        '[[people]]\nid = "clerk"\nname = "C"\nrole = "clerk"\n'
    )
    resolve = recipients(cfg)
    assert resolve("supervisor", "sup").number == "+8613900000001"
    assert resolve("supervisor", "sup").language == "en"
    assert resolve("clerk", "clerk").number == ""  # no phone: undeliverable
    assert resolve("complainant", "138-1234-5678").number == "+8613812345678"
    settings = sms_settings(cfg)
    assert settings.station == "城东派出所" and settings.quiet_hours is not None
