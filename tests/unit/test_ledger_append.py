"""The Ledger API: entries, refusals, checkpoints, proofs, locks, triggers, reopening."""

from __future__ import annotations

import base64
import hashlib
import os
import pickle
import sqlite3
import stat
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from custody.ledger import Entry, Ledger, canonical, merkle
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.errors import (
    InvalidEntryError,
    LedgerLockedError,
    LedgerReadOnlyError,
    NoSuchEntryError,
    ReservedKeyError,
    StationExistsError,
)
from custody.ledger.note import Verifier, open_note
from custody.ledger.station import init_station
from custody.ledger.tlogproof import verify_tlog_proof
from custody.ledger.verify import verify_data_dir
from tests.ledger_support import ORIGIN, ledger_clock, make_station


def test_entry_fields_chain_and_timestamp(tmp_path: Path) -> None:
    data = make_station(tmp_path)
    clock = ledger_clock()
    with Ledger.open(data, clock=clock) as ledger:
        e0 = ledger.append("case.registered", {"case": "A-1", "n": 3}, actor="officer:li")
        clock.advance(1.5)
        e1 = ledger.append("item.checked_in", {"item": "EV-1", "tags": ["x"]}, actor="clerk:wang")
        assert (e0.seq, e1.seq, ledger.size) == (0, 1, 2)
        assert e0.body == {
            "v": 1,
            "seq": 0,
            "prev": base64.b64encode(bytes(32)).decode(),
            "ts": "2026-11-28T01:02:03.456Z",
            "kind": "case.registered",
            "actor": "officer:li",
            "case": "A-1",
            "n": 3,
        }
        assert e1.ts == "2026-11-28T01:02:04.956Z"
        assert e1.prev == base64.b64encode(e0.leaf_hash).decode()
        assert e1.leaf_hash == hashlib.sha256(b"\x00" + e1.raw).digest()
        assert e1.fields() == {"item": "EV-1", "tags": ["x"]}
        assert ledger.entry(1) == e1
        assert [e.seq for e in ledger.entries()] == [0, 1]
        assert [e.seq for e in ledger.entries(1)] == [1]


@pytest.mark.parametrize(
    "body, error",
    [
        ({"seq": 5}, ReservedKeyError),
        ({"prev": "x"}, ReservedKeyError),
        ({"weight": 1.5}, InvalidEntryError),
        ({"n": 2**53}, InvalidEntryError),
        ({"n": -(2**60)}, InvalidEntryError),
        ({"nested": {1: "a"}}, InvalidEntryError),
        ({"when": object()}, InvalidEntryError),
    ],
)
def test_bad_bodies_are_refused_and_nothing_is_written(
    tmp_path: Path, body: dict[str, object], error: type[Exception]
) -> None:
    data = make_station(tmp_path, 2)
    with Ledger.open(data) as ledger:
        root = ledger.root()
        with pytest.raises(error):
            ledger.append("x", body, actor="a")
        with pytest.raises(error):
            ledger.append_many([("x", {"ok": 1}, "a"), ("x", body, "a")])
        assert ledger.size == 2 and ledger.root() == root
        assert ledger.append("x", {"ok": 1}, actor="a").seq == 2
    with pytest.raises(InvalidEntryError), Ledger.open(data) as ledger:
        ledger.append("", {}, actor="a")


def test_append_many_is_one_batch_and_auto_checkpoints_by_count(tmp_path: Path) -> None:
    data = make_station(tmp_path, every_n=10, every_s=0)
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        for _ in range(9):
            ledger.append("x", {}, actor="a")
        assert ledger.latest_checkpoint() is None
        ledger.append("x", {}, actor="a")
        assert [c.size for c in ledger.checkpoints()] == [10]
        entries = ledger.append_many([("y", {"i": i}, "b") for i in range(25)])
        assert [e.seq for e in entries] == list(range(10, 35))
        # one checkpoint at the end of the batch covers the multiples it crossed
        assert [c.size for c in ledger.checkpoints()] == [10, 35]
        assert ledger.maybe_checkpoint() is None


def test_auto_checkpoint_by_time_and_timer(tmp_path: Path) -> None:
    data = make_station(tmp_path, every_n=0, every_s=60)
    clock = ledger_clock()
    with Ledger.open(data, clock=clock) as ledger:
        ledger.append("x", {}, actor="a")
        assert ledger.maybe_checkpoint() is None
        clock.advance(61)
        ledger.append("x", {}, actor="a")  # due: signed with this append
        assert [c.size for c in ledger.checkpoints()] == [2]
        ledger.append("x", {}, actor="a")
        clock.advance(30)
        assert ledger.maybe_checkpoint() is None
        clock.advance(31)
        note = ledger.maybe_checkpoint()
        assert note is not None and [c.size for c in ledger.checkpoints()] == [2, 3]
        clock.advance(120)
        assert ledger.maybe_checkpoint() is None  # nothing new to cover


