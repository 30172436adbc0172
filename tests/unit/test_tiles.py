"""C2SP tlog-tiles: paths, the layout of ``DATA/tiles/`` after ``publish_tiles``, the root
and every tree level read back from the tiles alone, incremental publishing, the 65,535-byte
entry limit, and the checks a mirror makes on tiles it did not write."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from custody.ledger import Ledger, merkle
from custody.ledger.errors import EntryTooLargeError
from custody.ledger.publish import TILES_DIR, TileDir, checkpoint_size, publish_tiles
from custody.ledger.tiles import (
    TILE_WIDTH,
    TileError,
    TileRef,
    VerifiedTiles,
    check_bundle,
    encode_bundle,
    encode_index,
    iter_bundle,
    node_getter,
    parse_path,
    root_from_tiles,
    split_tile,
    tiles_for_size,
)
from tests.conftest import shared_dir
from tests.ledger_support import ledger_clock, make_station

VECTORS = shared_dir() / "vectors" / "rfc6962"
# The leaves of the RFC 6962 test tree the transparency-dev vectors are computed over.
RFC_LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f")
]


def test_paths_are_the_specs() -> None:
    assert encode_index(1234067) == "x001/x234/067"
    assert encode_index(0) == "000"
    assert encode_index(1000) == "x001/000"
    assert TileRef(0, 1234067).path == "tile/0/x001/x234/067"
    assert TileRef(1, 5, 17).path == "tile/1/005.p/17"
    assert TileRef(-1, 273, 112).path == "tile/entries/273.p/112"
    for path in ("tile/0/x001/x234/067", "tile/2/000.p/1", "tile/entries/x003/906.p/64"):
        assert parse_path(path).path == path
    for bad in (
        "tile/0/1", "tile/00/000", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/07",
        "tile/0/x000/001", "tile/0/001/002", "tile/64/000", "tile/0/../000", "checkpoint",
    ):
        with pytest.raises(TileError):
            parse_path(bad)


def test_tiles_of_a_size_follow_the_specs_examples() -> None:
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
    # level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width
    # 17, and one partial level 2 tile of width 1"
    refs = tiles_for_size(70_000)
    assert [r for r in refs if r.level == 0] == [TileRef(0, n) for n in range(273)] + [
        TileRef(0, 273, 112)
    ]
    assert [r for r in refs if r.level == 1] == [TileRef(1, 0), TileRef(1, 1, 17)]
    assert [r for r in refs if r.level == 2] == [TileRef(2, 0, 1)]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    # tile of width 1"
    assert tiles_for_size(256) == [TileRef(0, 0), TileRef(1, 0, 1)]
    assert tiles_for_size(0) == []
    assert tiles_for_size(70_000, 69_900) == [TileRef(0, 273, 112), TileRef(1, 1, 17),
                                              TileRef(2, 0, 1)]


def test_bundles_are_uint16_length_prefixed() -> None:
    data = encode_bundle([b"ab", b"", b"x" * 300])
    assert data == b"\x00\x02ab\x00\x00\x01\x2c" + b"x" * 300
    assert list(iter_bundle(data)) == [b"ab", b"", b"x" * 300]
    for cut in (1, 3, len(data) - 1):
        with pytest.raises(TileError):
            list(iter_bundle(data[:cut]))
    with pytest.raises(TileError):
        encode_bundle([b"x" * 65_536])


def _vector_cases(kind: str) -> list[dict[str, object]]:
    if not VECTORS.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted((VECTORS / kind).rglob("happy-path.json"))]


@pytest.mark.parametrize("case", _vector_cases("consistency"))
def test_rfc6962_vectors_from_a_tile(case: dict[str, object]) -> None:
    """The transparency-dev consistency vectors, recomputed from one level-0 tile of the
    RFC 6962 test tree: the roots and the proof are the vectors' bytes."""
    size1, size2 = int(str(case["size1"])), int(str(case["size2"]))
    tile = b"".join(merkle.leaf_hash(leaf) for leaf in RFC_LEAVES[:size2])
    ref = TileRef(0, 0, size2)

    def get(r: TileRef) -> list[bytes]:
        # a tree of size1 reads the same tile at its own (narrower) width
        assert (r.level, r.index) == (0, 0) and r.width <= size2
        return split_tile(tile, ref)[: r.width]

    assert root_from_tiles(size1, get) == base64.b64decode(str(case["root1"]))
    assert root_from_tiles(size2, get) == base64.b64decode(str(case["root2"]))
    if size1:
        proof = merkle.consistency_proof(size1, size2, node_getter(size2, get))
        assert [base64.b64encode(p).decode() for p in proof] == case["proof"] or (
            case["proof"] is None and proof == []
        )


