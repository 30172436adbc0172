"""Stored and derived Merkle nodes: only levels >= 4 are rows, levels 1-3 are hashed up from
the leaf column, and ledgers written with every level (schema 1) still prove the same."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from custody.ledger import Ledger, merkle
from custody.ledger.errors import LedgerCorruptError
from custody.ledger.store import STORED_MIN_LEVEL, LedgerStore, connect, node_id
from custody.ledger.verify import verify_data_dir
from tests.ledger_support import ledger_clock, make_station, raw_sql
from tests.unit.test_ledger_merkle_reference import mth, path, subproof


def _raws(data: Path) -> list[bytes]:
    conn = sqlite3.connect(data / "ledger.db")
    try:
        return [bytes(r) for (r,) in conn.execute("SELECT raw FROM entries ORDER BY seq")]
    finally:
        conn.close()


def _levels(data: Path) -> list[int]:
    conn = sqlite3.connect(data / "ledger.db")
    try:
        return [lv for (lv,) in conn.execute("SELECT DISTINCT level FROM nodes ORDER BY level")]
    finally:
        conn.close()


@pytest.mark.parametrize("size", [1, 3, 7, 15, 17, 33, 45, 67])
def test_every_node_matches_the_reference_on_odd_sizes(tmp_path: Path, size: int) -> None:
    data = make_station(tmp_path, size)
    raws = _raws(data)
    store = LedgerStore(connect(data / "ledger.db", readonly=True))
    try:
        for level in range(size.bit_length()):
            width = 1 << level
            for index in range(size // width):
                want = mth(raws[index * width : (index + 1) * width])
                assert store.get_node(level, index) == want, (level, index)
            # the incomplete node at the right edge does not exist (yet)
            if size % width:
                with pytest.raises(LedgerCorruptError, match="missing"):
                    store.get_node(level, size // width)
    finally:
        store.close()
    assert all(lv >= STORED_MIN_LEVEL for lv in _levels(data))


def test_only_levels_from_four_up_are_stored(tmp_path: Path) -> None:
    data = make_station(tmp_path, 70)
    assert _levels(data) == [4, 5, 6]
    conn = sqlite3.connect(data / "ledger.db")
    try:
        rows = conn.execute("SELECT id, level, idx FROM nodes ORDER BY id").fetchall()
    finally:
        conn.close()
    # 70 leaves: 4 nodes of 16, 2 of 32, 1 of 64; ids are the completion order
    assert [(lv, ix) for _, lv, ix in rows] == [
        (4, 0),
        (4, 1),
        (5, 0),
        (4, 2),
        (4, 3),
        (5, 1),
        (6, 0),
    ]
    assert all(i == node_id(lv, ix) for i, lv, ix in rows)


def test_a_missing_leaf_under_a_derived_node_is_corruption(tmp_path: Path) -> None:
    data = make_station(tmp_path, 20)
    raw_sql(data, "DELETE FROM entries WHERE seq = 5")
    store = LedgerStore(connect(data / "ledger.db", readonly=True))
    try:
        with pytest.raises(LedgerCorruptError, match=r"level 2, index 1\) is missing"):
            store.get_node(2, 1)
        with pytest.raises(LedgerCorruptError, match=r"level 0, index 5\) is missing"):
            store.get_node(0, 5)
        assert store.get_node(1, 3) == merkle.node_hash(store.get_node(0, 6), store.get_node(0, 7))
    finally:
        store.close()


def test_proofs_while_appending_across_block_boundaries(tmp_path: Path) -> None:
    # one store (and its block cache) serves proofs while the blocks fill up
    data = make_station(tmp_path, 0)
    raws: list[bytes] = []
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        for step in (1, 2, 5, 8, 13, 3, 16, 21, 7):
            raws += [
                e.raw
                for e in ledger.append_many([("x", {"i": len(raws) + i}, "a") for i in range(step)])
            ]
            n = len(raws)
            assert ledger.root() == mth(raws)
            for seq in {0, n // 3, n - 1}:
                assert ledger.inclusion_proof(seq) == path(seq, raws)
            for old in {1, n // 2 or 1, n - 1 or 1}:
                assert ledger.consistency_proof(old) == subproof(old, raws, True)
    assert verify_data_dir(data).ok


def _add_low_level_rows(data: Path, raws: list[bytes]) -> int:
    """Insert the level 1-3 node rows a schema-1 writer stored; returns how many."""
    rows = []
    n = len(raws)
    for level in range(1, STORED_MIN_LEVEL):
        width = 1 << level
        for index in range(n // width):
            h = mth(raws[index * width : (index + 1) * width])
            rows.append((node_id(level, index), level, index, h))
    conn = sqlite3.connect(data / "ledger.db", isolation_level=None)
    try:
        conn.executemany("INSERT INTO nodes (id, level, idx, hash) VALUES (?, ?, ?, ?)", rows)
        conn.execute("PRAGMA user_version=1")
    finally:
        conn.close()
    return len(rows)


def test_a_ledger_with_every_node_level_stored_proves_the_same(tmp_path: Path) -> None:
    data = make_station(tmp_path, 45, every_n=10, every_s=0)
    raws = _raws(data)
    with Ledger.open(data, readonly=True) as ledger:
        before = [
            (ledger.root(s), ledger.inclusion_proof(s // 2, s), ledger.consistency_proof(1, s))
            for s in range(1, 46)
        ]
    assert _add_low_level_rows(data, raws) == 22 + 11 + 5
    assert _levels(data) == [1, 2, 3, 4, 5]
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        after = [
            (ledger.root(s), ledger.inclusion_proof(s // 2, s), ledger.consistency_proof(1, s))
            for s in range(1, 46)
        ]
        assert after == before
        # a schema-2 writer carries on: new rows only from level 4 up
        raws += [e.raw for e in ledger.append_many([("x", {"i": i}, "a") for i in range(30)])]
        assert ledger.root() == mth(raws)
        for seq in (0, 17, 44, 45, 74):
            assert ledger.inclusion_proof(seq) == path(seq, raws)
        for old in (1, 8, 45, 60):
            assert ledger.consistency_proof(old) == subproof(old, raws, True)
    conn = sqlite3.connect(data / "ledger.db")
    try:
        newest_low = conn.execute("SELECT max(idx * (1 << level)) FROM nodes WHERE level < 4")
        assert newest_low.fetchone()[0] < 45
    finally:
        conn.close()
    report = verify_data_dir(data)
    assert report.ok, report.failures
    assert report.size == 75


def test_tampered_stored_node_is_seen_and_tampered_leaf_column_too(tmp_path: Path) -> None:
    data = make_station(tmp_path, 40)
    with Ledger.open(data, readonly=True) as ledger:
        good = ledger.root()
    raw_sql(data, "UPDATE nodes SET hash = zeroblob(32) WHERE level = 5 AND idx = 0")
    with Ledger.open(data, readonly=True) as ledger:
        assert ledger.root() != good
    data2 = make_station(tmp_path / "two", 40)
    with Ledger.open(data2, readonly=True) as ledger:
        assert ledger.root() == good  # same entries, same tree
    forged = hashlib.sha256(b"forged").digest()
    raw_sql(data2, "UPDATE entries SET leaf = ? WHERE seq = 37", params=(forged,))
    with Ledger.open(data2, readonly=True) as ledger:
        # seq 37 sits under derived (level < 4) nodes: the root follows the leaf column
        assert ledger.root() != good
    report = verify_data_dir(data2)
    assert report.first is not None and report.first.seq == 37