def test_checkpoint_is_a_signed_tlog_checkpoint(tmp_path: Path) -> None:
    data = make_station(tmp_path, 5)
    with Ledger.open(data) as ledger:
        note = ledger.checkpoint()
        assert ledger.checkpoint() == note  # same size: no duplicate
        assert len(ledger.checkpoints()) == 1
        v = Verifier.from_vkey(ledger.verifier_key())
        cp = Checkpoint.parse(open_note(note, [v]))
        assert (cp.origin, cp.size, cp.root) == (ORIGIN, 5, ledger.root())
        assert ledger.verifier_key() == (data / "station.vkey").read_text().strip()


def test_proofs_verify(tmp_path: Path) -> None:
    data = make_station(tmp_path, 37)
    with Ledger.open(data) as ledger:
        text = ledger.proof_text(20)  # no checkpoint yet: one is signed
        v = Verifier.from_vkey(ledger.verifier_key())
        proof, cp = verify_tlog_proof(text, [v], ORIGIN)
        assert proof.extra == ledger.entry(20).raw and cp.size == 37
        for old in (1, 5, 16, 36, 37):
            merkle.verify_consistency(
                old, 37, ledger.root(old), ledger.root(37), ledger.consistency_proof(old, 37)
            )
        merkle.verify_inclusion(
            3, 9, ledger.entry(3).leaf_hash, ledger.inclusion_proof(3, 9), ledger.root(9)
        )
        with pytest.raises(NoSuchEntryError):
            ledger.inclusion_proof(9, 9)
        with pytest.raises(NoSuchEntryError):
            ledger.root(38)
        with pytest.raises(NoSuchEntryError):
            ledger.proof_text(37)


def test_reopen_restores_tree_state(tmp_path: Path) -> None:
    data = make_station(tmp_path, 13)
    with Ledger.open(data) as ledger:
        root13 = ledger.root()
    with Ledger.open(data) as ledger:
        assert ledger.size == 13 and ledger.root() == root13
        e = ledger.append("x", {}, actor="a")
        assert e.prev == base64.b64encode(ledger.entry(12).leaf_hash).decode()
        leaves = [x.leaf_hash for x in ledger.entries()]
        assert ledger.root() == merkle.root_from_leaves(leaves)


def test_single_writer_lock_and_readonly(tmp_path: Path) -> None:
    data = make_station(tmp_path, 3)
    with Ledger.open(data) as writer:
        with pytest.raises(LedgerLockedError):
            Ledger.open(data)
        with Ledger.open(data, readonly=True) as reader:
            writer.append("x", {}, actor="a")
            writer.checkpoint()
            assert reader.size == 4
            assert reader.latest_checkpoint() == writer.latest_checkpoint()
            with pytest.raises(LedgerReadOnlyError):
                reader.append("x", {}, actor="a")
            with pytest.raises(LedgerReadOnlyError):
                reader.checkpoint()
    with Ledger.open(data) as again:  # the lock was released
        assert again.size == 4


