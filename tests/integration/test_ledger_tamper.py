"""Every tampering the issue names is caught with the right seq and failure class."""

from __future__ import annotations

import base64
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger import Ledger
from custody.ledger.station import init_station
from custody.ledger.verify import VerifyReport, verify_data_dir
from tests.ledger_support import ORIGIN, ledger_clock, make_station, put_photo, raw_sql

N = 20

# every tampering is caught the same way with and without the C accelerator
pytestmark = pytest.mark.usefixtures("ledger_code_path")


def _station(tmp: Path, **kw: object) -> Path:
    data = make_station(tmp, N, every_n=10, every_s=0, **kw)  # type: ignore[arg-type]
    return data


def _first(report: VerifyReport) -> tuple[str, int | None]:
    assert not report.ok, "verification passed a tampered ledger"
    assert report.first is not None
    return report.first.code, report.first.seq


def _save_checkpoint(data: Path, path: Path) -> Path:
    with Ledger.open(data) as ledger:
        path.write_text(ledger.checkpoint())
    return path


def _cut_tail(data: Path, keep: int) -> None:
    raw_sql(
        data,
        f"DELETE FROM entries WHERE seq >= {keep}",
        f"DELETE FROM nodes WHERE (idx + 1) * (1 << level) > {keep}",
        f"DELETE FROM checkpoints WHERE size > {keep}",
    )


def test_intact_ledger_verifies(tmp_path: Path) -> None:
    data = _station(tmp_path, photo=True)
    report = verify_data_dir(data)
    assert report.ok, report.failures
    assert (report.size, report.checkpoints, report.photos_checked) == (N, 2, 1)


def test_entry_bytes_changed(tmp_path: Path) -> None:
    data = _station(tmp_path)
    raw_sql(
        data, "UPDATE entries SET raw = CAST(replace(raw, 'EV-2026-0007', 'EV-2026-9999') AS BLOB)"
    )
    assert _first(verify_data_dir(data)) == ("leaf_mismatch", 7)


def test_entry_bytes_and_stored_leaf_changed(tmp_path: Path) -> None:
    data = _station(tmp_path)
    conn = sqlite3.connect(data / "ledger.db")
    raw = conn.execute("SELECT raw FROM entries WHERE seq = 7").fetchone()[0]
    conn.close()
    forged = raw.replace(b"EV-2026-0007", b"EV-2026-9999")
    import hashlib

    leaf = hashlib.sha256(b"\x00" + forged).digest()
    raw_sql(data, "UPDATE entries SET raw = ?, leaf = ? WHERE seq = 7", params=(forged, leaf))
    report = verify_data_dir(data)
    # the chain breaks at the next entry, whose prev commits to the original entry 7
    assert _first(report) == ("prev_mismatch", 8)
    assert "entry 7" in report.failures[0].message


def test_entry_deleted(tmp_path: Path) -> None:
    data = _station(tmp_path)
    raw_sql(data, "DELETE FROM entries WHERE seq = 5")
    assert _first(verify_data_dir(data)) == ("seq_mismatch", 5)


def test_two_entries_swapped(tmp_path: Path) -> None:
    data = _station(tmp_path)
    raw_sql(
        data,
        "UPDATE entries SET seq = -1 WHERE seq = 4",
        "UPDATE entries SET seq = 4 WHERE seq = 5",
        "UPDATE entries SET seq = 5 WHERE seq = -1",
    )
    assert _first(verify_data_dir(data)) == ("seq_mismatch", 4)


def test_tail_cut_off_is_caught_by_an_earlier_checkpoint(tmp_path: Path) -> None:
    data = _station(tmp_path)
    cp = _save_checkpoint(data, tmp_path / "auditor.note")
    _cut_tail(data, 15)
    assert verify_data_dir(data).ok  # consistent in itself: only the auditor's copy shows it
    assert _first(verify_data_dir(data, checkpoints=[cp])) == ("truncated", 15)


