"""The RFC 6962 / RFC 9162 Merkle tree: hashing, proof generation and proof verification.

Hashes are SHA-256: a leaf is ``H(0x00 || entry bytes)``, an interior node
``H(0x01 || left || right)``, the empty tree ``H("")``.

Proof *generation* works over a node source, ``get_node(level, index)``, that returns the
hash of the **perfect** subtree of ``2**level`` leaves starting at leaf ``index * 2**level``
(level 0 are the leaf hashes themselves). The ledger stores exactly those nodes as it
appends, so a proof costs O(log n) look-ups and never a re-hash of the log; the hash of any
non-perfect subtree on the right edge is folded from at most log n perfect ones.

Proof *verification* follows RFC 9162 §2.1.3.2 and §2.1.4.2 and the subtree procedures of
the Merkle Tree Certificates draft, and rejects anything that is not exactly 32 bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from custody.errors import LockerError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

GetNode = Callable[[int, int], bytes]


class ProofError(LockerError):
    """A Merkle proof does not verify (or is malformed)."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_peaks(peaks: Sequence[bytes]) -> bytes:
    """The root of a tree given the roots of its perfect subtrees, largest (leftmost) first."""
    if not peaks:
        return EMPTY_ROOT
    h = peaks[-1]
    for left in reversed(peaks[:-1]):
        h = node_hash(left, h)
    return h


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of a list of leaf hashes (a plain O(n) computation)."""
    cr = CompactRange()
    for h in leaf_hashes:
        cr.append(h)
    return cr.root()


def push_peak(peaks: list[bytes], size: int, leaf: bytes) -> None:
    """Add leaf ``size`` to ``peaks``, the perfect-subtree roots of ``[0, size)`` (largest
    first), merging the subtrees it completes."""
    h = leaf
    n = size
    while n & 1:
        h = node_hash(peaks.pop(), h)
        n >>= 1
    peaks.append(h)


class CompactRange:
    """A streaming Merkle root: O(log n) memory, amortised O(1) hashing per append.

    Holds the roots of the perfect subtrees that make up ``[0, size)``, largest first.
    """

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []
        self.size = 0

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; returns the perfect nodes ``(level, index, hash)`` it completed,
        the leaf itself first (level 0)."""
        created = [(0, self.size, leaf)]
        h = leaf
        n = self.size
        level = 0
        while n & 1:
            h = node_hash(self._stack.pop(), h)
            n >>= 1
            level += 1
            created.append((level, n, h))
        self._stack.append(h)
        self.size += 1
        return created

    def root(self) -> bytes:
        """The Merkle tree hash of everything appended so far."""
        return root_from_peaks(self._stack)

    @classmethod
    def from_peaks(cls, size: int, peaks: Iterable[bytes]) -> CompactRange:
        """Rebuild a range from the perfect-subtree roots of ``[0, size)``, largest first."""
        cr = cls()
        cr._stack = list(peaks)
        cr.size = size
        if len(cr._stack) != bin(size).count("1"):
            raise ValueError(f"{len(cr._stack)} peaks do not describe a tree of size {size}")
        return cr

    @staticmethod
    def peak_positions(size: int) -> list[tuple[int, int]]:
        """The ``(level, index)`` of each perfect subtree covering ``[0, size)``, largest first."""
        out: list[tuple[int, int]] = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                out.append((level, start >> level))
                start += 1 << level
        return out


def subtree_hash(start: int, end: int, get_node: GetNode) -> bytes:
    """The Merkle hash of the leaves ``[start, end)`` where ``start`` is aligned as in a
    left-filled RFC 6962 tree (every subtree a proof can ask for)."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        level = n.bit_length() - 1
        return get_node(level, start >> level)
    k = _split(n)
    return node_hash(
        subtree_hash(start, start + k, get_node), subtree_hash(start + k, end, get_node)
    )


def root_at(size: int, get_node: GetNode) -> bytes:
    """The root of the tree of the first ``size`` leaves."""
    return subtree_hash(0, size, get_node)


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """RFC 6962 PATH(index, D[0:size]): sibling hashes from the leaf's up to the root's child."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    # Walk down from the root, collecting siblings; reversed at the end (bottom-up order).
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(subtree_hash(start + k, end, get_node))
            end = start + k
        else:
            proof.append(subtree_hash(start, start + k, get_node))
            start = start + k
    proof.reverse()
    return proof


def consistency_proof(old: int, new: int, get_node: GetNode) -> list[bytes]:
    """RFC 6962 PROOF(old, D[0:new]). Empty when ``old == new``; needs ``0 < old <= new``."""
    if not 0 < old <= new:
        raise ProofError(f"no consistency proof from size {old} to size {new}")
    proof: list[bytes] = []

    def sub(m: int, start: int, end: int, complete: bool) -> None:
        n = end - start
        if m == n:
            if not complete:
                proof.append(subtree_hash(start, end, get_node))
            return
        k = _split(n)
        if m <= k:
            sub(m, start, start + k, complete)
            proof.append(subtree_hash(start + k, end, get_node))
        else:
            sub(m - k, start + k, end, False)
            proof.append(subtree_hash(start, start + k, get_node))

    sub(old, 0, new, True)
    return proof