def test_database_triggers_refuse_update_and_delete(tmp_path: Path) -> None:
    data = make_station(tmp_path, 16)  # 16 entries: the first stored node (level 4)
    with Ledger.open(data) as ledger:
        ledger.checkpoint()
    conn = sqlite3.connect(data / "ledger.db")
    try:
        for stmt in (
            "UPDATE entries SET raw = x'00' WHERE seq = 1",
            "DELETE FROM entries WHERE seq = 2",
            "UPDATE nodes SET hash = x'00'",
            "DELETE FROM nodes",
            "DELETE FROM checkpoints",
            "UPDATE checkpoints SET note = ''",
            "UPDATE meta SET value = 'other' WHERE key = 'origin'",
            "DELETE FROM meta",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(stmt)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_init_station_layout_and_refusal(tmp_path: Path) -> None:
    data = tmp_path / "s"
    init_station(data, "locker.example.org/station-7")
    assert stat.S_IMODE(os.stat(data / "station.key").st_mode) == 0o600
    assert (data / "photos").is_dir()
    cfg = (data / "config.toml").read_text()
    for line in (
        'origin = "locker.example.org/station-7"',
        'timezone = "Asia/Shanghai"',
        "checkpoint_every_entries = 100",
        "checkpoint_every_seconds = 600",
        'synchronous = "FULL"',
    ):
        assert line in cfg
    assert (data / "station.vkey").read_text().startswith("locker.example.org/station-7+")
    key = (data / "station.key").read_text()
    with pytest.raises(StationExistsError):
        init_station(data, "locker.example.org/station-7")
    assert (data / "station.key").read_text() == key
    with pytest.raises(Exception, match="origin"):
        init_station(tmp_path / "t", "has space")
    assert not (tmp_path / "t" / "ledger.db").exists()


def test_threads_share_one_writer(tmp_path: Path) -> None:
    import threading

    from custody.ledger.verify import verify_data_dir

    data = make_station(tmp_path, every_n=10, every_s=0)
    seqs: list[int] = []
    lock = threading.Lock()
    with Ledger.open(data) as ledger:

        def work(t: int) -> None:
            for i in range(25):
                e = ledger.append("x", {"thread": t, "i": i}, actor=f"t{t}")
                with lock:
                    seqs.append(e.seq)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(seqs) == list(range(100)) and ledger.size == 100
    seen: list[tuple[int, int]] = []
    report = verify_data_dir(data, progress=lambda done, total: seen.append((done, total)))
    assert report.ok and report.size == 100 and report.checkpoints == 10
    assert seen and seen[-1] == (100, 100)


def test_returned_entries_decode_lazily_to_what_a_read_decodes(tmp_path: Path) -> None:
    data = make_station(tmp_path, 2)
    items = [
        ("item.checked_in", {"item": f"EV-{i}", "note": "核对无误", "n": [i, None, True]}, "c")
        for i in range(5)
    ]
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        got = ledger.append_many(items)
        for e in got:
            read = ledger.entry(e.seq)  # decoded (and checked) eagerly from the stored bytes
            assert e._body is None  # nothing decoded yet
            assert e == read and hash(e) == hash(read)
            assert e.body == read.body == canonical.decode(e.raw)
            assert e._body is e.body  # decoded once, then cached
            assert (e.kind, e.actor, e.ts, e.prev) == (read.kind, read.actor, read.ts, read.prev)
            assert e.fields() == items[e.seq - 2][1]
            assert Entry(e.seq, e.leaf_hash, e.raw) == e
            assert pickle.loads(pickle.dumps(e)) == e
        assert got[0] != got[1]
        assert got[0] != Entry(got[0].seq, got[0].leaf_hash, got[1].raw)
        for name in ("seq", "raw", "leaf_hash", "body"):
            with pytest.raises(AttributeError):
                setattr(got[0], name, 1)
        with pytest.raises(AttributeError):
            got[0].other = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (("x", {"weight": 1.5}, "a"), InvalidEntryError, "^bad.kind: .*float"),
        (("x", {"n": {"deep": [2**60]}}, "a"), InvalidEntryError, "^bad.kind: .*2\\*\\*53"),
        (("x", {"ts": "now"}, "a"), ReservedKeyError, "^bad.kind: body key 'ts' is reserved"),
        (("x", {"nested": {1: "a"}}, "a"), InvalidEntryError, "^bad.kind: "),
        (("x", {1: "a"}, "a"), InvalidEntryError, "^bad.kind: "),
        (("x", ["not", "a", "mapping"], "a"), InvalidEntryError, "must be a mapping"),
        (("", {}, "a"), InvalidEntryError, "non-empty string kind"),
        (("x", {}, ""), InvalidEntryError, "non-empty string actor"),
        (("x", {}, None), InvalidEntryError, "non-empty string actor"),
    ],
)
def test_a_bad_item_in_the_middle_of_a_batch_writes_nothing(
    tmp_path: Path, bad: tuple[object, object, object], error: type[Exception], message: str
) -> None:
    data = make_station(tmp_path, 20, every_n=10, every_s=0)
    kind = "bad.kind" if bad[0] == "x" else bad[0]
    batch: list[Any] = [("y", {"i": i}, "a") for i in range(30)]
    batch[17] = (kind, bad[1], bad[2])
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        root, cps = ledger.root(), ledger.checkpoints()
        with pytest.raises(error, match=message):
            ledger.append_many(batch)
        assert ledger.size == 20 and ledger.root() == root and ledger.checkpoints() == cps
        # the in-memory tree state did not move either: the next append chains on entry 19
        e = ledger.append("z", {"ok": True}, actor="a")
        assert e.seq == 20 and e.prev == base64.b64encode(ledger.entry(19).leaf_hash).decode()
    with Ledger.open(data, readonly=True) as ledger:
        assert ledger.size == 21
    report = verify_data_dir(data)
    assert report.ok, report.failures


def test_non_dict_mappings_are_accepted(tmp_path: Path) -> None:
    data = make_station(tmp_path)
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        e = ledger.append("x", MappingProxyType({"b": 1, "a": "z"}), actor="a")
        assert e.raw.endswith(
            b'"prev":"'
            + base64.b64encode(bytes(32))
            + b'","seq":0,"ts":"2026-11-28T01:02:03.456Z","v":1}'
        )
        assert e.fields() == {"a": "z", "b": 1}
        with pytest.raises(ReservedKeyError):
            ledger.append("x", MappingProxyType({"kind": "y"}), actor="a")
        assert ledger.size == 1
