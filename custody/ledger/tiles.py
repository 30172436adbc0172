"""C2SP tlog-tiles v0.1.0 (c2sp.org/tlog-tiles): paths, tile and entry-bundle bytes, and
the Merkle tree read back from tiles.

A tile at level ``L`` with index ``N`` holds up to 256 consecutive hashes of tree level
``8 * L``: at level 0 the leaf hashes, at level ``L`` the hash of every *full* tile of level
``L - 1``. A full tile is 256 hashes (8,192 bytes); the rightmost tile of a level is partial
(1-255 hashes) and is named ``<N>.p/<W>``. ``N`` is written in zero-padded 3-digit path
elements, all but the last prefixed with ``x`` (1234067 -> ``x001/x234/067``). An entry
bundle ``tile/entries/<N>[.p/<W>]`` holds the entries of level-0 tile ``N``, each as a
big-endian uint16 length and the exact entry bytes: an entry is at most 65,535 bytes.

This module is pure (no files, no network): the station's publisher
(:mod:`custody.ledger.publish`) and the off-site mirror (``district``) both build on it.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from custody.ledger import merkle
from custody.ledger.errors import LedgerError

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH_SIZE = 32
FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE
# An entry bundle stores each entry's length in 16 bits (tlog-tiles "Log entries").
MAX_ENTRY_BYTES = 0xFFFF

_PATH = re.compile(r"tile/(entries|0|[1-9]\d?)/((?:x\d{3}/)*\d{3})(?:\.p/([1-9]\d{0,2}))?")


class TileError(LedgerError):
    """A tile, an entry bundle or a tile path is malformed, or does not match the tree."""


@dataclass(frozen=True)
class TileRef:
    """One tile: ``level`` (``-1`` for an entry bundle), ``index`` and ``width`` (256 full)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def is_bundle(self) -> bool:
        return self.level < 0

    @property
    def path(self) -> str:
        """The tile's path under the log prefix, e.g. ``tile/0/x001/234.p/17``."""
        level = "entries" if self.level < 0 else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{encode_index(self.index)}{suffix}"

    def bundle(self) -> TileRef:
        """The entry bundle beside a level-0 tile."""
        return TileRef(-1, self.index, self.width)


def encode_index(index: int) -> str:
    """``N`` in 3-digit groups, all but the last prefixed with ``x``."""
    if index < 0:
        raise TileError(f"tile index {index} is negative")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def parse_path(path: str) -> TileRef:
    """The tile a path names; raises :class:`TileError` for anything not byte-exact to the
    spec (leading zeroes, a width of 0 or above 255, a stray element)."""
    m = _PATH.fullmatch(path)
    if m is None:
        raise TileError(f"{path!r} is not a tlog-tiles tile path")
    level_s, index_s, width_s = m.groups()
    groups = index_s.replace("x", "").split("/")
    # only the most significant group may be followed by others; "x000/001" is not canonical
    if len(groups) > 1 and groups[0] == "000":
        raise TileError(f"{path!r}: the tile index has a leading zero group")
    index = int("".join(groups))
    width = TILE_WIDTH if width_s is None else int(width_s)
    if width_s is not None and width >= TILE_WIDTH:
        raise TileError(f"{path!r}: a partial tile is 1-255 hashes wide")
    level = -1 if level_s == "entries" else int(level_s)
    if level > 63:
        raise TileError(f"{path!r}: tile levels are 0-63")
    return TileRef(level, index, width)


def tiles_for_size(size: int, since: int = 0) -> list[TileRef]:
    """The hash tiles of a tree of ``size`` leaves that a tree of ``since`` leaves did not
    already have as full tiles (all of them for ``since=0``): per level, lowest first, the
    full tiles in index order, then the partial one."""
    if not 0 <= since <= size:
        raise TileError(f"cannot go from tree size {since} to {size}")
    out: list[TileRef] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        full = size >> (TILE_HEIGHT * (level + 1))
        first = since >> (TILE_HEIGHT * (level + 1))
        out.extend(TileRef(level, n) for n in range(first, full))
        width = (size >> (TILE_HEIGHT * level)) & (TILE_WIDTH - 1)
        if width:
            out.append(TileRef(level, full, width))
        level += 1
    return out


