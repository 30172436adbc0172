"""The station's side against real ``locker witness serve`` processes: cosignatures gathered,
kept and carried (published note, tlog-proof, audit bundle), demanded by ``locker audit
verify --witness/--quorum``; a witness that is down costs nothing and is caught up later;
and attack (a), the operator who rewrites an entry and re-signs the history."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from custody.ledger import Ledger
from custody.ledger.cosign import WitnessKey, check_cosignatures
from custody.ledger.cosigstore import cosigned_note
from custody.ledger.note import Verifier
from custody.ledger.publish import publish_tiles
from custody.ledger.station import init_station
from custody.ledger.store import create_schema
from custody.ledger.tlogproof import verify_tlog_proof
from lockerd.cli import main
from tests.witness_support import WitnessProcess, init_witness_dir, locker_cli
from witness.station import CosignSettings, WitnessSettings, gather, republish

ORIGIN = "test.example/station-c"


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args))
    return code, out.getvalue()


def append(data: Path, bodies: list[dict[str, object]]) -> str:
    with Ledger.open(data) as ledger:
        for body in bodies:
            ledger.append("test.event", body, actor="test")
        return ledger.checkpoint()


class Two:
    """A station and two witnesses (the second not started)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.data = tmp / "station"
        init_station(self.data, ORIGIN)
        vkey = (self.data / "station.vkey").read_text().strip()
        self.k1 = init_witness_dir(tmp / "w1", "district.example/w1", ORIGIN, vkey)
        self.k2 = init_witness_dir(tmp / "w2", "neighbour.example/w2", ORIGIN, vkey)
        self.w1 = WitnessProcess(tmp / "w1").start()
        self.w2 = WitnessProcess(tmp / "w2")  # down until a test starts it
        self.settings = CosignSettings(
            (WitnessSettings(self.w1.url, self.k1), WitnessSettings(self.w2.url, self.k2)),
            alarm_after_seconds=0,
            timeout_seconds=10,
        )

    def stop(self) -> None:
        self.w1.stop()
        self.w2.stop()


@pytest.fixture()
def two(tmp_path: Path) -> Iterator[Two]:
    t = Two(tmp_path)
    try:
        yield t
    finally:
        t.stop()


def test_gather_carry_and_demand_cosignatures(two: Two) -> None:
    data = str(two.data)
    append(two.data, [{"n": i} for i in range(10)])

    # w2 is down: w1 cosigns, w2's failure is reported and blocks nothing
    report = gather(two.data, two.settings)
    assert report.size == 10
    ok = {o.witness: o.ok for o in report.outcomes}
    assert ok == {"district.example/w1": True, "neighbour.example/w2": False}
    assert "unreachable" in report.outcomes[1].detail and report.behind

    assert run("audit", "verify", "--data", data, "--witness", two.k1)[0] == 0
    code, out = run("audit", "verify", "--data", data, "--witness", two.k1, "--witness", two.k2)
    assert code == 1 and "not_cosigned" in out and "neighbour.example/w2" in out
    assert run("audit", "verify", "--data", data, "--witness", two.k1, "--witness", two.k2,
               "--quorum", "1")[0] == 0

    # the log grows, w2 comes up: both caught up (w1 with a proof from 10, w2 from 0)
    latest = append(two.data, [{"n": i} for i in range(10, 20)])
    publish_tiles(two.data)
    assert (two.data / "tiles" / "checkpoint").read_text() == latest  # not cosigned yet
    two.w2.start()
    report = gather(two.data, two.settings)
    assert [o.ok for o in report.outcomes] == [True, True] and not report.behind
    assert report.new_cosignatures
    republish(two.data)
    keys = [WitnessKey.from_vkey(two.k1), WitnessKey.from_vkey(two.k2)]
    published = (two.data / "tiles" / "checkpoint").read_text()
    assert published == cosigned_note(two.data, latest) != latest
    assert sorted(check_cosignatures(published, keys).cosigned) == sorted([two.k1, two.k2])
    assert not gather(two.data, two.settings).new_cosignatures  # nothing more to do
    assert run("audit", "verify", "--data", data, "--witness", two.k1, "--witness", two.k2)[0] == 0

    # the station forgets what it knew of the witnesses: their 409 size hints lead it back
    (two.data / "cosignatures.db").unlink()
    latest = append(two.data, [{"n": 20}])
    report = gather(two.data, two.settings)
    assert [o.ok for o in report.outcomes] == [True, True]

    # a tlog-proof carries the cosignatures, and still verifies
    proof = locker_cli("audit", "proof", "--data", data, "--seq", "3")
    station = Verifier.from_vkey((two.data / "station.vkey").read_text())
    _p, cp = verify_tlog_proof(proof, [station], ORIGIN)
    assert cp.size == 21
    note = proof.split("\n\n", 1)[1]
    assert len(check_cosignatures(note, keys).cosigned) == 2

    # an audit bundle carries them; the auditor's kept checkpoint too
    assert run("audit", "export", "--data", data, "--out", str(two.tmp / "b.tar.gz"))[0] == 0
    kept = two.tmp / "kept.cp"
    kept.write_text(cosigned_note(two.data, latest))
    for where in (["--bundle", str(two.tmp / "b.tar.gz")], ["--data", data]):
        code, out = run("audit", "verify", *where, "--checkpoint", str(kept),
                        "--witness", two.k1, "--witness", two.k2, "--json")
        assert code == 0, out
        assert json.loads(out)["ok"] is True

    # an auditor checkpoint without cosignatures fails the demand
    bare = two.tmp / "bare.cp"
    bare.write_text(latest)
    code, out = run("audit", "verify", "--data", data, "--checkpoint", str(bare),
                    "--witness", two.k1, "--json")
    assert code == 1
    assert json.loads(out)["first_failure"]["class"] == "not_cosigned"


