"""The ledger as a static C2SP tlog-tiles log in ``DATA/tiles/`` (``locker log publish``).

The tiles are a *view* of the ledger, never a second source of truth: every byte is read
from ``ledger.db`` (the stored leaf hashes and tree nodes, the exact entry bytes, the
latest signed checkpoint) and can be rebuilt from it at any time. Publishing is
incremental: the size of the published checkpoint says which tiles are already final, so a
publish reads and writes only the tiles the new entries touch (at most one partial tile
per level is rewritten, the rest are new).

Rules (tlog-tiles v0.1.0 and DESIGN.md §3.6):

- each file is written atomically (a temporary file, fsync, rename); a write that fails
  (a full disk) removes its temporary file, so no file is ever half there under any name;
- every tile and bundle goes before the ``checkpoint`` that needs it;
- a full tile is never rewritten (an existing one that differs is an error, loudly);
- a partial tile is only superseded by a wider one, and kept until its full tile is there
  (tlog-tiles: a log MUST serve the partial tiles of every checkpoint it published).

:class:`TileDir` is the same writer for the off-site mirror's copy (``district.mirror``).
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from custody.errors import DiskFullError
from custody.ledger import merkle
from custody.ledger.checkpoint import Checkpoint, CheckpointError
from custody.ledger.cosigstore import cosigned_note
from custody.ledger.note import NoteError, split_note
from custody.ledger.station import require_station
from custody.ledger.store import LedgerStore, connect, node_id
from custody.ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TileError,
    TileRef,
    encode_bundle,
    tiles_for_size,
)

TILES_DIR = "tiles"
_BATCH = 64  # files written together (their fsyncs in parallel)
CHECKPOINT_FILE = "checkpoint"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` so a reader (or a crash) sees the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no temporary file behind
        raise


def fsync_dir(path: Path) -> None:
    """Make the renames in a directory durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint_size(note: str) -> tuple[int, bytes, str]:
    """``(size, root, origin)`` of a signed checkpoint note (its signatures are not checked
    here); raises :class:`TileError` when it is not one."""
    try:
        text, _sigs = split_note(note)
        cp = Checkpoint.parse(text)
    except (NoteError, CheckpointError) as exc:
        raise TileError(f"not a signed checkpoint: {exc}") from None
    return cp.size, cp.root, cp.origin