def partial_tiles(size: int) -> list[TileRef]:
    """The partial hash tiles of a tree of ``size`` leaves (at most one per level)."""
    return [t for t in tiles_for_size(size, size) if not t.full]


def split_tile(data: bytes, ref: TileRef) -> list[bytes]:
    """The hashes of a tile's bytes; raises when the length is not ``width * 32``."""
    if len(data) != ref.width * HASH_SIZE:
        raise TileError(
            f"{ref.path} is {len(data)} bytes, not {ref.width * HASH_SIZE} ({ref.width} hashes)"
        )
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    parts: list[bytes] = []
    pack = struct.Struct(">H").pack
    for raw in entries:
        if len(raw) > MAX_ENTRY_BYTES:
            raise TileError(
                f"an entry of {len(raw)} bytes cannot go in an entry bundle "
                f"(at most {MAX_ENTRY_BYTES})"
            )
        parts.append(pack(len(raw)))
        parts.append(raw)
    return b"".join(parts)


def iter_bundle(data: bytes) -> Iterator[bytes]:
    """The entries of a bundle, in order; raises on a truncated one."""
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise TileError("entry bundle ends inside a length prefix")
        n = (data[pos] << 8) | data[pos + 1]
        pos += 2
        if pos + n > end:
            raise TileError("entry bundle ends inside an entry")
        yield data[pos : pos + n]
        pos += n


def subtree_of(hashes: Sequence[bytes]) -> bytes:
    """The hash of a perfect subtree given its 2**k lowest hashes (a full tile's MTH for
    256 of them): pairwise, level by level."""
    level = list(hashes)
    if not level or len(level) & (len(level) - 1):
        raise TileError(f"{len(level)} hashes are not a perfect subtree")
    sha = hashlib.sha256
    while len(level) > 1:
        level = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0]


GetTile = Callable[[TileRef], list[bytes]]
_LEAF_HASHER = hashlib.sha256(b"\x00")  # RFC 6962 leaf prefix


def node_getter(size: int, get_tile: GetTile) -> merkle.GetNode:
    """A ``get_node(level, index)`` over the tiles of a tree of ``size`` leaves (for
    :func:`custody.ledger.merkle.root_at` and the proof functions): a node of tree level
    ``8L + k`` is hashed up from ``2**k`` hashes of one level-``L`` tile."""

    def get_node(level: int, index: int) -> bytes:
        tl, k = divmod(level, TILE_HEIGHT)
        first = index << k
        n, pos = divmod(first, TILE_WIDTH)
        have = size >> (TILE_HEIGHT * tl)  # hashes at tile level tl in this tree
        if first + (1 << k) > have:
            raise TileError(f"node (level {level}, index {index}) is outside the tree")
        width = min(TILE_WIDTH, have - n * TILE_WIDTH)
        hashes = get_tile(TileRef(tl, n, width))
        return subtree_of(hashes[pos : pos + (1 << k)])

    return get_node


def root_from_tiles(size: int, get_tile: GetTile) -> bytes:
    """The root of a tree of ``size`` leaves read from its tiles alone."""
    return merkle.root_at(size, node_getter(size, get_tile))


def tile_at(size: int, level: int, index: int) -> TileRef:
    """Tile ``index`` of ``level`` as a tree of ``size`` leaves has it (full or partial)."""
    have = size >> (TILE_HEIGHT * level)
    width = min(TILE_WIDTH, have - index * TILE_WIDTH)
    if index < 0 or width <= 0:
        raise TileError(f"a tree of size {size} has no tile {index} at level {level}")
    return TileRef(level, index, width)


