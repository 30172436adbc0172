"""``locker district`` on the command line: check, init-db, token create (a person who does
not exist is refused), bridge-config, run --once."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockerd.cli import main
from tests.integration.district_support import (
    served_stations,
)


def test_district_commands(tmp_path: Path, district_dsn: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    with served_stations(tmp_path, ["s1"]) as [s1]:
        config = tmp_path / "district.toml"
        config.write_text(f"""
[district]
data = "district-data"

[database]
dsn = "{district_dsn}"

[[stations]]
id = "s1"
url = "{s1.url}"
token = "{s1.token}"
key = "{s1.vkey}"

[[people]]
id = "li"
name = "Li"
role = "legal"
""")
        c = ["--config", str(config)]
        assert main(["district", "check", *c]) == 0
        assert "ok (1 stations, 1 people)" in capsys.readouterr().out
        assert main(["district", "init-db", *c]) == 0
        assert main(["district", "run", "--once", *c]) == 0
        out = capsys.readouterr().out
        assert f"s1: size {s1.st.ledger.size}, {s1.st.ledger.size} new entries, ok" in out
        assert (tmp_path / "district-data" / "stations" / "s1" / "checkpoint").is_file()
    assert main(["district", "token", "create", "--role", "legal", "--person", "ghost", *c]) == 2
    assert "no person 'ghost'" in capsys.readouterr().err
    assert main(["district", "token", "create", "--role", "legal", "--person", "li", *c]) == 0
    assert capsys.readouterr().out.startswith("dl_")
    assert main(["district", "bridge-config", "--station", "s1", "--district-broker",
                 "10.1.2.3:1883", *c]) == 0
    assert "topic locker/s1/alarm out 1" in capsys.readouterr().out
    config.write_text(config.read_text() + "\n[district]\n")
    assert main(["district", "check", *c]) == 2