# --------------------------------------------------------------------------- verification


def _check_hash(h: bytes, what: str) -> None:
    if len(h) != HASH_SIZE:
        raise ProofError(f"{what} is {len(h)} bytes, not {HASH_SIZE}")


def _check_proof(proof: Sequence[bytes]) -> None:
    for i, p in enumerate(proof):
        _check_hash(p, f"proof hash {i}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    _check_proof(proof)
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof has too many hashes")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof has too few hashes")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is at ``index`` in the tree of ``size`` leaves with ``root``."""
    _check_hash(root, "root hash")
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``old`` leaves is a prefix of the tree of ``new`` leaves
    (RFC 9162 §2.1.4.2). A consistency proof from the empty tree is meaningless and refused."""
    if new < old:
        raise ProofError(f"new size {new} is smaller than old size {old}")
    if old == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if old == new:
        # Nothing to recompute: the two heads must simply be the same (as transparency-dev
        # verifiers do, the roots are compared as given).
        if proof:
            raise ProofError("sizes are equal but the proof is not empty")
        if old_root != new_root:
            raise ProofError("sizes are equal but the roots differ")
        return
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    _check_proof(proof)
    if not proof:
        raise ProofError("empty consistency proof between different sizes")
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof has too many hashes")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof has too few hashes")
    if fr != old_root:
        raise ProofError(f"consistency proof does not reproduce the root at size {old}")
    if sr != new_root:
        raise ProofError(f"consistency proof does not reproduce the root at size {new}")


# --------------------------------------------------------------------------- subtrees


def valid_subtree(start: int, end: int) -> bool:
    """True when ``[start, end)`` is a subtree a proof may name: non-empty, and ``start`` a
    multiple of the smallest power of two not below ``end - start``."""
    if not 0 <= start < end:
        return False
    n = end - start
    width = 1 << (n - 1).bit_length()
    return start % width == 0


def verify_subtree_inclusion(
    index: int, start: int, end: int, leaf: bytes, proof: Sequence[bytes], subtree_root: bytes
) -> None:
    """Check that ``leaf`` is at ``index`` inside the subtree ``[start, end)`` with the given
    hash (Merkle Tree Certificates draft, subtree inclusion proofs)."""
    if not valid_subtree(start, end):
        raise ProofError(f"[{start}, {end}) is not a valid subtree")
    if not start <= index < end:
        raise ProofError(f"leaf {index} is outside the subtree [{start}, {end})")
    verify_inclusion(index - start, end - start, leaf, proof, subtree_root)


def verify_subtree_consistency(
    start: int,
    end: int,
    size: int,
    proof: Sequence[bytes],
    subtree_root: bytes,
    root: bytes,
) -> None:
    """Check that the subtree ``[start, end)`` with ``subtree_root`` sits at those positions
    in the tree of ``size`` leaves with ``root`` (Merkle Tree Certificates draft)."""
    if start == end and 0 <= end <= size:
        # The empty range is trivially consistent with any tree; its hash is H("").
        if proof:
            raise ProofError("the empty subtree needs no proof, but one was given")
        if subtree_root != EMPTY_ROOT:
            raise ProofError("the empty subtree's hash must be the hash of nothing")
        return
    if not valid_subtree(start, end) or end > size:
        raise ProofError(f"[{start}, {end}) is not a valid subtree of a tree of size {size}")
    if start == 0 and end == size:
        if proof:
            raise ProofError("the subtree is the whole tree, but the proof is not empty")
        if subtree_root != root:
            raise ProofError("the subtree is the whole tree, but the hashes differ")
        return
    _check_hash(subtree_root, "subtree hash")
    _check_hash(root, "root hash")
    _check_proof(proof)
    fn, sn, tn = start, end - 1, size - 1
    if sn == tn:
        while fn != sn:
            fn >>= 1
            sn >>= 1
            tn >>= 1
    else:
        while fn != sn and sn & 1:
            fn >>= 1
            sn >>= 1
            tn >>= 1
    if fn == sn:
        fr = sr = subtree_root
        rest = list(proof)
    else:
        if not proof:
            raise ProofError("empty proof for a subtree that is not a single node")
        fr = sr = proof[0]
        rest = list(proof[1:])
    for c in rest:
        if tn == 0:
            raise ProofError("subtree consistency proof has too many hashes")
        if sn & 1 or sn == tn:
            if fn < sn:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not sn & 1 and sn != 0:
                fn >>= 1
                sn >>= 1
                tn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
        tn >>= 1
    if tn != 0:
        raise ProofError("subtree consistency proof has too few hashes")
    if fr != subtree_root:
        raise ProofError("subtree consistency proof does not reproduce the subtree hash")
    if sr != root:
        raise ProofError("subtree consistency proof does not reproduce the tree root")