def _rewrite_history(data: Path, bodies: list[dict[str, object]]) -> str:
    """The operator's attack: a new ledger under the station's own key, every entry
    re-appended with one changed, and the checkpoints signed again."""
    (data / "ledger.db").rename(data / "ledger.db.orig")
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            (data / f"ledger.db{suffix}").unlink()
    create_schema(data / "ledger.db", ORIGIN)
    return append(data, bodies)


def test_attack_a_rewritten_history_is_refused_and_fails_verification(two: Two) -> None:
    data = str(two.data)
    bodies: list[dict[str, object]] = [{"item": f"EV-{i}"} for i in range(12)]
    honest = append(two.data, bodies)
    assert gather(two.data, two.settings).outcomes[0].ok
    kept = two.tmp / "auditor.cp"
    kept.write_text(cosigned_note(two.data, honest))
    untouched = two.tmp / "untouched"
    shutil.copytree(two.data, untouched)

    # entry 3 rewritten, the same size re-signed with the station's key
    bodies[3] = {"item": "EV-SWAPPED"}
    forged = _rewrite_history(two.data, bodies)
    assert forged.split("\n")[:2] == honest.split("\n")[:2]  # same origin and size
    assert forged != honest
    report = gather(two.data, two.settings)
    w1 = report.outcomes[0]
    assert not w1.ok and "409" in w1.detail  # same size, another root

    status = json.loads(locker_cli("witness", "status", "--data", str(two.tmp / "w1"), "--json"))
    assert status["logs"][0]["cosigned_size"] == 12  # it still vouches for the honest tree
    assert [r["status"] for r in status["refused"]] == [409]
    assert status["refused"][0]["note"] == forged  # kept: the evidence of the fork

    # the rewritten copy fails verification with the witness, with or without its old lines
    code, out = run("audit", "verify", "--data", data, "--witness", two.k1, "--json")
    assert code == 1
    classes = {f["class"] for f in json.loads(out)["failures"]}
    assert {"bad_cosignature", "not_cosigned"} <= classes
    (two.data / "cosignatures.db").unlink()
    assert run("audit", "verify", "--data", data, "--witness", two.k1)[0] == 1
    code, out = run("audit", "verify", "--data", data, "--checkpoint", str(kept),
                    "--witness", two.k1, "--json")
    assert code == 1
    # (without --witness the rewrite passes on its own: only the kept checkpoint or a
    # witness can tell, which is why witnesses exist)
    assert run("audit", "verify", "--data", data)[0] == 0
    # the honest copy passes everything
    assert run("audit", "verify", "--data", str(untouched), "--checkpoint", str(kept),
               "--witness", two.k1)[0] == 0

    # the rewritten log grows: the witness refuses the proof from the size it holds (422)
    append(two.data, [{"item": "EV-12"}, {"item": "EV-13"}])
    report = gather(two.data, two.settings)
    assert not report.outcomes[0].ok and "422" in report.outcomes[0].detail


def test_locker_log_publish_gathers_and_skips_a_down_witness(two: Two) -> None:
    data = str(two.data)
    cfg = two.data / "config.toml"
    cfg.write_text(
        cfg.read_text()
        + f'\n[[witness]]\nurl = "{two.w1.url}"\nkey = "{two.k1}"\n'
        + f'\n[[witness]]\nurl = "{two.w2.url}"\nkey = "{two.k2}"\n'
        + "\n[witnessing]\ntimeout_seconds = 5\n"
    )
    append(two.data, [{"n": i} for i in range(300)])
    out = locker_cli("log", "publish", "--data", data)
    assert "witness district.example/w1: size 300 cosigned" in out
    assert "witness neighbour.example/w2: size 300 NOT cosigned" in out and "unreachable" in out
    keys = [WitnessKey.from_vkey(two.k1), WitnessKey.from_vkey(two.k2)]
    published = (two.data / "tiles" / "checkpoint").read_text()
    assert list(check_cosignatures(published, keys).cosigned) == [two.k1]

    two.w2.start()
    out = locker_cli("log", "publish", "--data", data)
    assert "witness neighbour.example/w2: size 300 cosigned" in out
    published = (two.data / "tiles" / "checkpoint").read_text()
    assert len(check_cosignatures(published, keys).cosigned) == 2


def test_a_rolled_back_log_raises_an_alarm_at_once(two: Two) -> None:
    bodies: list[dict[str, object]] = [{"item": f"EV-{i}"} for i in range(12)]
    append(two.data, bodies)
    assert gather(two.data, two.settings).outcomes[0].ok
    short = _rewrite_history(two.data, bodies[:8])  # history cut back to 8 and re-signed
    assert short.split("\n")[1] == "8"
    report = gather(two.data, two.settings)  # (alarm_after_seconds = 0: no stall alarms)
    assert not report.outcomes[0].ok and "rolled back" in report.outcomes[0].detail
    [alarm] = report.alarms
    assert alarm.body["witness"] == "district.example/w1"
    assert "above this station's latest checkpoint 8" in alarm.body["detail"]
