"""``locker restore``: rebuild a station data directory from an off-site mirror.

The result is what ``locker init`` and the station's appends would have made, up to the
mirror's last complete checkpoint: ``ledger.db`` (the entry bytes, their leaf hashes and
the stored tree nodes, re-derived here and checked against the signed root; every checkpoint
the mirror accepted, cosignature lines included, with the time the mirror first saw it as
its ``signed_at``), ``station.vkey``, the photos (each checked against its hash), a default
``config.toml`` and ``restored.json`` saying where it came from.

The signing key is not in a mirror. Without ``--signing-key`` the restored station can be
read and verified (``locker audit verify``, ``locker api``) but signs nothing: opening its
ledger for writing says so. See docs/offsite.md for key backup and the recovery drill.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from custody.errors import LockerError, NotVerifiedError, UsageError
from custody.ledger import merkle
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.ledger import format_ts
from custody.ledger.note import NoteError, Signer, Verifier, open_note
from custody.ledger.station import StationPaths, default_config
from custody.ledger.store import STORED_MIN_LEVEL, LedgerStore, connect, create_schema
from custody.ledger.tiles import TileError, check_bundle, split_tile, tiles_for_size
from district.mirror import MirrorDir

RESTORED_FILE = "restored.json"


class RestoreError(LockerError):
    """The mirror cannot be restored from (nothing complete, or it does not verify)."""


class MirrorDamagedError(RestoreError, NotVerifiedError):
    """The mirror's files do not verify: nothing was restored (exit 1)."""


class MirrorIncompleteError(RestoreError, UsageError):
    """The mirror holds no completely mirrored checkpoint yet: pull first (exit 2)."""


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    size: int
    checkpoints: int
    photos: int
    missing_photos: int
    has_key: bool


def _copy_photos(src: Path, dest: Path) -> int:
    copied = 0
    if not src.is_dir():
        return 0
    for sub in sorted(p for p in src.iterdir() if p.is_dir() and len(p.name) == 2):
        for f in sorted(sub.iterdir()):
            data = f.read_bytes()
            if hashlib.sha256(data).hexdigest() != f.name:
                raise MirrorDamagedError(f"{f} does not hash to its name: the mirror is damaged")
            out = dest / sub.name / f.name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            copied += 1
    return copied


def _ledger(work: Path, mirror: MirrorDir, cp: Checkpoint, verifier: Verifier) -> int:
    """Fill ``ledger.db`` from the mirror's bundles; returns the checkpoints stored."""
    store = LedgerStore(connect(work / "ledger.db", synchronous="OFF"))
    try:
        cr = merkle.CompactRange()
        for ref in (r for r in tiles_for_size(cp.size) if r.level == 0):
            leaves = split_tile(mirror.tiles.read(ref), ref)
            entries = check_bundle(mirror.tiles.read(ref.bundle()), leaves, ref.bundle())
            nodes = [
                node
                for leaf in leaves
                for node in cr.append(leaf)
                if node[0] >= STORED_MIN_LEVEL
            ]
            store.append(ref.index * 256, entries, leaves, nodes)
        if cr.size != cp.size or cr.root() != cp.root:
            raise MirrorDamagedError("the mirrored entries do not lead to the signed root")
        stored = 0
        for size, note, first_seen in mirror.accepted():
            if size > cp.size:
                continue  # accepted, but its pull never completed: its entries are not here
            parsed = Checkpoint.parse(open_note(note, [verifier]))
            if merkle.root_at(size, store.get_node) != parsed.root:
                raise MirrorDamagedError(f"the mirror's checkpoint of size {size} does not verify")
            store.add_checkpoint(size, parsed.root, note, first_seen)
            stored += 1
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    fd = os.open(work / "ledger.db", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return stored


def restore(
    mirror_dir: Path,
    data_dir: Path,
    *,
    signing_key: Path | None = None,
    say: Callable[[str], None] | None = None,
) -> RestoreResult:
    """Rebuild ``data_dir`` (absent or empty) from ``mirror_dir``; see the module text."""
    mirror = MirrorDir(mirror_dir)
    if not mirror.vkey.is_file():
        raise UsageError(f"{mirror_dir} is not a mirror directory (no station.vkey)")
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise UsageError(f"{data_dir} exists and is not empty: restore into a new directory")
    verifier = Verifier.from_vkey(mirror.vkey.read_text())
    note = mirror.tiles.read_checkpoint()
    if note is None:
        raise MirrorIncompleteError(f"{mirror_dir} holds no completely mirrored checkpoint yet")
    try:
        cp = Checkpoint.parse(open_note(note, [verifier]))
    except NoteError as exc:
        raise MirrorDamagedError(f"the mirror's checkpoint does not verify: {exc}") from None
    key_text: str | None = None
    if signing_key is not None:
        signer = Signer.from_skey(signing_key.read_text())
        if signer.vkey != verifier.vkey:
            raise UsageError(f"{signing_key} is not this station's signing key")
        key_text = signer.skey
    work = data_dir.parent / f".{data_dir.name}.restoring"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        paths = StationPaths(work)
        create_schema(paths.ledger_db, cp.origin)
        paths.vkey.write_text(verifier.vkey + "\n")
        paths.config.write_text(default_config(cp.origin.rsplit("/", 1)[-1], cp.origin))
        (paths.photos / "thumbs").mkdir(parents=True)
        try:
            checkpoints = _ledger(work, mirror, cp, verifier)
        except TileError as exc:
            raise MirrorDamagedError(f"the mirror is damaged: {exc}") from None
        photos = _copy_photos(mirror.root / "photos", paths.photos)
        missing_file = mirror.root / "photos-missing.txt"
        missing = len(missing_file.read_text().splitlines()) if missing_file.is_file() else 0
        if key_text is not None:
            fd = os.open(paths.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key_text + "\n")
        info = {
            "restored_from": str(mirror_dir),
            "source": mirror.meta().get("source", ""),
            "origin": cp.origin,
            "size": cp.size,
            "restored_at": format_ts(datetime.now(UTC)),
            "signing_key": key_text is not None,
        }
        (work / RESTORED_FILE).write_text(json.dumps(info, indent=1) + "\n")
        if data_dir.exists():
            data_dir.rmdir()
        os.replace(work, data_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if say is not None and missing:
        say(f"WARNING: {missing} photos were never at the station's /log/ (see the mirror's "
            "photos-missing.txt): `locker audit verify` will name them")
    return RestoreResult(data_dir, cp.size, checkpoints, photos, missing, key_text is not None)
