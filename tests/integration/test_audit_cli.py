"""``locker init`` and ``locker audit ...``: outputs, proofs that verify, and exit codes
(0 intact, 1 tampered, 2 usage)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from custody.ledger import merkle
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.note import Verifier, generate_signer, open_note
from custody.ledger.tlogproof import verify_tlog_proof
from lockerd.cli import main
from tests.ledger_support import ORIGIN, make_station, raw_sql

ROOT = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def station(tmp_path: Path) -> Path:
    return make_station(tmp_path, 30, every_n=10, every_s=0, photo=True)


def test_init_then_refuse_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "new"
    code, out, _ = run(capsys, "init", "--data", str(data), "--origin", "locker.example/st-3")
    assert code == 0 and "locker.example/st-3+" in out
    assert (data / "ledger.db").is_file() and (data / "station.key").stat().st_mode & 0o777 == 0o600
    code, _, err = run(capsys, "init", "--data", str(data))
    assert code == 2 and "refusing to overwrite" in err
    code, _, err = run(capsys, "init", "--data", str(tmp_path / "x"), "--origin", "a b")
    assert code == 2 and "origin" in err


def test_verify_intact_and_tampered(station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "audit", "verify", "--data", str(station))
    assert code == 0 and out.startswith("OK: 30 entries")
    code, out, _ = run(capsys, "audit", "verify", "--data", str(station), "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True and report["size"] == 30
    assert report["photos_checked"] == 1 and report["first_failure"] is None

    raw_sql(
        station,
        "UPDATE entries SET raw = CAST(replace(raw, 'A-03', 'B-03') AS BLOB) WHERE seq = 12",
    )
    code, out, _ = run(capsys, "audit", "verify", "--data", str(station))
    assert code == 1 and "leaf_mismatch at seq 12" in out
    code, out, _ = run(capsys, "audit", "verify", "--data", str(station), "--json")
    first = json.loads(out)["first_failure"]
    assert code == 1 and (first["class"], first["seq"]) == ("leaf_mismatch", 12)


def test_reference_verifier_gives_the_same_verdicts(
    station: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from custody.ledger import accel

    monkeypatch.setattr(accel, "NATIVE", accel.BUILT)
    fast = run(capsys, "audit", "verify", "--data", str(station), "--json")
    slow = run(capsys, "audit", "verify", "--data", str(station), "--json", "--reference")
    assert accel.NATIVE is None  # --reference switched the accelerator off
    assert fast == slow and fast[0] == 0
    raw_sql(
        station,
        """UPDATE entries SET raw = CAST(replace(raw, ',"v":1}', ', "v":1}') AS BLOB)
        WHERE seq = 5""",
    )
    slow = run(capsys, "audit", "verify", "--data", str(station), "--json", "--reference")
    monkeypatch.setattr(accel, "NATIVE", accel.BUILT)
    fast = run(capsys, "audit", "verify", "--data", str(station), "--json")
    assert fast == slow and fast[0] == 1
    first = json.loads(fast[1])["first_failure"]
    assert (first["class"], first["seq"]) == ("non_canonical", 5)


def test_auditor_checkpoint_catches_truncation(
    station: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, note, _ = run(capsys, "audit", "checkpoint", "--data", str(station))
    assert code == 0
    kept = tmp_path / "kept.note"
    kept.write_text(note)
    raw_sql(
        station,
        "DELETE FROM entries WHERE seq >= 25",
        "DELETE FROM nodes WHERE (idx + 1) * (1 << level) > 25",
        "DELETE FROM checkpoints WHERE size > 25",
    )
    assert run(capsys, "audit", "verify", "--data", str(station))[0] == 0
    code, out, _ = run(
        capsys, "audit", "verify", "--data", str(station), "--checkpoint", str(kept), "--json"
    )
    first = json.loads(out)["first_failure"]
    assert code == 1 and (first["class"], first["seq"]) == ("truncated", 25)


def test_usage_errors_exit_2(
    station: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "audit", "verify")[0] == 2
    assert run(capsys, "audit", "verify", "--data", str(station), "--bundle", "x")[0] == 2
    assert run(capsys, "audit", "verify", "--data", str(tmp_path / "nowhere"))[0] == 2
    assert run(capsys, "audit", "verify", "--bundle", str(tmp_path / "nowhere.tgz"))[0] == 2
    missing = str(tmp_path / "missing.note")
    assert run(capsys, "audit", "verify", "--data", str(station), "--checkpoint", missing)[0] == 2
    assert run(capsys, "audit", "verify", "--data", str(station), "--key", "garbage+1+x")[0] == 2
    assert run(capsys, "audit", "verify", "--data", str(station), "--bogus")[0] == 2
    assert run(capsys, "audit", "proof", "--data", str(station), "--seq", "30")[0] == 2
    assert run(capsys, "audit", "consistency", "--data", str(station), "--old", "0")[0] == 2
    assert (
        run(capsys, "audit", "consistency", "--data", str(station), "--old", "5", "--new", "31")[0]
        == 2
    )


def test_key_checkpoint_proof_and_consistency(
    station: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, vkey, _ = run(capsys, "audit", "key", "--data", str(station))
    assert code == 0 and vkey.startswith(ORIGIN + "+")
    verifier = Verifier.from_vkey(vkey)
    code, note, _ = run(capsys, "audit", "checkpoint", "--data", str(station))
    cp = Checkpoint.parse(open_note(note, [verifier]))
    assert code == 0 and cp.size == 30

    code, proof_text, _ = run(capsys, "audit", "proof", "--data", str(station), "--seq", "17")
    assert code == 0
    proof, pcp = verify_tlog_proof(proof_text, [verifier], ORIGIN)
    assert proof.index == 17 and json.loads(proof.extra or b"")["seq"] == 17

    code, out, _ = run(capsys, "audit", "consistency", "--data", str(station), "--old", "10")
    c = json.loads(out)
    assert code == 0 and (c["old_size"], c["new_size"]) == (10, 30)
    merkle.verify_consistency(
        10,
        30,
        base64.b64decode(c["old_root"]),
        base64.b64decode(c["new_root"]),
        [base64.b64decode(h) for h in c["proof"]],
    )
    assert base64.b64decode(c["new_root"]) == pcp.root == cp.root


def test_export_and_verify_bundles(
    station: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("bundle", "bundle.tar.gz"):
        out = tmp_path / name
        code, text, _ = run(capsys, "audit", "export", "--data", str(station), "--out", str(out))
        assert code == 0 and "30 entries" in text and "1 photos" in text
        code, text, _ = run(capsys, "audit", "verify", "--bundle", str(out), "--json")
        report = json.loads(text)
        assert code == 0 and report["ok"] and report["photos_checked"] == 1
    assert run(capsys, "audit", "export", "--data", str(station), "--out", str(out))[0] == 2

    # an auditor who trusts another key rejects the bundle
    _, other = generate_signer(ORIGIN)
    code, text, _ = run(
        capsys, "audit", "verify", "--bundle", str(tmp_path / "bundle"), "--key", other, "--json"
    )
    assert code == 1 and json.loads(text)["first_failure"]["class"] == "unknown_key"

    # one entry line edited inside the bundle
    forged = tmp_path / "forged"
    shutil.copytree(tmp_path / "bundle", forged)
    lines = (forged / "entries.jsonl").read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b"EV-2026-0004", b"EV-2026-4444")
    (forged / "entries.jsonl").write_bytes(b"\n".join(lines))
    code, text, _ = run(capsys, "audit", "verify", "--bundle", str(forged), "--json")
    first = json.loads(text)["first_failure"]
    assert code == 1 and (first["class"], first["seq"]) == ("prev_mismatch", 5)

    # a photo replaced inside the bundle
    forged2 = tmp_path / "forged2"
    shutil.copytree(tmp_path / "bundle", forged2)
    photo = next(p for p in (forged2 / "photos").rglob("*") if p.is_file())
    photo.write_bytes(b"another picture")
    code, text, _ = run(capsys, "audit", "verify", "--bundle", str(forged2), "--json")
    first = json.loads(text)["first_failure"]
    assert code == 1 and (first["class"], first["seq"]) == ("photo_mismatch", 0)


def test_exit_codes_of_the_real_command(station: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def locker(*args: str) -> int:
        done = subprocess.run(
            [sys.executable, "-m", "lockerd.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        return done.returncode

    assert locker("audit", "verify", "--data", str(station)) == 0
    raw_sql(station, "DELETE FROM entries WHERE seq = 3")
    assert locker("audit", "verify", "--data", str(station)) == 1