def test_rebuilt_log_signed_with_a_new_key(tmp_path: Path) -> None:
    data = _station(tmp_path)
    cp = _save_checkpoint(data, tmp_path / "auditor.note")
    old_vkey = (data / "station.vkey").read_text()
    # The attacker rebuilds the whole history with entry 7 changed, under a new key.
    forged = tmp_path / "forged"
    init_station(forged, ORIGIN)
    with Ledger.open(data, readonly=True) as old, Ledger.open(forged, clock=ledger_clock()) as new:
        for e in old.entries():
            fields = e.fields()
            if e.seq == 7:
                fields["item"] = "EV-2026-9999"
            new.append(e.kind, fields, actor=e.actor)
        new.checkpoint()
    shutil.rmtree(data)
    shutil.copytree(forged, data)
    assert verify_data_dir(data).ok  # self-consistent under its own (new) key
    assert _first(verify_data_dir(data, checkpoints=[cp])) == ("unknown_key", N - 1)
    # and with the auditor's own copy of the key, every stored checkpoint is foreign
    assert _first(verify_data_dir(data, key=old_vkey))[0] == "unknown_key"


def test_fork_signed_with_the_station_key(tmp_path: Path) -> None:
    data = _station(tmp_path)
    cp = _save_checkpoint(data, tmp_path / "auditor.note")
    # Roll back to 12 entries (keeping the stored checkpoints) and write another history.
    raw_sql(
        data,
        "DELETE FROM entries WHERE seq >= 12",
        "DELETE FROM nodes WHERE (idx + 1) * (1 << level) > 12",
    )
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        for i in range(10):
            ledger.append("item.checked_out", {"item": f"OTHER-{i}"}, actor="clerk:zhao")
        ledger.checkpoint()
    # the old signed checkpoint at 20 and the new ones cannot both be true
    assert _first(verify_data_dir(data)) == ("inconsistent_checkpoints", N - 1)
    assert _first(verify_data_dir(data, checkpoints=[cp])) == ("inconsistent_checkpoints", N - 1)


def test_fork_caught_only_by_the_auditors_checkpoint(tmp_path: Path) -> None:
    data = _station(tmp_path)
    cp = _save_checkpoint(data, tmp_path / "auditor.note")
    _cut_tail(data, 12)
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        for i in range(10):
            ledger.append("item.checked_out", {"item": f"OTHER-{i}"}, actor="clerk:zhao")
        ledger.checkpoint()
    assert verify_data_dir(data).ok
    assert _first(verify_data_dir(data, checkpoints=[cp])) == ("inconsistent_checkpoints", N - 1)


def test_photo_replaced_or_missing(tmp_path: Path) -> None:
    data = _station(tmp_path, photo=True)
    photo = next(p for p in (data / "photos").rglob("*") if p.is_file() and len(p.name) == 64)
    photo.write_bytes(b"a different picture")
    report = verify_data_dir(data)
    assert _first(report) == ("photo_mismatch", 0)
    photo.unlink()
    assert _first(verify_data_dir(data)) == ("photo_missing", 0)


def test_photo_reference_changed_to_another_stored_photo(tmp_path: Path) -> None:
    data = _station(tmp_path, photo=True)
    other = put_photo(data, b"another photo, also in the store")
    conn = sqlite3.connect(data / "ledger.db")
    sha = conn.execute("SELECT raw FROM entries WHERE seq = 3").fetchone()[0]
    conn.close()
    assert b'"sha256"' in sha
    raw_sql(
        data,
        'UPDATE entries SET raw = replace(raw, (SELECT substr(raw, instr(raw, \'"sha256":"\') '
        f"+ 10, 64) FROM entries WHERE seq = 3), '{other['sha256']}') WHERE seq = 3",
    )
    code, seq = _first(verify_data_dir(data))
    assert seq == 3 and code in ("photo_mismatch", "leaf_mismatch")


@pytest.mark.parametrize("what", ["signature", "root"])
def test_checkpoint_with_a_bad_signature(tmp_path: Path, what: str) -> None:
    data = _station(tmp_path)
    conn = sqlite3.connect(data / "ledger.db")
    note = conn.execute("SELECT note FROM checkpoints WHERE size = 10").fetchone()[0]
    conn.close()
    body, sig = note.split("\n\n")
    if what == "signature":
        name, b64 = sig.rstrip("\n").rsplit(" ", 1)
        blob = bytearray(base64.b64decode(b64))
        blob[10] ^= 1
        bad = f"{body}\n\n{name} {base64.b64encode(bytes(blob)).decode()}\n"
    else:
        lines = body.split("\n")
        lines[2] = base64.b64encode(bytes(32)).decode()
        bad = "\n".join(lines) + "\n\n" + sig
    raw_sql(data, "UPDATE checkpoints SET note = ? WHERE size = 10", params=(bad,))
    assert _first(verify_data_dir(data)) == ("bad_signature", 9)


