"""The demo's SMS: the simulated modem on a pty, the ``[sms]`` section, people's phones,
and every text the modem is given printed as the recipient's phone would show it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from hw_sim.modem_sim import Behaviour, SimMessage, SimModem


def start_modem(say: Callable[[str], None]) -> SimModem:
    """The simulated modem (reports at once), printing each text it is given."""
    modem = SimModem(Behaviour(reports="now"))

    def show(m: SimMessage) -> None:
        say(f"  SMS -> {m.number} ({m.parts} part(s)): {m.text}")

    modem.on_message = show
    modem.start()
    return modem


def sms_lines(port: str) -> list[str]:
    """The demo's ``[sms]`` section: the simulated modem, Chinese texts."""
    return [
        "[sms]",
        'backend = "modem"',
        f'port = "{port}"',
        'station_phone = "+862066668888"',
        "command_timeout_s = 10.0",
        "retry_base_s = 1.0",
        "",
    ]


def with_phones(lines: list[str]) -> list[str]:
    """``[[people]]`` tables with a made-up mobile number each (+8613900000001, ...)."""
    out: list[str] = []
    in_people = False
    n = 0
    for line in lines:
        out.append(line)
        if line.startswith("["):
            in_people = line == "[[people]]"
        elif in_people and re.fullmatch(r'id = ".+"', line):
            n += 1
            out.append(f'phone = "+86139{n:08d}"')
    return out


async def wait_texts(modem: SimModem, containing: str, count: int,
                     timeout: float = 60.0) -> bool:
    """Whether ``count`` texts mentioning ``containing`` arrived within ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while sum(1 for m in modem.messages if containing in m.text) < count:
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
