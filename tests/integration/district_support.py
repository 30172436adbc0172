"""The district tests' parts: stations built by the real custody services and served over
real HTTP (``/log/``), and a district config naming them. (The session's PostgreSQL and a
fresh database per test are the ``pg_server`` and ``district_dsn`` fixtures of conftest.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from api.app import create_app
from api.auth import Role, TokenStore
from api.server import running_server
from custody.ledger.publish import publish_tiles
from district.config import DistrictConfig, parse_district_config
from tests.integration import offsite_support
from tests.integration.api_support import Station, build_station


@dataclass
class ServedStation:
    """A station (real ledger, services, photos) and its API with ``/log/`` on a port."""

    id: str
    st: Station
    url: str
    token: str
    vkey: str
    extra: dict[str, str] = field(default_factory=dict)

    def publish(self) -> None:
        self.st.ledger.checkpoint()
        publish_tiles(self.st.data)


def make_station(root: Path, sid: str, *, tick: bool = True) -> Station:
    """The API tests' station (a morning of custody; a late check-out), origin per id."""
    return build_station(root / sid, origin=f"test.example/{sid}", tick=tick)


@contextmanager
def served_stations(root: Path, ids: list[str], **kw: bool) -> Iterator[list[ServedStation]]:
    """Stations built and served over real HTTP, each with a mirror token."""
    with ExitStack() as stack:
        out = []
        for sid in ids:
            st = make_station(root, sid, **kw)
            stack.callback(st.close)
            publish_tiles(st.data)
            store = TokenStore(st.data)
            try:
                token = store.create(Role.MIRROR, note="district")[1]
            finally:
                store.close()
            url = stack.enter_context(running_server(create_app(st.data, clock=st.clock)))
            vkey = (st.data / "station.vkey").read_text().strip()
            out.append(ServedStation(sid, st, url + "/log/", token, vkey))
        yield out


def district_config(root: Path, dsn: str, stations: list[ServedStation],
                    extra: str = "") -> DistrictConfig:
    text = f"""
[district]
name = "test-district"
data = "{root / 'district'}"
poll_seconds = 0.2
escalation_grace_seconds = 0

[database]
dsn = "{dsn}"
"""
    for s in stations:
        text += f"""
[[stations]]
id = "{s.id}"
url = "{s.url}"
token = "{s.token}"
key = "{s.vkey}"
rules = {{ timezone = "Asia/Shanghai" }}
"""
    text += """
[[people]]
id = "li"
name = "Li Fa"
role = "legal"
""" + "".join(f"""
[[people]]
id = "sup-{s.id}"
name = "Supervisor {s.id}"
role = "supervisor"
station = "{s.id}"
""" for s in stations) + extra
    return parse_district_config(text, "test district config")


def late(st: Station, hours: int) -> None:
    """Let the station's clock run on (nothing else happens at the station)."""
    st.clock.advance(timedelta(hours=hours))


def rewrite_history(data: Path, origin: str, tmp: Path) -> None:
    """The operator's attack (as in test_offsite): the same entries, one changed, plus a
    new one, signed with the station's own key and published over the station's tiles."""
    offsite_support.rewrite_history(
        data, origin, tmp, entry=1, field="title", value="nothing was ever here"
    )