def test_tree_state_tampered(tmp_path: Path) -> None:
    data = _station(tmp_path)
    raw_sql(data, "UPDATE nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 0")
    assert _first(verify_data_dir(data)) == ("tree_state_mismatch", N - 1)


def test_parallel_chunks_agree_and_catch_boundary_tampering(tmp_path: Path) -> None:
    data = make_station(tmp_path, 70, every_n=9, every_s=0)
    serial = verify_data_dir(data)
    parallel = verify_data_dir(data, chunk=8, workers=2)
    assert serial.ok and parallel.ok and serial.root == parallel.root
    assert parallel.checkpoints == 7
    raw_sql(
        data, "UPDATE entries SET raw = CAST(replace(raw, 'EV-2026-0031', 'EV-2026-003X') AS BLOB)"
    )
    assert _first(verify_data_dir(data, chunk=8, workers=2)) == ("leaf_mismatch", 31)
    raw_sql(
        data, "UPDATE entries SET leaf = (SELECT leaf FROM entries WHERE seq = 0) WHERE seq = 31"
    )
    # entry 31's bytes are still forged; its row is the last of a chunk of 8
    assert _first(verify_data_dir(data, chunk=8, workers=2))[1] == 31


# --------------------------------------------------------------------------- any flipped byte


@pytest.fixture(scope="module")
def pristine() -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="ledger-flip-"))
    make_station(tmp, 12, every_n=5, every_s=0)
    return tmp / "station"


@settings(max_examples=40, deadline=None)
@given(seq=st.integers(0, 11), pos=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_any_flipped_byte_fails_verification(pristine: Path, seq: int, pos: int, bit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "station"
        shutil.copytree(pristine, data)
        conn = sqlite3.connect(data / "ledger.db")
        raw = bytearray(conn.execute("SELECT raw FROM entries WHERE seq = ?", (seq,)).fetchone()[0])
        conn.close()
        raw[pos % len(raw)] ^= 1 << bit
        raw_sql(data, "UPDATE entries SET raw = ? WHERE seq = ?", params=(bytes(raw), seq))
        report = verify_data_dir(data)
        assert not report.ok
        assert report.first is not None and report.first.seq == seq


def test_float_smuggled_into_the_newest_entry(tmp_path: Path) -> None:
    # no successor and no checkpoint covers it: only the value rules can catch this one
    data = make_station(tmp_path, 3, every_n=0, every_s=0)
    conn = sqlite3.connect(data / "ledger.db")
    raw = conn.execute("SELECT raw FROM entries WHERE seq = 2").fetchone()[0]
    conn.close()
    forged = raw.replace(b'"compartment":"A-03"', b'"compartment":1.5')
    assert forged != raw
    import hashlib

    leaf = hashlib.sha256(b"\x00" + forged).digest()
    raw_sql(data, "UPDATE entries SET raw = ?, leaf = ? WHERE seq = 2", params=(forged, leaf))
    assert _first(verify_data_dir(data)) == ("non_canonical", 2)


def test_garbage_in_the_tables_is_reported_not_crashed_on(tmp_path: Path) -> None:
    data = _station(tmp_path)
    raw_sql(data, "UPDATE checkpoints SET note = 42, root = 'x' WHERE size = 10")
    assert _first(verify_data_dir(data))[0] == "bad_checkpoint"
    raw_sql(data, "UPDATE entries SET raw = 'not json' WHERE seq = 4")
    assert _first(verify_data_dir(data)) == ("non_canonical", 4)


def test_an_unreadable_database_is_a_ledger_error(tmp_path: Path) -> None:
    from custody.ledger.errors import LedgerCorruptError

    data = _station(tmp_path)
    for extra in ("ledger.db-wal", "ledger.db-shm"):
        (data / extra).unlink(missing_ok=True)
    (data / "ledger.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerCorruptError, match="unreadable"):
        verify_data_dir(data)


def test_nested_photo_references_are_checked(tmp_path: Path) -> None:
    data = make_station(tmp_path, 2)
    ref = put_photo(data, b"a photo deep inside an entry")
    with Ledger.open(data) as ledger:
        ledger.append(
            "handover.checked",
            {"evidence": {"shots": [ref], "algo": "sha256"}, "photos": []},
            actor="clerk:wang",
        )
        ledger.checkpoint()
    assert verify_data_dir(data).ok
    sha = str(ref["sha256"])
    (data / "photos" / sha[:2] / sha).write_bytes(b"swapped")
    assert _first(verify_data_dir(data)) == ("photo_mismatch", 2)