def _independent_node(leaves: list[bytes], level: int, index: int) -> bytes:
    lo = index << level
    return merkle.root_from_leaves(leaves[lo : lo + (1 << level)])


def test_published_tiles_rebuild_the_root_and_every_level(tmp_path: Path) -> None:
    n = 65_536 + 2 * TILE_WIDTH + 17  # three tile levels, partial tiles on each
    data = make_station(tmp_path, 0, every_n=0, every_s=0)
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        for b in range(0, n, 2000):
            ledger.append_many(
                [("item.checked_in", {"item": f"EV-{i}"}, "clerk:wang")
                 for i in range(b, min(n, b + 2000))]
            )
        note = ledger.checkpoint()
        raws = [e.raw for e in ledger.entries()]
    result = publish_tiles(data)
    assert (result.size, result.previous) == (n, 0)
    root = data / TILES_DIR
    assert (root / "checkpoint").read_text() == note
    size, signed_root, _origin = checkpoint_size(note)
    # the files are exactly the spec's set for this size, and nothing else
    expected = {r.path for r in tiles_for_size(n)} | {
        r.bundle().path for r in tiles_for_size(n) if r.level == 0
    }
    on_disk = {
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "tile" in p.parts
    }
    assert on_disk == expected
    assert "tile/2/000.p/1" in on_disk and "tile/1/x001/000.p/2" not in on_disk

    def get(r: TileRef) -> list[bytes]:
        return split_tile((root / r.path).read_bytes(), r)

    assert root_from_tiles(size, get) == signed_root
    # every hash of every tile against the tree computed here from the entry bytes alone
    leaves = [hashlib.sha256(b"\x00" + raw).digest() for raw in raws]
    for ref in tiles_for_size(n):
        for i, h in enumerate(get(ref)):
            assert h == _independent_node(leaves, 8 * ref.level, ref.index * TILE_WIDTH + i)
        if ref.level == 0:
            bundle = (root / ref.bundle().path).read_bytes()
            start = ref.index * TILE_WIDTH
            assert list(iter_bundle(bundle)) == raws[start : start + ref.width]


def test_publishing_is_incremental(tmp_path: Path) -> None:
    data = make_station(tmp_path, 600, every_n=0, every_s=0)
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        ledger.checkpoint()
    publish_tiles(data)
    root = data / TILES_DIR
    full = root / "tile/0/000"
    before = full.stat()
    assert (root / "tile/0/002.p/88").is_file()
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        for i in range(200):
            ledger.append("item.checked_in", {"item": f"EV-late-{i}"}, actor="clerk:wang")
        ledger.checkpoint()
    again = publish_tiles(data)
    assert (again.previous, again.size) == (600, 800)
    # tile 2 became full: its partials go; level 1's tile is not full: the partial of the
    # published size 600 stays (tlog-tiles: served for every published checkpoint)
    assert (again.tiles, again.bundles) == (3, 2)  # 0/002, 0/003.p/32, 1/000.p/3
    assert full.stat().st_ino == before.st_ino and full.stat().st_mtime_ns == before.st_mtime_ns
    assert not (root / "tile/0/002.p").exists() and not (root / "tile/entries/002.p").exists()
    assert (root / "tile/0/003.p/32").is_file() and (root / "tile/1/000.p/2").is_file()
    assert again.pruned == 2
    # the result is exactly what a publish from nothing makes, plus that older partial
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    for name in ("ledger.db", "station.vkey", "config.toml"):
        (fresh / name).write_bytes((data / name).read_bytes())
    publish_tiles(fresh)

    def tree(d: Path) -> dict[str, bytes]:
        return {str(p.relative_to(d)): p.read_bytes() for p in d.rglob("*")
                if p.is_file() and p.name != ".lock"}

    older = tree(root).pop("tile/1/000.p/2")
    assert {**tree(fresh / TILES_DIR), "tile/1/000.p/2": older} == tree(root)
    # nothing new: nothing written
    idle = publish_tiles(data)
    assert (idle.tiles, idle.bundles, idle.pruned) == (0, 0, 0)


