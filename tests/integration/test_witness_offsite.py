"""Cosignatures leave the station with its log: a cosigned checkpoint is published at
``/log/checkpoint``, pulled by ``locker mirror``, brought back by ``locker restore``, and the
restored station passes ``locker audit verify --witness`` (real processes throughout)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from custody.ledger.cosign import WitnessKey, check_cosignatures
from tests.integration.offsite_support import (
    locker_api,
    make_offsite_station,
    mirror_args,
    run_locker,
)
from tests.witness_support import WitnessProcess, init_witness_dir
from witness.station import CosignSettings, WitnessSettings, gather, republish


def test_cosignatures_survive_mirror_and_restore(tmp_path: Path) -> None:
    station = make_offsite_station(tmp_path, extra=300)
    station.st.close()
    data = station.data
    vkey = (data / "station.vkey").read_text().strip()
    origin = vkey.split("+", 1)[0]
    wkey = init_witness_dir(tmp_path / "w", "district.example/w1", origin, vkey)
    witness = WitnessProcess(tmp_path / "w").start()
    try:
        report = gather(data, CosignSettings((WitnessSettings(witness.url, wkey),)))
        assert report.new_cosignatures
        republish(data)
    finally:
        witness.stop()
    key = WitnessKey.from_vkey(wkey)
    kept = tmp_path / "kept.txt"  # the auditor keeps the cosigned published checkpoint
    kept.write_text((data / "tiles" / "checkpoint").read_text())
    assert check_cosignatures(kept.read_text(), [key]).cosigned

    mdir = tmp_path / "mirror"
    with locker_api(data) as url:
        done = run_locker(*mirror_args(url, mdir, station.mirror_token, "--key", vkey))
    assert done.returncode == 0, done.stderr
    shutil.rmtree(data)  # the disk dies
    new = tmp_path / "restored"
    done = run_locker("restore", "--from", str(mdir), "--data", str(new))
    assert done.returncode == 0, done.stderr

    verified = run_locker("audit", "verify", "--data", str(new), "--checkpoint", str(kept),
                          "--witness", wkey, "--json")
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["ok"] is True
    # a witness the station never had is not satisfied by it
    other = init_witness_dir(tmp_path / "w9", "other.example/w9", origin, vkey)
    verified = run_locker("audit", "verify", "--data", str(new), "--witness", other, "--json")
    assert verified.returncode == 1
    assert json.loads(verified.stdout)["first_failure"]["class"] == "not_cosigned"
