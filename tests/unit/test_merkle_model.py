"""The Merkle code against a naive reference written straight from RFC 6962 §2.1."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_at,
    verify_consistency,
    verify_inclusion,
)


def naive_mth(data: list[bytes]) -> bytes:
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(data[:k]) + naive_mth(data[k:])).digest()


def naive_path(m: int, data: list[bytes]) -> list[bytes]:
    n = len(data)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*naive_path(m, data[:k]), naive_mth(data[k:])]
    return [*naive_path(m - k, data[k:]), naive_mth(data[:k])]


def naive_subproof(m: int, data: list[bytes], b: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if b else [naive_mth(data)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*naive_subproof(m, data[:k], b), naive_mth(data[k:])]
    return [*naive_subproof(m - k, data[k:], False), naive_mth(data[:k])]


class Tree:
    """Perfect nodes kept the way the ledger keeps them."""

    def __init__(self, data: list[bytes]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.cr = CompactRange()
        for d in data:
            for level, index, h in self.cr.append(leaf_hash(d)):
                self.nodes[(level, index)] = h

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]


leaves = st.lists(st.binary(max_size=12), min_size=1, max_size=70)


@settings(max_examples=150)
@given(data=leaves)
def test_roots_match_reference(data: list[bytes]) -> None:
    tree = Tree(data)
    assert tree.cr.root() == naive_mth(data)
    for size in range(1, len(data) + 1):
        assert root_at(size, tree.get) == naive_mth(data[:size])


@settings(max_examples=150)
@given(data=leaves, st_data=st.data())
def test_inclusion_proofs_match_reference(data: list[bytes], st_data: st.DataObject) -> None:
    tree = Tree(data)
    size = st_data.draw(st.integers(1, len(data)))
    index = st_data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, tree.get)
    assert proof == naive_path(index, data[:size])
    root = naive_mth(data[:size])
    verify_inclusion(index, size, leaf_hash(data[index]), proof, root)
    # the wrong leaf never verifies
    wrong = leaf_hash(data[index] + b"x")
    try:
        verify_inclusion(index, size, wrong, proof, root)
    except ProofError:
        pass
    else:
        raise AssertionError("a wrong leaf verified")


@settings(max_examples=150)
@given(data=leaves, st_data=st.data())
def test_consistency_proofs_match_reference(data: list[bytes], st_data: st.DataObject) -> None:
    tree = Tree(data)
    new = st_data.draw(st.integers(1, len(data)))
    old = st_data.draw(st.integers(1, new))
    proof = consistency_proof(old, new, tree.get)
    assert proof == naive_subproof(old, data[:new], True)
    verify_consistency(old, new, naive_mth(data[:old]), naive_mth(data[:new]), proof)
    if old < new:
        forked = [*data[: old - 1], data[old - 1] + b"fork"]
        try:
            verify_consistency(old, new, naive_mth(forked), naive_mth(data[:new]), proof)
        except ProofError:
            pass
        else:
            raise AssertionError("a forked old head verified")


def test_empty_tree() -> None:
    assert CompactRange().root() == EMPTY_ROOT == naive_mth([])


def test_peaks_round_trip() -> None:
    tree = Tree([bytes([i]) for i in range(13)])
    peaks = [tree.get(lv, ix) for lv, ix in CompactRange.peak_positions(13)]
    assert CompactRange.from_peaks(13, peaks).root() == tree.cr.root()
