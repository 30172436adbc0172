"""The station config: valid files load, bad ones are refused naming the key and its line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from custody.domain.roles import Role
from custody.errors import ConfigError
from custody.ledger.station import init_station
from lockerd.config import (
    StationConfig,
    StationSection,
    check_pin,
    hash_pin,
    load_config,
    locate_key,
    parse_config,
    section_keys,
    sections,
)

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
    effective = _locker("config", "check", "--json", str(good))
    assert effective.returncode == 0, effective.stderr
    data = json.loads(effective.stdout)
    assert data["terminal"]["language"] == "zh_CN" and data["rules"]["return_time"] == "18:00"
    # every default filled in, and nothing the file may not say: it reads back as a config
    assert StationConfig.model_validate(data).station.id == "hz-01"


def test_cli_hash_pin() -> None:
    res = _locker("config", "hash-pin", stdin="2468\n")
    assert res.returncode == 0, res.stderr
    assert check_pin("2468", res.stdout.strip())


def _doc_sections() -> dict[str, str]:
    from tests.conftest import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "config.md").read_text()
    out = {}
    for name, (_, many) in sections().items():
        header = f"## `[[{name}]]`" if many else f"## `[{name}]`"
        assert header in doc, f"docs/config.md has no section {header}"
        out[name] = doc.split(header, 1)[1].split("\n## ", 1)[0]
    return out


def _toml(value: object) -> str | None:
    """A default as docs/config.md writes it, or None when the docs describe it in words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, str):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, Mapping) and not value:
        return "{}"
    return None


def test_docs_name_every_key() -> None:
    docs = _doc_sections()
    for name, (cls, _) in sections().items():
        for key in section_keys(cls):
            assert f"`{key}`" in docs[name], f"docs/config.md [{name}] misses {key}"


def test_docs_give_the_models_defaults() -> None:
    """Where docs/config.md writes a default as a literal, it is the settings class's own."""
    checked = 0
    for name, (cls, _) in sections().items():
        defaults = section_keys(cls)
        for row in _doc_sections()[name].splitlines():
            cells = [c.strip() for c in row.strip().strip("|").split("|")]
            if len(cells) < 3 or not cells[0].startswith("`"):
                continue
            keys = re.findall(r"`([a-z_]+)`", cells[0])
            shown = [d.strip() for d in cells[1].split(",")]
            if len(keys) != len(shown):
                continue
            for key, text in zip(keys, shown, strict=True):
                want = _toml(defaults[key])
                if want is None or not (text.startswith("`") and text.endswith("`")):
                    continue
                assert text.strip("`") == want, f"[{name}] {key}: docs say {text}, model {want}"
                checked += 1
    assert checked > 40  # most defaults are written as literals


# --------------------------------------------------------------------------- each refusal named


def _refused(text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "station.toml")
    return str(exc.value)


def test_unknown_key_refused_with_file_and_line() -> None:
    assert "station.toml:8: terminal.colour: unknown key" in _refused(
        GOOD.replace("[ledger]", '[terminal]\ncolour = "red"\n\n[ledger]')
    )
    # in a section that is a package's own dataclass, and in a daemon-only one
    assert "station.toml:15: rules.return_tme: unknown key" in _refused(
        GOOD.replace('return_times = { fri = "17:00" }', 'return_times = { fri = "17:00" }\n'
                     'return_tme = "18:00"')
    )
    assert "station.toml:6: station.colour: unknown key" in _refused(
        GOOD.replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghai"\ncolour = 1')
    )


def test_rules_timezone_is_refused_it_lives_in_station() -> None:
    message = _refused(GOOD.replace('return_time = "18:00"',
                                    'return_time = "18:00"\ntimezone = "UTC"'))
    assert "station.toml:14: rules.timezone: unknown key" in message, message


def test_bad_time_zone_refused() -> None:
    message = _refused(GOOD.replace('"Asia/Shanghai"', '"Asia/Atlantis"'))
    assert "station.toml:5: station.timezone: unknown time zone 'Asia/Atlantis'" in message


def test_station_time_zone_reaches_the_rules() -> None:
    cfg = parse_config(GOOD.replace('"Asia/Shanghai"', '"Europe/Berlin"'))
    assert cfg.rules.timezone == "Europe/Berlin"
    assert cfg.rules.zone.key == "Europe/Berlin"
    assert parse_config("").rules.timezone == StationSection.model_fields["timezone"].default