class VerifiedTiles:
    """The hash tiles of a tree of ``size`` leaves with the signed ``root``, each checked
    before it is handed out: the partial tiles (one per level) together against the root,
    a full tile against its hash in the (checked) tile above it. ``fetch`` returns a
    tile's bytes from wherever they come (a server, a disk); nothing it returns is trusted.

    Full tiles of level 1 and up are kept in a small cache (a pull walks them in order);
    level-0 tiles are not kept: memory stays bounded whatever the size of the log.
    """

    def __init__(self, size: int, root: bytes, fetch: Callable[[TileRef], bytes]) -> None:
        self.size = size
        self.root = root
        self._fetch = fetch
        self._partials: dict[TileRef, bytes] | None = None
        self._cache: dict[TileRef, tuple[bytes, list[bytes]]] = {}

    def ref(self, level: int, index: int) -> TileRef:
        return tile_at(self.size, level, index)

    def _check_partials(self) -> dict[TileRef, bytes]:
        if self._partials is None:
            got = {ref: self._fetch(ref) for ref in partial_tiles(self.size)}
            hashes = {ref: split_tile(data, ref) for ref, data in got.items()}

            def from_partials(ref: TileRef) -> list[bytes]:
                if ref not in hashes:  # the root's peaks all lie in the partial tiles
                    raise TileError(f"{ref.path} is not a partial tile of size {self.size}")
                return hashes[ref]

            if root_from_tiles(self.size, from_partials) != self.root:
                raise TileError(
                    f"the partial tiles of size {self.size} do not lead to the signed root"
                )
            self._partials = got
        return self._partials

    def get(self, ref: TileRef) -> bytes:
        """A tile's bytes, checked against the signed root; raises :class:`TileError`."""
        if ref != self.ref(ref.level, ref.index):
            raise TileError(f"{ref.path} is not a tile of a tree of size {self.size}")
        if not ref.full:
            return self._check_partials()[ref]
        if ref in self._cache:
            return self._cache[ref][0]
        return self.check(ref, self._fetch(ref))

    def check(self, ref: TileRef, data: bytes) -> bytes:
        """Check the bytes of a tile got elsewhere (e.g. fetched ahead); returns them."""
        if ref != self.ref(ref.level, ref.index):
            raise TileError(f"{ref.path} is not a tile of a tree of size {self.size}")
        if not ref.full:
            if self._check_partials()[ref] != data:
                raise TileError(f"{ref.path} differs from the partial tile checked before")
            return data
        hashes = split_tile(data, ref)
        above = self.ref(ref.level + 1, ref.index // TILE_WIDTH)
        expected = self.hashes(above)[ref.index % TILE_WIDTH]
        if subtree_of(hashes) != expected:
            raise TileError(f"{ref.path} does not hash to its entry in {above.path}")
        if ref.level > 0:
            if len(self._cache) >= 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[ref] = (data, hashes)
        return data

    def hashes(self, ref: TileRef) -> list[bytes]:
        """The checked hashes of a tile."""
        if ref in self._cache:
            return self._cache[ref][1]
        return split_tile(self.get(ref), ref)

    def get_node(self, level: int, index: int) -> bytes:
        """A checked tree node (for proofs between this tree and an older one)."""
        return node_getter(self.size, lambda r: self.hashes(r))(level, index)


def check_bundle(data: bytes, leaf_hashes: Sequence[bytes], ref: TileRef) -> list[bytes]:
    """The entries of a bundle whose level-0 tile has ``leaf_hashes`` (checked): exactly
    one entry per hash, each hashing to it; raises :class:`TileError` otherwise."""
    entries = list(iter_bundle(data))
    if len(entries) != len(leaf_hashes):
        raise TileError(
            f"{ref.path} holds {len(entries)} entries, its tile {len(leaf_hashes)} hashes"
        )
    base = ref.index * TILE_WIDTH
    seeded = _LEAF_HASHER.copy  # a copy of a pre-seeded hasher is cheaper than a new one
    for i, (raw, want) in enumerate(zip(entries, leaf_hashes, strict=True)):
        h = seeded()
        h.update(raw)
        if h.digest() != want:
            raise TileError(f"entry {base + i} in {ref.path} does not hash to its leaf hash")
    return entries
