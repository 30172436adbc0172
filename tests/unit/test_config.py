"""The station config: valid files load, bad ones are refused naming the key and its line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from custody.errors import ConfigError
from custody.ledger.station import init_station
from lockerd.config import check_pin, hash_pin, load_config, locate_key, parse_config

GOOD = """\
[station]
id = "hz-01"
name = "Hangzhou West"
data_dir = "data"
timezone = "Asia/Shanghai"

[ledger]
checkpoint_every_entries = 100
checkpoint_every_seconds = 60
synchronous = "FULL"

[rules]
return_time = "18:00"
return_times = { fri = "17:00" }

[[people]]
id = "sup1"
name = "Supervisor Wang"
role = "supervisor"

[[people]]
id = "off1"
name = "Officer Li"
role = "officer"
badge = "B-1001"
supervisor = "sup1"

[[cabinets]]
id = "A"
host = "127.0.0.1"
port = 5020

[[cabinets]]
id = "B"
transport = "modbus-rtu"
device = "socket://127.0.0.1:5021"
unit = 2

[mqtt]
enabled = true
port = 1884
"""


def test_good_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "station.toml"
    path.write_text(GOOD)
    cfg = load_config(path)
    assert cfg.station.id == "hz-01"
    assert cfg.station.data_dir == tmp_path / "data"
    assert [c.id for c in cfg.cabinets] == ["A", "B"]
    assert cfg.cabinets[1].device == "socket://127.0.0.1:5021"
    assert cfg.rules.return_times == {"fri": "17:00"}
    assert cfg.ledger.checkpoint_every_entries == 100
    assert cfg.api.enabled is True  # defaults fill absent sections
    assert cfg.person("off1").supervisor == "sup1"


def test_minimal_config_is_only_a_station_id() -> None:
    cfg = parse_config('[station]\nid = "s"\n')
    assert cfg.station.station_id == "s"
    assert cfg.mqtt.enabled is False
    assert cfg.terminal.door_open_timeout_s == 60


def test_config_written_by_locker_init_is_valid(tmp_path: Path) -> None:
    paths = init_station(tmp_path / "data", "example.org/west-7", name="West 7")
    cfg = load_config(paths.config)
    assert cfg.station.station_id == "West-7"
    assert cfg.station.origin == "example.org/west-7"
    assert cfg.station.data_dir == paths.root.resolve()  # the config's own folder


@pytest.mark.parametrize(
    ("edit", "key", "line"),
    [
        (('port = 5020', 'porrt = 5020'), "cabinets.0.porrt", 31),
        (('unit = 2', 'unit = 2\ncolour = "red"'), "cabinets.1.colour", 38),
        (('synchronous = "FULL"', 'synchronous = "SOMETIMES"'), "ledger.synchronous", 10),
        (('return_time = "18:00"', 'return_time = "6pm"'), "rules.return_time", 13),
        (('role = "officer"', 'role = "janitor"'), "people.1.role", 24),
        (('[mqtt]', '[mqt]'), "mqt", 39),
        (('timezone = "Asia/Shanghai"', 'timezone = "Mars/Base"'), "station.timezone", 5),
    ],
)
def test_errors_name_key_and_line(edit: tuple[str, str], key: str, line: int) -> None:
    text = GOOD.replace(*edit)
    assert text != GOOD
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "station.toml")
    message = str(exc.value)
    assert f"station.toml:{line}: {key}" in message, message


def test_missing_required_key_points_at_its_table() -> None:
    text = GOOD.replace('id = "A"\n', "")
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "s.toml")
    assert "s.toml:28: cabinets.0.id: Field required" in str(exc.value)


def test_rtu_needs_device() -> None:
    with pytest.raises(ConfigError, match="needs `device`"):
        parse_config(GOOD.replace('device = "socket://127.0.0.1:5021"\n', ""))


def test_supervisor_must_be_a_supervisor() -> None:
    with pytest.raises(ConfigError, match="is not a supervisor"):
        parse_config(GOOD.replace('supervisor = "sup1"', 'supervisor = "off1"'))


def test_duplicate_cabinets_refused() -> None:
    with pytest.raises(ConfigError, match="duplicate id"):
        parse_config(GOOD.replace('id = "B"', 'id = "A"'))


def test_not_toml_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("[station\nid=1")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.toml")


def test_locate_key_handles_dotted_and_inline_keys() -> None:
    text = '[a]\nx = 1\n[b]\nc.d = 2\n"q" = 3\n'
    assert locate_key(text, ["a", "x"]) == 2
    assert locate_key(text, ["b", "c", "d"]) == 4
    assert locate_key(text, ["b", "q"]) == 5
    assert locate_key(text, ["b", "zz"]) == 3
    assert locate_key(text, ["nope"]) is None


def test_pin_hash_round_trip() -> None:
    stored = hash_pin("4321")
    assert stored.startswith("scrypt$")
    assert check_pin("4321", stored)
    assert not check_pin("4322", stored)
    assert not check_pin("4321", "garbage")
    with pytest.raises(ConfigError):
        hash_pin("12")


def test_pin_hash_refused_when_not_a_hash() -> None:
    with pytest.raises(ConfigError, match=r"people\.1\.pin_hash"):
        parse_config(GOOD.replace('badge = "B-1001"', 'badge = "B-1001"\npin_hash = "1234"'))


def _locker(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lockerd", *args],
        capture_output=True,
        text=True,
        input=stdin,
        check=False,
    )


def test_cli_config_check(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    ok = _locker("config", "check", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "ok (station hz-01" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("port = 5020", "porrt = 5020"))
    res = _locker("config", "check", str(bad))
    assert res.returncode == 2
    assert f"{bad}:31: cabinets.0.porrt: unknown key" in res.stderr


def test_cli_hash_pin() -> None:
    res = _locker("config", "hash-pin", stdin="2468\n")
    assert res.returncode == 0, res.stderr
    assert check_pin("2468", res.stdout.strip())


def test_docs_name_every_key() -> None:
    import typing

    from pydantic import BaseModel

    from lockerd.config import StationConfig
    from tests.conftest import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "config.md").read_text()
    for section, f in StationConfig.model_fields.items():
        args = typing.get_args(f.annotation)
        model = args[0] if args else f.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        tables = ("people", "cabinets", "witness")
        header = f"## `[[{section}]]`" if section in tables else f"## `[{section}]`"
        assert header in doc, header
        part = doc.split(header, 1)[1].split("\n## ", 1)[0]
        for key in model.model_fields:
            assert f"`{key}`" in part, f"docs/config.md [{section}] misses {key}"