@pytest.mark.parametrize(
    ("edit", "key", "line"),
    [
        (('return_time = "18:00"', 'return_time = "25:00"'), "rules.return_time", 13),
        (('return_time = "18:00"', 'return_time = "18:00"\nday_start = "6"'),
         "rules.day_start", 14),
        (('{ fri = "17:00" }', '{ fri = "5pm" }'), "rules.return_times.fri", 14),
        (('{ fri = "17:00" }', '{ friday = "17:00" }'), "rules.return_times.friday", 14),
    ],
)
def test_bad_hhmm_refused(edit: tuple[str, str], key: str, line: int) -> None:
    message = _refused(GOOD.replace(*edit))
    assert f"station.toml:{line}: {key}:" in message, message


def test_unknown_role_refused() -> None:
    message = _refused(GOOD.replace('role = "supervisor"', 'role = "janitor"'))
    assert "station.toml:19: people.0.role:" in message, message
    assert "officer" in message and "auditor" in message  # names the valid roles


def test_roles_are_defined_once() -> None:
    """The config, the core, the kiosk and the API's tokens share one Role."""
    from api.auth import Role as ApiRole
    from api.auth import parse_role
    from custody.domain.people import Role as CoreRole
    from custody.domain.roles import STAFF_ROLES, TERMINAL_ROLES, TOKEN_ROLES, Role

    assert ApiRole is Role and CoreRole is Role
    cfg = parse_config(GOOD)
    assert cfg.person("off1").role is Role.OFFICER
    assert set(TERMINAL_ROLES) <= set(STAFF_ROLES)
    assert parse_role("Legal") is Role.LEGAL and Role.LEGAL in TOKEN_ROLES


def test_unknown_language_refused() -> None:
    message = _refused(GOOD + '\n[terminal]\nlanguage = "fr"\n')
    assert "station.toml:44: terminal.language:" in message, message


@pytest.mark.parametrize(("written", "code"), [("zh", "zh_CN"), ("zh_CN", "zh_CN"),
                                               ("zh-CN", "zh_CN"), ("en", "en")])
def test_language_codes_are_the_kiosks(written: str, code: str) -> None:
    """Old configs say ``zh``; the kiosk's code (its translation file) is ``zh_CN``."""
    from custody.domain.languages import LANGUAGES, Language
    from terminal.i18n import LANGUAGES as KIOSK_LANGUAGES
    from terminal.i18n import catalogue

    cfg = parse_config(f'[terminal]\nlanguage = "{written}"\n')
    assert cfg.terminal.language == code
    assert isinstance(cfg.terminal.language, Language)
    assert KIOSK_LANGUAGES is LANGUAGES
    assert catalogue(cfg.terminal.language)  # a translation file exists for it


def test_ledger_section_is_the_ledgers_own() -> None:
    """``[ledger]`` is read by the ledger itself and by the config loader: one class."""
    from custody.ledger.station import ledger_settings

    text = GOOD.replace('synchronous = "FULL"', 'synchronous = "OFF"')
    assert "station.toml:10: ledger.synchronous:" in _refused(text)
    with pytest.raises(ConfigError, match="synchronous"):
        ledger_settings({"ledger": {"synchronous": "OFF"}})
    assert ledger_settings({"ledger": {"synchronous": "normal"}}).synchronous == "NORMAL"


def test_settings_classes_check_themselves_when_made_directly() -> None:
    """Code that builds a section without a file gets the same checks, as SettingErrors."""
    from custody.errors import SettingError
    from custody.settings import PersonSettings, RulesSettings, TerminalSettings

    with pytest.raises(SettingError, match="HH:MM") as exc:
        RulesSettings(day_start="6am")
    assert exc.value.key == "day_start"
    with pytest.raises(SettingError) as exc:
        PersonSettings("p1", "P", "janitor")  # type: ignore[arg-type]
    assert exc.value.key == "role"
    with pytest.raises(SettingError) as exc:
        TerminalSettings(idle_lock_s=1)
    assert exc.value.key == "idle_lock_s"
    assert PersonSettings("p1", "P", "clerk").role is Role.CLERK  # type: ignore[arg-type]


def test_default_config_of_docs_and_init_load(tmp_path: Path) -> None:
    """Every TOML example in docs/config.md is a valid config (or a part of one)."""
    from tests.conftest import REPO_ROOT

    doc = (REPO_ROOT / "docs" / "config.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", doc, flags=re.S)
    assert blocks
    for block in blocks:
        parse_config(block, "docs/config.md")
