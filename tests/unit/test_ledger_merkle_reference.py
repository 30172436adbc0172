"""Random logs against a naive RFC 6962 Merkle implementation written here, from the RFC's
recursive definitions (MTH, PATH, PROOF), sharing no code with the ledger."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger import Ledger, merkle
from tests.ledger_support import ledger_clock, make_station


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH over entry bytes."""
    if not leaves:
        return _h(b"")
    if len(leaves) == 1:
        return _h(b"\x00" + leaves[0])
    k = _k(len(leaves))
    return _h(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(m, D[n])."""
    if len(leaves) <= 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    """RFC 6962 §2.1.2 SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, leaves[:k], b), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


@settings(max_examples=25, deadline=None)
@given(
    bodies=st.lists(st.text(max_size=8), min_size=1, max_size=40),
    data=st.data(),
)
def test_random_logs_match_the_reference(bodies: list[str], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        station = make_station(Path(tmp), every_n=7, every_s=0)
        with Ledger.open(station, clock=ledger_clock()) as ledger:
            ledger.append_many([("note", {"text": b}, "tester") for b in bodies])
            raws = [e.raw for e in ledger.entries()]
            n = len(raws)
            assert n == len(bodies)
            for size in range(0, n + 1):
                assert ledger.root(size) == mth(raws[:size])
            size = data.draw(st.integers(1, n))
            seq = data.draw(st.integers(0, size - 1))
            proof = ledger.inclusion_proof(seq, size)
            assert proof == path(seq, raws[:size])
            merkle.verify_inclusion(seq, size, _h(b"\x00" + raws[seq]), proof, mth(raws[:size]))
            old = data.draw(st.integers(1, size))
            cproof = ledger.consistency_proof(old, size)
            assert cproof == subproof(old, raws[:size], True)
            merkle.verify_consistency(old, size, mth(raws[:old]), mth(raws[:size]), cproof)
            # every stored checkpoint commits to the reference root at its size
            for cp in ledger.checkpoints():
                assert cp.root == mth(raws[: cp.size])


@settings(max_examples=15, deadline=None)
@given(
    batches=st.lists(st.integers(1, 23), min_size=1, max_size=6),
    picks=st.lists(st.tuples(st.integers(0, 999), st.integers(0, 999)), min_size=8, max_size=8),
)
def test_proofs_at_every_size_match_and_verify(
    batches: list[int], picks: list[tuple[int, int]]
) -> None:
    # batches of random length put the block and node boundaries anywhere
    with tempfile.TemporaryDirectory() as tmp:
        station = make_station(Path(tmp), every_n=5, every_s=0)
        with Ledger.open(station, clock=ledger_clock()) as ledger:
            raws: list[bytes] = []
            for count in batches:
                got = ledger.append_many([("n", {"i": len(raws) + i}, "t") for i in range(count)])
                raws += [e.raw for e in got]
            n = len(raws)
            for size in range(1, n + 1):
                root = mth(raws[:size])
                assert ledger.root(size) == root
                ps, po = picks[size % len(picks)]
                seq = ps % size
                proof = ledger.inclusion_proof(seq, size)
                assert proof == path(seq, raws[:size])
                merkle.verify_inclusion(seq, size, _h(b"\x00" + raws[seq]), proof, root)
                old = 1 + po % size
                cproof = ledger.consistency_proof(old, size)
                assert cproof == subproof(old, raws[:size], True)
                merkle.verify_consistency(old, size, mth(raws[:old]), root, cproof)
