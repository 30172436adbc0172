"""A station with SMS on the simulated modem (a real pty): config, start, and helpers."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from custody.domain.people import Complainant
from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.ledger.ledger import Ledger
from custody.ledger.station import init_station
from lockerd.config import load_config
from lockerd.daemon import Daemon

WAIT_S = 30.0
_SERIALS = itertools.count(1)
PHONES = {"sup": "+8613900000001", "off1": "+8613900000002", "legal1": "+8613900000004",
          "clerk": "+8613900000003"}
COMPLAINANT = "+8613812345678"


def sms_config(modem: str, *, sms: Mapping[str, Any] | None = None,
               station_name: str = "城东派出所", mqtt_port: int | None = None) -> str:
    """A station without cabinets whose notices go to the modem at ``modem``."""
    keys = {"backend": "modem", "port": modem, "command_timeout_s": 5.0,
            "retry_base_s": 0.05, "retry_max_s": 0.2, "max_attempts": 3,
            "station_phone": "+862088888888", **(sms or {})}
    lines = "\n".join(f"{k} = {_toml(v)}" for k, v in keys.items())
    text = f"""
[station]
id = "t1"
name = "{station_name}"
origin = "test.example/t1"
rules_tick_seconds = 3600
checkpoint_tick_seconds = 3600

[api]
enabled = false
port = 0

[mqtt]
enabled = {"true" if mqtt_port else "false"}
port = {mqtt_port or 1883}

[sms]
{lines}
"""
    people = [("sup", "主管", "supervisor", None), ("off1", "民警一", "officer", "sup"),
              ("clerk", "保管员", "clerk", None), ("legal1", "法制员", "legal", None)]
    for pid, name, role, boss in people:
        text += f'\n[[people]]\nid = "{pid}"\nname = "{name}"\nrole = "{role}"\n'
        text += f'phone = "{PHONES[pid]}"\n'
        if boss:
            text += f'supervisor = "{boss}"\n'
    return text


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@asynccontextmanager
async def sms_station(root: Path, modem: str, *, api: bool = False,
                      **config: Any) -> AsyncIterator[Daemon]:
    """The daemon of a station (created on first use) with SMS on ``modem`` (and the read
    API on a free port with ``api``)."""
    if not (root / "ledger.db").exists():
        init_station(root, "test.example/t1")
    (root / "config.toml").write_text(sms_config(modem, **config), encoding="utf-8")
    daemon = Daemon(load_config(root / "config.toml"), cabinets=[], api=api)
    await daemon.start()
    try:
        yield daemon
    finally:
        await daemon.stop()


async def register(daemon: Daemon, case_id: str, contact: str = COMPLAINANT) -> None:
    """Register a case with one file and a complainant (who is told it was received)."""
    label = make_label("case_file", 2026, next(_SERIALS)).text
    spec = ItemSpec(label, "case_file", "卷宗", 1, datetime.now(UTC))
    await daemon.rt.call(daemon.rt.custody.register_case, case_id, title="盗窃案",
                         officer="off1", items=[spec],
                         complainant=Complainant("王先生", contact))


def entries(root: Path, kind_prefix: str = "") -> list[dict[str, Any]]:
    """Ledger entry bodies (read alongside the running writer)."""
    ledger = Ledger.open(root, readonly=True)
    try:
        return [dict(e.body) for e in ledger.entries()
                if str(e.body.get("kind", "")).startswith(kind_prefix)]
    finally:
        ledger.close()


async def until(what: str, done: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Wait on the loop until ``done()``; fail naming ``what`` after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout:.0f} s")
        await asyncio.sleep(0.02)


def delivery_kinds(root: Path, key: str) -> list[str]:
    """The delivery entry kinds of one notice, in order."""
    return [e["kind"] for e in entries(root, "notice.") if e.get("key") == key
            and e["kind"] != "notice.sent"]