def test_an_existing_tile_that_differs_is_never_overwritten(tmp_path: Path) -> None:
    data = make_station(tmp_path, 300, every_n=0, every_s=0)
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        ledger.checkpoint()
    publish_tiles(data)
    partial = data / TILES_DIR / "tile/0/001.p/44"
    partial.write_bytes(b"\x00" * 44 * 32)
    with pytest.raises(TileError, match="never rewritten"):
        publish_tiles(data)
    assert partial.read_bytes() == b"\x00" * 44 * 32


def test_published_checkpoint_of_another_history_is_refused(tmp_path: Path) -> None:
    data = make_station(tmp_path, 10, every_n=0, every_s=0)
    other = make_station(tmp_path / "o", 12, every_n=0, every_s=0)
    for d in (data, other):
        with Ledger.open(d, clock=ledger_clock()) as ledger:
            ledger.checkpoint()
    publish_tiles(other)
    (data / TILES_DIR).mkdir()
    (data / TILES_DIR / "checkpoint").write_bytes((other / TILES_DIR / "checkpoint").read_bytes())
    with pytest.raises(TileError, match="another log or history"):
        publish_tiles(data)


def test_an_entry_over_65535_bytes_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    data = make_station(tmp_path, 3, every_n=0, every_s=0)
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        big = {"note": "x" * 65_500}
        with pytest.raises(EntryTooLargeError, match="at most 65,535 bytes"):
            ledger.append("item.note", big, actor="clerk:wang")
        with pytest.raises(EntryTooLargeError, match="item 1 of the batch"):
            ledger.append_many(
                [("item.note", {"note": "ok"}, "clerk:wang"), ("item.note", big, "clerk:wang")]
            )
        assert ledger.size == 3
        # just below the limit is fine (the envelope fields take the rest)
        e = ledger.append("item.note", {"note": "y" * 65_300}, actor="clerk:wang")
        assert len(e.raw) <= 65_535
    conn = sqlite3.connect(data / "ledger.db")
    assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 4
    conn.close()


def test_verified_tiles_refuse_a_flipped_byte(tmp_path: Path) -> None:
    data = make_station(tmp_path, 70_000 // 100, every_n=0, every_s=0)
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        note = ledger.checkpoint()
    publish_tiles(data)
    size, root, _ = checkpoint_size(note)
    tiles = TileDir(data / TILES_DIR)
    flipped: set[str] = set()

    def fetch(ref: TileRef) -> bytes:
        raw = bytearray(tiles.read(ref))
        if ref.path in flipped:
            raw[5] ^= 1
        return bytes(raw)

    good = VerifiedTiles(size, root, fetch)
    for ref in tiles_for_size(size):
        assert good.get(ref) == tiles.read(ref)
        if ref.level == 0:
            check_bundle(tiles.read(ref.bundle()), good.hashes(ref), ref.bundle())
    for victim in ("tile/0/001", "tile/0/002.p/188", "tile/1/000.p/2"):
        flipped = {victim}
        vt = VerifiedTiles(size, root, fetch)
        with pytest.raises(TileError):
            for ref in tiles_for_size(size):
                vt.get(ref)
    bundle = bytearray(tiles.read(TileRef(-1, 1)))
    bundle[40] ^= 1
    with pytest.raises(TileError, match="does not hash"):
        check_bundle(bytes(bundle), good.hashes(TileRef(0, 1)), TileRef(-1, 1))
