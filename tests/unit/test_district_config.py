"""The district config: validated like the station's (unknown keys, key and line named)."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.errors import ConfigError
from custody.ledger.note import Signer
from district.config import parse_district_config
from district.live import bridge_config


def _vkey() -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Signer("test.example/s1", Ed25519PrivateKey.generate()).vkey


def test_a_good_config_reads_back() -> None:
    cfg = parse_district_config(f"""
[district]
poll_seconds = 3

[[stations]]
id = "s1"
url = "http://127.0.0.1:8080/log/"
key = "{_vkey()}"

[[people]]
id = "zhao"
name = "Zhao"
role = "supervisor"
station = "s1"
""")
    assert cfg.district.poll_seconds == 3 and cfg.district.language == "zh_CN"
    assert cfg.station("s1").origin == "test.example/s1"


def test_a_station_catalogue_is_relative_to_the_config_folder() -> None:
    station = f'[[stations]]\nid = "s1"\nurl = "http://x/"\nkey = "{_vkey()}"\n'
    cfg = parse_district_config(station + 'rules = { catalogue = "s1/catalogue.toml" }\n',
                                base=Path("/etc/district"))
    assert cfg.station("s1").rules.catalogue == Path("/etc/district/s1/catalogue.toml")
    assert parse_district_config(station, base=Path("/etc")).station("s1").rules.catalogue is None


@pytest.mark.parametrize(("text", "message"), [
    ('[district]\npoll_secs = 3\n', "<x>:2: district.poll_secs: unknown key"),
    ('[[stations]]\nid = "s1"\nurl = "ftp://x"\nkey = "k"\n', "stations.0.url"),
    ('[[stations]]\nid = "s1"\nurl = "http://x/"\nkey = "nonsense"\n',
     "<x>:4: stations.0.key"),
    ('[[people]]\nid = "z"\nname = "Z"\nrole = "supervisor"\nstation = "nowhere"\n',
     "needs the id of a listed station"),
    ('[[people]]\nid = "z"\nname = "Z"\nrole = "clerk"\n', "people.0.role"),
])
def test_bad_configs_are_refused_with_key_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_district_config(text, "<x>")
    assert message in str(err.value)


def test_bridge_config_is_a_qos1_persistent_bridge_of_alarms_and_legal_notices() -> None:
    text = bridge_config("s7", "10.0.0.5", 1883)
    lines = text.splitlines()
    assert "address 10.0.0.5:1883" in lines
    assert "topic locker/s7/alarm out 1" in lines
    assert "topic locker/s7/notify/legal/# out 1" in lines
    assert "cleansession false" in lines
