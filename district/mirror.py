"""``locker mirror``: pull a station's published log (C2SP tlog-tiles at ``/log/``) into an
off-site directory, verifying everything before it is stored.

The mirror directory ``MDIR`` is itself a tlog-tiles log (``checkpoint``, ``tile/...``, the
same bytes as the station's) plus:

- ``station.vkey``: the station's verifier key, given with ``--key`` on the first pull or
  pinned from ``/log/key`` on first use; every later checkpoint must verify with it;
- ``mirror.json``: the log's origin (pinned) and the last source URL;
- ``checkpoints/<size>.json``: every checkpoint the mirror accepted, as fetched (signature
  lines of keys it does not know, such as witness cosignatures, kept verbatim and merged
  across fetches), with the time it was first seen;
- ``photos/<aa>/<sha256>``: every photo an entry references, checked against its SHA-256
  and size; ``photos-missing.txt`` lists those the station could not serve (retried);
- ``FORK`` and ``forks/``: the alarm and the conflicting checkpoint, when there is a fork.

A pull: fetch the checkpoint and check its signature; check that the tree it commits to
extends the last accepted one (a consistency proof computed from the station's tiles, each
tile checked against the new signed root first) -- or record a FORK; then fetch, check and
store the tiles that are not yet held, top level first; each level-0 tile with its entry
bundle (every entry against its leaf hash) and the photos its entries name; and only then
the new ``checkpoint``. Every file is written atomically, so a pull killed at any point
resumes where it stopped, fetching and storing nothing twice.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from custody.errors import LockerError, NotVerifiedError, UsageError
from custody.ledger import canonical, merkle
from custody.ledger.checkpoint import Checkpoint, CheckpointError
from custody.ledger.ledger import format_ts
from custody.ledger.note import NoteError, Verifier, open_note, split_note
from custody.ledger.publish import TileDir, checkpoint_size, write_atomic
from custody.ledger.tiles import (
    TILE_WIDTH,
    TileError,
    TileRef,
    VerifiedTiles,
    check_bundle,
    split_tile,
    tiles_for_size,
)

FORMAT = "evidence-locker-mirror/1"
_STORE_BATCH = 16  # checked tiles stored together (their fsyncs in parallel)
_SHA = re.compile(r"[0-9a-f]{64}")
_SHA_IN = re.compile(rb'"sha256":"([0-9a-f]{64})"')
Say = Callable[[str], None]


class MirrorError(LockerError):
    """The station served something the mirror refuses, or could not be reached."""


class RefusedError(MirrorError, NotVerifiedError):
    """A response failed verification: nothing from it was stored (exit 1: does not verify)."""


class GoneError(MirrorError):
    """A file the checkpoint needs is gone (the station published a newer checkpoint and
    removed a superseded partial tile meanwhile): pull again from the newer one."""


class ForkError(MirrorError):
    """The station signed a checkpoint inconsistent with one the mirror holds."""


@dataclass(frozen=True)
class PullResult:
    size: int
    previous: int
    tiles: int
    bundles: int
    photos: int
    missing_photos: int


def merge_signatures(held: str, new: str) -> str:
    """``held`` with the signature lines of ``new`` it lacks (same text required)."""
    text, _ = split_note(held)
    text2, _ = split_note(new)
    if text != text2:
        raise ValueError("notes of different texts cannot be merged")
    lines = held[len(text) + 1 :].splitlines(keepends=True)
    for line in new[len(text2) + 1 :].splitlines(keepends=True):
        if line not in lines:
            lines.append(line)
    return text + "\n" + "".join(lines)


class MirrorDir:
    """The mirror's directory and what it holds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tiles = TileDir(root)

    @property
    def vkey(self) -> Path:
        return self.root / "station.vkey"

    @property
    def meta_path(self) -> Path:
        return self.root / "mirror.json"

    def meta(self) -> dict[str, str]:
        try:
            data = json.loads(self.meta_path.read_text())
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def photo(self, sha: str) -> Path:
        return self.root / "photos" / sha[:2] / sha

    def checkpoint_file(self, size: int) -> Path:
        return self.root / "checkpoints" / f"{size}.json"

    def accepted(self) -> list[tuple[int, str, str]]:
        """``(size, note, first_seen)`` of every accepted checkpoint, by size."""
        out = []
        d = self.root / "checkpoints"
        if d.is_dir():
            for p in d.glob("*.json"):
                rec = json.loads(p.read_text())
                out.append((int(rec["size"]), str(rec["note"]), str(rec["first_seen"])))
        return sorted(out)

    def accept(self, size: int, note: str, now: str) -> str:
        """Store an accepted checkpoint (merging the signature lines of one already held
        at that size); returns the stored note."""
        path = self.checkpoint_file(size)
        first_seen = now
        if path.is_file():
            rec = json.loads(path.read_text())
            first_seen = str(rec["first_seen"])
            note = merge_signatures(str(rec["note"]), note)
            if note == rec["note"]:
                return note
        rec = {"size": size, "note": note, "first_seen": first_seen}
        write_atomic(path, (json.dumps(rec, ensure_ascii=False, indent=1) + "\n").encode())
        return note

    def complete_size(self) -> int:
        """The size of the last checkpoint mirrored completely (0 for none)."""
        note = self.tiles.read_checkpoint()
        return 0 if note is None else checkpoint_size(note)[0]

    def clean_temporaries(self) -> None:
        """Remove the temporary files a killed pull left (never a finished file)."""
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(".") and name.endswith(".tmp"):
                    os.unlink(os.path.join(dirpath, name))


