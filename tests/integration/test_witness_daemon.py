"""The daemon's cosign task against a real ``locker witness serve`` process: a witness that
is down blocks nothing, raises ``alarm.checkpoint_uncosigned`` once its checkpoint has
waited too long, and is caught up (and the published checkpoint cosigned) once it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from custody.ledger import Ledger
from custody.ledger.cosign import WitnessKey, check_cosignatures
from custody.ledger.cosigstore import cosigned_note
from custody.ledger.publish import publish_tiles
from custody.ledger.station import init_station
from lockerd.config import load_config
from lockerd.daemon import Daemon
from tests.witness_support import WitnessProcess, free_port, init_witness_dir
from witness.station import ALARM_UNCOSIGNED

ORIGIN = "test.example/station-d"
WAIT_S = 30.0


async def until(what: str, done: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def kinds(data: Path) -> list[str]:
    with Ledger.open(data, readonly=True) as ledger:
        return [e.body["kind"] for e in ledger.entries()]


def test_daemon_goes_on_without_its_witness_and_catches_it_up(tmp_path: Path) -> None:
    data = tmp_path / "station"
    init_station(data, ORIGIN)
    vkey = (data / "station.vkey").read_text().strip()
    wkey = init_witness_dir(tmp_path / "w", "district.example/w1", ORIGIN, vkey)
    witness = WitnessProcess(tmp_path / "w", free_port())  # not started: it is down
    cfg = data / "config.toml"
    cfg.write_text(
        cfg.read_text().replace("checkpoint_every_entries = 100", "checkpoint_every_entries = 5")
        + "\n[[witness]]\n"
        f'url = "{witness.url}"\nkey = "{wkey}"\n'
        "\n[witnessing]\nalarm_after_seconds = 1\nretry_seconds = 1\ntimeout_seconds = 2\n"
    )
    publish_tiles(data)  # the station publishes tiles: the cosigned checkpoint goes there

    async def scenario() -> None:
        daemon = Daemon(load_config(cfg), cabinets=[], api=False)
        await daemon.start()
        try:
            rt = daemon.rt
            # the witness is down: appends and checkpoints go on, promptly
            started = time.monotonic()
            for i in range(10):
                await rt.record("test.event", {"n": i})
            assert time.monotonic() - started < 10  # no witness timeout on the write path
            await until("the uncosigned alarm", lambda: ALARM_UNCOSIGNED in kinds(data))
            rounds = daemon.cosign.rounds
            await until("two more rounds", lambda: daemon.cosign.rounds >= rounds + 2)
            assert kinds(data).count(ALARM_UNCOSIGNED) == 1  # once per stall, not per round
            with Ledger.open(data, readonly=True) as ledger:
                alarm = next(e for e in ledger.entries() if e.body["kind"] == ALARM_UNCOSIGNED)
            assert alarm.body["witness"] == "district.example/w1"
            assert "unreachable" in alarm.body["detail"]
            assert daemon.cosign.last is not None and daemon.cosign.last.behind

            # it comes back: the daemon catches it up on its own, and republishes
            witness.start()
            key = WitnessKey.from_vkey(wkey)

            def cosigned_latest() -> bool:
                with Ledger.open(data, readonly=True) as ledger:
                    note = ledger.latest_checkpoint()
                assert note is not None
                return bool(check_cosignatures(cosigned_note(data, note), [key]).cosigned)

            await until("the witness caught up", cosigned_latest)
            published = data / "tiles" / "checkpoint"
            await until("the cosigned checkpoint published", lambda: published.exists() and bool(
                check_cosignatures(published.read_text(), [key]).cosigned))

            # later checkpoints are cosigned too, from the size it cosigned
            await rt.record("test.event", {"n": 99})
            await rt.call(rt.ledger.checkpoint)
            daemon.cosign.wake()
            await until("the next checkpoint cosigned", cosigned_latest)
        finally:
            await daemon.stop()
            witness.stop()

    asyncio.run(scenario())