class TileDir:
    """A directory laid out as a tlog-tiles log: ``checkpoint``, ``tile/...``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dirty: set[Path] = set()

    def path(self, ref: TileRef) -> Path:
        return self.root / ref.path

    def has(self, ref: TileRef) -> bool:
        return self.path(ref).is_file()

    def read(self, ref: TileRef) -> bytes:
        try:
            return self.path(ref).read_bytes()
        except FileNotFoundError:
            raise TileError(f"{self.root}: {ref.path} is missing") from None

    def put(self, ref: TileRef, data: bytes, *, compare: bool = True) -> bool:
        """Store a tile or bundle; ``False`` when it is already there (a file is never
        rewritten: with ``compare`` an existing one that differs raises)."""
        if self._exists(ref, data) if compare else self.has(ref):
            return False
        write_atomic(self.path(ref), data)
        self._dirty.add(self.path(ref).parent)
        return True

    def put_many(self, items: list[tuple[TileRef, bytes]]) -> int:
        """:meth:`put` for several files at once; returns how many were written. Their
        fsyncs run in parallel: the file system commits concurrent fsyncs together, which
        a first publish of a big ledger (thousands of files) needs."""
        todo = [(ref, data) for ref, data in items if not self._exists(ref, data)]
        if len(todo) > 1:
            # every write is waited for, failed or not, before a failure is raised: none
            # is still running (and making a temporary file) once this returns
            futures = [_pool().submit(write_atomic, self.path(r), d) for r, d in todo]
            errors = [e for e in (f.exception() for f in futures) if e is not None]
            if errors:
                raise errors[0]
        elif todo:
            write_atomic(self.path(todo[0][0]), todo[0][1])
        self._dirty.update(self.path(ref).parent for ref, _ in todo)
        return len(todo)

    def _exists(self, ref: TileRef, data: bytes) -> bool:
        path = self.path(ref)
        if not path.is_file():
            return False
        if path.read_bytes() != data:
            raise TileError(
                f"{path} exists with other bytes: a tile is never rewritten "
                "(the tiles and the ledger disagree; rebuild the tiles from the ledger)"
            )
        return True

    def read_checkpoint(self) -> str | None:
        try:
            return (self.root / CHECKPOINT_FILE).read_text()
        except FileNotFoundError:
            return None

    def put_checkpoint(self, text: str) -> None:
        """Make every tile written so far durable, then replace the checkpoint."""
        list(_pool().map(fsync_dir, sorted(self._dirty)))
        self._dirty.clear()
        write_atomic(self.root / CHECKPOINT_FILE, text.encode())
        fsync_dir(self.root)

    def prune(self, old_size: int, new_size: int, *, until_full: bool = True) -> int:
        """Remove partial tiles and bundles between ``old_size`` and ``new_size``, after the
        checkpoint of ``new_size`` is in place. With ``until_full`` (a station's log) a
        partial tile goes only once its full tile is there: tlog-tiles says a log MUST
        serve the partial tiles of every size it published a checkpoint for, and MAY drop
        them once the full tile is available. Without it (a mirror, which serves nobody
        older checkpoints) every partial the tree of ``new_size`` does not have goes, so
        nothing is stored twice. Files an interrupted write left go in both cases."""
        keep = {t.path for t in tiles_for_size(new_size, new_size) if not t.full}
        keep |= {t.bundle().path for t in tiles_for_size(new_size, new_size) if t.level == 0}
        removed = 0
        level = 0
        while (new_size | old_size) >> (TILE_HEIGHT * level):
            first = min(old_size, new_size) >> (TILE_HEIGHT * (level + 1))
            last = new_size >> (TILE_HEIGHT * (level + 1))  # tiles below it are full
            kinds = [level] if level else [0, -1]
            for lv in kinds:
                for n in range(first, last + 1):
                    full = self.path(TileRef(lv, n))
                    pdir = full.with_name(full.name + ".p")
                    try:
                        names = os.listdir(pdir)
                    except FileNotFoundError:
                        continue
                    for name in names:
                        if name.isdigit() and (
                            TileRef(lv, n, int(name)).path in keep or (until_full and n == last)
                        ):
                            continue
                        if name.isdigit() or name.endswith(".tmp"):
                            (pdir / name).unlink(missing_ok=True)
                            removed += 1
                    if not os.listdir(pdir):
                        pdir.rmdir()
            level += 1
        return removed

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One writer at a time (the daemon and ``locker log publish`` may both run)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(8, thread_name_prefix="tiles-fsync")
    return _POOL


def published_checkpoint(data_dir: Path, note: str) -> str:
    """The text published as ``DATA/tiles/checkpoint`` for the stored signed checkpoint
    ``note``: the ONE place that decides it. It carries the witnesses' cosignatures the
    station holds for that tree head (``DATA/cosignatures.db``), so a mirror or an auditor
    fetching it gets the cosigned checkpoint."""
    return cosigned_note(data_dir, note)


@dataclass(frozen=True)
class PublishResult:
    """What one publish did."""

    size: int  # the published checkpoint's tree size (0: no checkpoint signed yet)
    previous: int  # the size published before
    tiles: int  # hash tiles written
    bundles: int  # entry bundles written
    pruned: int  # partial files removed (their full tile is there)
    seconds: float


def _nodes(store: LedgerStore, level: int, start: int, stop: int) -> Iterator[bytes]:
    """Stored perfect nodes of ``level`` (>= 4), indexes ``[start, stop)``, in order."""
    for lo in range(start, stop, 500):
        ids = [node_id(level, i) for i in range(lo, min(stop, lo + 500))]
        marks = ",".join("?" * len(ids))
        found = dict(store.conn.execute(f"SELECT id, hash FROM nodes WHERE id IN ({marks})", ids))
        for i, nid in enumerate(ids, lo):
            if nid not in found:
                raise TileError(f"the ledger has no tree node (level {level}, index {i})")
            yield bytes(found[nid])


def _level0(store: LedgerStore, since: int, size: int) -> Iterator[tuple[TileRef, bytes]]:
    """The entry bundles and leaf-hash tiles from the stored rows, bundle first."""
    refs = [t for t in tiles_for_size(size, since) if t.level == 0]
    if not refs:
        return
    rows = store.iter_rows(refs[0].index * TILE_WIDTH, size)
    for ref in refs:
        raws: list[bytes] = []
        leaves: list[bytes] = []
        for _ in range(ref.width):
            _seq, raw, leaf = next(rows)
            raws.append(raw)
            leaves.append(leaf)
        yield ref.bundle(), encode_bundle(raws)
        yield ref, b"".join(leaves)


def _upper(store: LedgerStore, since: int, size: int) -> Iterator[tuple[TileRef, bytes]]:
    """The hash tiles of levels 1 and up, from the stored tree nodes."""
    level = 1
    while size >> (TILE_HEIGHT * level):
        refs = [t for t in tiles_for_size(size, since) if t.level == level]
        first = refs[0].index * TILE_WIDTH
        stop = refs[-1].index * TILE_WIDTH + refs[-1].width
        hashes = _nodes(store, TILE_HEIGHT * level, first, stop)
        for ref in refs:
            yield ref, b"".join(next(hashes) for _ in range(ref.width))
        level += 1


_FULL = (errno.ENOSPC, errno.EDQUOT)


def publish_tiles(data_dir: Path | str) -> PublishResult:
    """Bring ``DATA/tiles/`` up to the latest signed checkpoint (see the module text).

    A full disk raises :class:`DiskFullError`: the tiles written before it are whole and
    final (each under its name only once complete), no temporary file is left, and the
    published ``checkpoint`` is still the old one (it goes after its tiles), so the next
    publish, once there is space, carries on from there."""
    try:
        return _publish(Path(data_dir))
    except OSError as exc:
        if exc.errno not in _FULL:
            raise
        raise DiskFullError(
            f"disk full while publishing the log in {Path(data_dir) / TILES_DIR}: "
            "the published checkpoint was not moved and no file is half-written; "
            "free some space and publish again"
        ) from None


def _publish(data_dir: Path) -> PublishResult:
    t0 = time.perf_counter()
    paths = require_station(data_dir)
    tiles = TileDir(paths.root / TILES_DIR)
    store = LedgerStore(connect(paths.ledger_db, readonly=True))
    try:
        with tiles.locked():
            latest = store.latest_checkpoint()
            old = tiles.read_checkpoint()
            since = 0
            if old is not None:
                since, old_root, old_origin = checkpoint_size(old)
                origin = store.meta("origin")
                if old_origin != origin or since > store.size() or (
                    merkle.root_at(since, store.get_node) != old_root
                ):
                    raise TileError(
                        f"{tiles.root} holds a checkpoint of another log or history "
                        f"({old_origin}, size {since}): move it away and publish again"
                    )
            if latest is None:
                return PublishResult(0, since, 0, 0, 0, time.perf_counter() - t0)
            size = latest.size
            if size < since:
                raise TileError(f"{tiles.root} is ahead of the ledger ({since} > {size})")
            n_tiles = n_bundles = 0
            batch: list[tuple[TileRef, bytes]] = []
            for item in itertools.chain(_level0(store, since, size), _upper(store, since, size)):
                batch.append(item)
                if len(batch) >= _BATCH:
                    n_bundles += tiles.put_many([b for b in batch if b[0].is_bundle])
                    n_tiles += tiles.put_many([t for t in batch if not t[0].is_bundle])
                    batch = []
            n_bundles += tiles.put_many([b for b in batch if b[0].is_bundle])
            n_tiles += tiles.put_many([t for t in batch if not t[0].is_bundle])
            text = published_checkpoint(paths.root, latest.note)
            if text != old:
                tiles.put_checkpoint(text)
            pruned = tiles.prune(since, size) if size != since else 0
            return PublishResult(
                size, since, n_tiles, n_bundles, pruned, time.perf_counter() - t0
            )
    finally:
        store.close()