class Mirror:
    """Pull one station's log into one mirror directory."""

    def __init__(
        self,
        mdir: Path,
        url: str,
        *,
        token: str | None = None,
        key: str | None = None,
        client: httpx.Client | None = None,
        say: Say | None = None,
    ) -> None:
        self.dir = MirrorDir(mdir)
        if urlsplit(url).path.strip("/") == "":
            url = url.rstrip("/") + "/log"  # a station's base URL: its log is at /log/
        self.url = url.rstrip("/") + "/"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = client or httpx.Client(timeout=60.0)
        self.headers = headers
        self.key_text = key
        self.say: Say = say or (lambda _m: None)
        self._have_photos: set[str] = set()  # checked present in this run
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="mirror-store")
        self._writes: deque[Future[tuple[int, int]]] = deque()
        self._written = [0, 0]  # tiles, bundles stored by the writer in this pull

    def close(self) -> None:
        self._writer.shutdown()
        self.http.close()

    # ------------------------------------------------------------------ network

    def _get(self, path: str) -> bytes:
        try:
            r = self.http.get(self.url + path, headers=self.headers)
        except httpx.HTTPError as exc:
            raise MirrorError(f"GET {self.url}{path}: {exc}") from None
        if r.status_code == 404 and ".p/" in path:
            raise GoneError(f"GET {self.url}{path}: HTTP 404 (superseded by a newer checkpoint)")
        if r.status_code != 200:
            hint = ""
            if r.status_code in (401, 403):
                hint = " (entry bundles and photos need a token of role auditor or mirror)"
            raise MirrorError(f"GET {self.url}{path}: HTTP {r.status_code}{hint}")
        return r.content

    def _remote(self, ref: TileRef) -> bytes:
        return self._get(ref.path)

    def _local_first(self, ref: TileRef) -> bytes:
        # held tiles are checked again against the new root like any other (cheap), which
        # also proves the held copy is part of the new tree
        if self.dir.tiles.has(ref):
            return self.dir.tiles.read(ref)
        return self._remote(ref)

    # ------------------------------------------------------------------ key and checkpoint

    def verifier(self) -> Verifier:
        """The station's key: ``--key``, else the pinned one, else the one the station
        serves (trust on first use, said loudly). It is pinned once a checkpoint verifies
        with it."""
        pinned = self.dir.vkey.read_text().strip() if self.dir.vkey.is_file() else None
        if self.key_text is not None:
            text = self.key_text.strip()
            if "+" not in text or Path(text).is_file():
                text = Path(text).read_text().strip()
            given = Verifier.from_vkey(text)
            if pinned is not None and Verifier.from_vkey(pinned) != given:
                raise UsageError(
                    f"--key differs from the key pinned in {self.dir.vkey}: a station's key "
                    "does not change; if it really did, mirror it into a new directory"
                )
            return given
        if pinned is not None:
            return Verifier.from_vkey(pinned)
        fetched = Verifier.from_vkey(self._get("key").decode().strip())
        self.say(
            f"pinned the station's key on first use: {fetched.vkey} -- compare it with "
            "`locker audit key` at the station (or pass --key next time)"
        )
        return fetched

    def _checkpoint(self, verifier: Verifier) -> tuple[str, Checkpoint]:
        note = self._get("checkpoint").decode()
        try:
            cp = Checkpoint.parse(open_note(note, [verifier]))
        except (NoteError, CheckpointError) as exc:
            raise RefusedError(f"the station's checkpoint is refused: {exc}") from None
        origin = self.dir.meta().get("origin", verifier.name)
        if cp.origin != origin:
            raise RefusedError(f"the checkpoint is for log {cp.origin!r}, not {origin!r}")
        return note, cp

    # ------------------------------------------------------------------ fork

    def _fork(self, held: tuple[int, str], note: str, cp: Checkpoint, why: str) -> ForkError:
        held_size, held_note = held
        held_root = checkpoint_size(held_note)[1]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        evidence = self.dir.root / "forks" / f"{stamp}-size-{cp.size}.note"
        write_atomic(evidence, note.encode())
        held_file = self.dir.checkpoint_file(held_size)
        alarm = (
            f"ALARM FORK log {cp.origin}: the station signed size {cp.size} root "
            f"{base64.b64encode(cp.root).decode()}, inconsistent with the held size {held_size} "
            f"root {base64.b64encode(held_root).decode()} ({why}); both checkpoints are kept: "
            f"{held_file} and {evidence}. The mirror stops following this log."
        )
        write_atomic(self.dir.root / "FORK", (alarm + "\n").encode())
        return ForkError(alarm)

    def _check_extends(self, held: tuple[int, str], note: str, cp: Checkpoint) -> None:
        """Raise :class:`ForkError` unless the new tree extends the held one."""
        held_size, held_note = held
        _, held_root, _ = checkpoint_size(held_note)
        if cp.size == held_size:
            if cp.root != held_root:
                raise self._fork(held, note, cp, "same size, another root")
            return
        if cp.size < held_size:
            older = VerifiedTiles(held_size, held_root, self._local_first)
            try:
                same = merkle.root_at(cp.size, older.get_node) == cp.root
            except TileError as exc:
                raise MirrorError(f"the mirror's own tiles do not verify: {exc}") from None
            if not same:
                raise self._fork(held, note, cp, "an older size with another root")
            return
        remote = VerifiedTiles(cp.size, cp.root, self._remote)
        try:
            proof = merkle.consistency_proof(held_size, cp.size, remote.get_node)
        except TileError as exc:
            raise RefusedError(f"the station's tiles do not match its checkpoint: {exc}") from None
        try:
            merkle.verify_consistency(held_size, cp.size, held_root, cp.root, proof)
        except merkle.ProofError as exc:
            raise self._fork(held, note, cp, f"consistency proof: {exc}") from None

    # ------------------------------------------------------------------ pull

    def _photos_missing(self) -> Path:
        return self.dir.root / "photos-missing.txt"

    def _fetch_photo(self, sha: str, size: object) -> bool:
        """Fetch, check and store one photo; ``False`` when the station does not have it."""
        if not _SHA.fullmatch(sha) or type(size) is not int:
            raise RefusedError(f"an entry references a malformed photo {sha!r} ({size!r})")
        dest = self.dir.photo(sha)
        if dest.is_file():
            return True
        tmp = self.dir.root / ".incoming" / f".{sha}.{os.getpid()}.tmp"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        n = 0
        try:
            with self.http.stream("GET", f"{self.url}photos/{sha}", headers=self.headers) as r:
                if r.status_code == 404:
                    return False
                if r.status_code != 200:
                    raise MirrorError(f"GET photos/{sha}: HTTP {r.status_code}")
                with tmp.open("wb") as f:
                    for chunk in r.iter_bytes(1 << 16):
                        h.update(chunk)
                        n += len(chunk)
                        f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
        except httpx.HTTPError as exc:
            tmp.unlink(missing_ok=True)
            raise MirrorError(f"GET photos/{sha}: {exc}") from None
        if h.hexdigest() != sha or n != size:
            tmp.unlink(missing_ok=True)
            raise RefusedError(
                f"photo {sha} is refused: its bytes hash to {h.hexdigest()} ({n} bytes, "
                f"the entry says {size})"
            )
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        return True

    def _photos_of(self, entries: list[bytes], seq0: int, missing: dict[str, str]) -> int:
        # most bundles name only photos already held: then nothing needs a parse (when one
        # is new, the references are found by the one rule, canonical.decode)
        if all(sha.decode() in self._have_photos for sha in set(_SHA_IN.findall(b"".join(
            raw for raw in entries if b'"sha256"' in raw
        )))):
            return 0
        fetched = 0
        for i, raw in enumerate(entries):
            if b'"sha256"' not in raw:
                continue
            named = _SHA_IN.findall(raw)
            if named and all(sha.decode() in self._have_photos for sha in named):
                continue
            refs: list[tuple[str, object]] = []
            try:
                canonical.decode(raw, refs)
            except canonical.CanonicalError as exc:
                raise RefusedError(f"entry {seq0 + i} is not ledger JSON: {exc}") from None
            for sha, size in refs:
                if sha in self._have_photos:
                    continue
                if self.dir.photo(sha).is_file():
                    self._have_photos.add(sha)
                    continue
                if self._fetch_photo(sha, size):
                    fetched += 1
                    missing.pop(sha, None)
                    self._have_photos.add(sha)
                else:
                    missing[sha] = f"{sha} {size} entry {seq0 + i}"
        return fetched

    def pull(self) -> PullResult:
        """One pull up to the station's current checkpoint (see the module text); when the
        station moves on mid-pull and removes a partial tile, again from its new one."""
        for _ in range(4):
            try:
                return self._pull_once()
            except GoneError as exc:
                self.say(f"{exc}: pulling again from the station's newer checkpoint")
        return self._pull_once()

    def _pull_once(self) -> PullResult:
        fork = self.dir.root / "FORK"
        if fork.is_file():
            raise ForkError(
                fork.read_text().strip() + f" (recorded earlier; remove {fork} after review to "
                "follow again)"
            )
        self.dir.root.mkdir(parents=True, exist_ok=True)
        with self.dir.tiles.locked():
            self.dir.clean_temporaries()
            verifier = self.verifier()
            note, cp = self._checkpoint(verifier)
            if not self.dir.vkey.is_file():
                write_atomic(self.dir.vkey, (verifier.vkey + "\n").encode())
            accepted = self.dir.accepted()
            if accepted:
                size, held_note, _ = accepted[-1]
                self._check_extends((size, held_note), note, cp)
                if cp.size < size:
                    self.say(f"the station serves an older checkpoint ({cp.size} < {size})")
                    return PullResult(size, size, 0, 0, 0, 0)
            now = format_ts(datetime.now(UTC))
            note = self.dir.accept(cp.size, note, now)
            meta = {"format": FORMAT, "origin": cp.origin, "source": self.url}
            if self.dir.meta() != meta:
                write_atomic(self.dir.meta_path, (json.dumps(meta, indent=1) + "\n").encode())
            return self._pull_tiles(note, cp)

    def _pull_tiles(self, note: str, cp: Checkpoint) -> PullResult:
        complete = self.dir.complete_size()
        tiles = self.dir.tiles
        vt = VerifiedTiles(cp.size, cp.root, self._local_first)
        refs = tiles_for_size(cp.size, min(complete, cp.size))
        n_tiles = n_bundles = n_photos = 0
        missing_path = self._photos_missing()
        missing: dict[str, str] = {}
        if missing_path.is_file():
            for line in missing_path.read_text().splitlines():
                sha = line.partition(" ")[0]
                if not self._fetch_photo(sha, self._size_hint(line)):
                    missing[sha] = line
        try:
            for ref in sorted((r for r in refs if r.level > 0), key=lambda r: -r.level):
                if not tiles.has(ref):
                    n_tiles += tiles.put(ref, vt.get(ref), compare=False)
            level0 = [
                r for r in refs if r.level == 0 and not (tiles.has(r) and tiles.has(r.bundle()))
            ]
            pending: list[tuple[TileRef, bytes, bytes]] = []
            self._written = [0, 0]
            try:
                for ref, tile, bundle in self._prefetch(level0):
                    data = vt.check(ref, tile)
                    bref = ref.bundle()
                    entries = check_bundle(bundle, split_tile(data, ref), bref)
                    n_photos += self._photos_of(entries, ref.index * TILE_WIDTH, missing)
                    pending.append((ref, data, bundle))
                    if len(pending) >= _STORE_BATCH:
                        self._store(pending)
                        pending = []
                if pending:
                    self._store(pending)
            finally:
                self._drain()  # what was checked is stored, whatever happens next
            n_tiles += self._written[0]
            n_bundles += self._written[1]
        except TileError as exc:
            raise RefusedError(f"refused (nothing from it stored): {exc}") from None
        if missing:
            write_atomic(missing_path, "".join(v + "\n" for v in missing.values()).encode())
            self.say(f"WARNING: {len(missing)} photos the entries name are not at the station "
                     f"(listed in {missing_path}; retried on every pull)")
        elif missing_path.is_file():
            missing_path.unlink()
        if tiles.read_checkpoint() != note:
            tiles.put_checkpoint(note)
        tiles.prune(complete, cp.size, until_full=False)  # the wider replaces the narrower
        return PullResult(cp.size, complete, n_tiles, n_bundles, n_photos, len(missing))

    def _prefetch(self, refs: list[TileRef]) -> Iterator[tuple[TileRef, bytes, bytes]]:
        """``(ref, tile bytes, bundle bytes)`` in order, fetched a few ahead on parallel
        connections (a bounded window: memory stays small whatever the log's size)."""
        def both(ref: TileRef) -> tuple[TileRef, bytes, bytes]:
            # a bundle held without its tile (a pull killed between the two) is checked
            # against the tile like a fetched one, not fetched again
            return ref, self._local_first(ref), self._local_first(ref.bundle())

        window: deque[Future[tuple[TileRef, bytes, bytes]]] = deque()
        with ThreadPoolExecutor(4, thread_name_prefix="mirror-fetch") as pool:
            it = iter(refs)
            try:
                for ref in itertools.islice(it, 8):
                    window.append(pool.submit(both, ref))
                while window:
                    got = window.popleft().result()
                    nxt = next(it, None)
                    if nxt is not None:
                        window.append(pool.submit(both, nxt))
                    yield got
            finally:
                for f in window:
                    f.cancel()

    def _store(self, pending: list[tuple[TileRef, bytes, bytes]]) -> None:
        """Store checked bundles, then their tiles (a tile held means all of it is; the
        photos its entries name were stored before), on the writer thread so the next
        tiles are checked meanwhile; at most two batches wait."""
        tiles = self.dir.tiles

        def write() -> tuple[int, int]:
            b = tiles.put_many([(ref.bundle(), bundle) for ref, _d, bundle in pending])
            t = tiles.put_many([(ref, data) for ref, data, _b in pending])
            return t, b

        self._writes.append(self._writer.submit(write))
        while len(self._writes) > 2:
            self._collect(self._writes.popleft())

    def _collect(self, fut: Future[tuple[int, int]]) -> None:
        t, b = fut.result()
        self._written[0] += t
        self._written[1] += b

    def _drain(self) -> None:
        while self._writes:
            self._collect(self._writes.popleft())

    @staticmethod
    def _size_hint(line: str) -> object:
        parts = line.split()
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
