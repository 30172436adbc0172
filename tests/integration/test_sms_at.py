"""The AT dialogue against the simulated modem on a pty: set-up, SIM PIN, registration."""

from __future__ import annotations

import asyncio

import pytest

from hw_sim.modem_sim import Behaviour, SimModem
from notify.errors import ModemError
from notify.modem import AtModem
from notify.pdu import encode_submit
from notify.serialio import open_serial


async def _modem(sim: SimModem) -> AtModem:
    modem = AtModem(await open_serial(sim.path), timeout_s=5)
    await modem.start()
    return modem


def test_setup_with_sim_pin_and_smsc() -> None:
    async def main() -> list[str]:
        sim = SimModem(Behaviour(pin="4321"))
        sim.start()
        modem = await _modem(sim)
        try:
            await modem.setup(pin="4321", smsc="+8613800100500")
            [part] = encode_submit("+8613900000001", "hi")
            assert await modem.send_pdu(part.hex, part.tpdu_length) == 0
        finally:
            await modem.close()
            sim.close()
        return sim.stats.commands

    commands = asyncio.run(main())
    assert commands == ["AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", 'AT+CPIN="4321"', "AT+CMGF=0",
                        'AT+CSCA="+8613800100500",145', "AT+CNMI=2,1,0,1,0", "AT+CMGS=17"]


def test_a_sim_asking_for_a_pin_we_lack_is_a_permanent_error() -> None:
    async def main() -> None:
        sim = SimModem(Behaviour(pin="4321"))
        sim.start()
        modem = await _modem(sim)
        try:
            with pytest.raises(ModemError, match="PIN") as err:
                await modem.setup()
            assert err.value.transient is False
        finally:
            await modem.close()
            sim.close()

    asyncio.run(main())


def test_lost_registration_shows_and_sends_fail_transiently() -> None:
    async def main() -> None:
        sim = SimModem(Behaviour(registered=False))
        sim.start()
        modem = await _modem(sim)
        try:
            await modem.setup()
            signal = await modem.signal()
            assert (signal.registered, signal.rssi, signal.dbm) == (False, 99, None)
            assert signal.to_json()["registration"] == "not registered, searching"
            [part] = encode_submit("+8613900000001", "hi")
            with pytest.raises(ModemError, match="331: no network service") as err:
                await modem.send_pdu(part.hex, part.tpdu_length)
            assert err.value.transient is True and err.value.code == 331
            sim.behaviour.registered = True
            assert (await modem.signal()).registered
            assert await modem.send_pdu(part.hex, part.tpdu_length) == 0
        finally:
            await modem.close()
            sim.close()

    asyncio.run(main())
