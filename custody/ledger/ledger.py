"""The custody ledger: append entries, sign checkpoints, serve proofs (DESIGN.md §3.3).

::

    with Ledger.open(data_dir) as ledger:
        e = ledger.append("item.checked_in", {"item": "EV-0001-7"}, actor="clerk:wang")
        note = ledger.checkpoint()
        proof = ledger.proof_text(e.seq)

One process writes (an exclusive lock file); inside it, one thread at a time (a lock). The
in-memory tree state is the list of perfect-subtree roots ("peaks") of the current size, so
an append hashes O(1) amortised nodes and writes those of level >= 4 (one per 16 entries);
proofs read O(log n) stored nodes and hash the lowest levels up from the leaf hashes.
Every append is one SQLite transaction: entry, new nodes and, when due, the automatic
checkpoint commit together or not at all.
"""

from __future__ import annotations

import binascii
import hashlib
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from custody.ledger import accel, canonical, merkle
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosigstore import cosigned_note
from custody.ledger.entry import FORMAT_VERSION, RESERVED_KEYS, Entry
from custody.ledger.errors import (
    EntryTooLargeError,
    InvalidEntryError,
    LedgerCorruptError,
    LedgerReadOnlyError,
    NoSuchEntryError,
    ReservedKeyError,
    StationNotFoundError,
)
from custody.ledger.note import Signer, Verifier
from custody.ledger.station import (
    LedgerSettings,
    StationPaths,
    ledger_settings,
    read_config,
    require_station,
)
from custody.ledger.store import (
    STORED_MIN_LEVEL,
    LedgerStore,
    StoredCheckpoint,
    WriterLock,
    check_integrity,
    connect,
    storage_error,
)
from custody.ledger.tiles import MAX_ENTRY_BYTES
from custody.ledger.tlogproof import format_tlog_proof
from custody.ports import Clock, SystemClock
from custody.textfile import read_key_text

ZERO_HASH = bytes(32)
# RFC 6962 hash prefixes, pre-seeded: copying a hasher is cheaper than creating one.
_LEAF_HASHER = hashlib.sha256(b"\x00")
_NODE_HASHER = hashlib.sha256(b"\x01")

__all__ = ["Entry", "Ledger", "format_ts", "parse_ts"]


def format_ts(when: datetime) -> str:
    """UTC, RFC 3339 with milliseconds and ``Z`` (e.g. ``2026-11-28T09:30:00.123Z``)."""
    if when.tzinfo is None:
        raise InvalidEntryError("the clock returned a naive datetime; it must be timezone-aware")
    u = when if when.tzinfo is UTC else when.astimezone(UTC)
    return u.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_ts(text: str) -> datetime:
    """The inverse of :func:`format_ts` (a stored ``ts`` or ``signed_at``)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


_fold = merkle.root_from_peaks


class Ledger:
    """An open ledger. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(
        self,
        paths: StationPaths,
        store: LedgerStore,
        *,
        settings: LedgerSettings,
        origin: str,
        signer: Signer | None,
        clock: Clock,
        writer_lock: WriterLock | None,
    ) -> None:
        self.paths = paths
        self.settings = settings
        self._store = store
        self._origin = origin
        self._signer = signer
        self._clock = clock
        self._writer_lock = writer_lock
        self._lock = threading.RLock()
        self._closed = False
        self._size = store.size()
        if store.count() != self._size:
            raise LedgerCorruptError(
                f"ledger has {store.count()} entries but its highest seq is {self._size - 1}"
            )
        self._peaks = [
            store.get_node(lv, ix) for lv, ix in merkle.CompactRange.peak_positions(self._size)
        ]
        self._last_leaf = store.get_node(0, self._size - 1) if self._size else ZERO_HASH
        latest = store.latest_checkpoint()
        self._cp_size = latest.size if latest else 0
        self._cp_at = parse_ts(latest.signed_at) if latest else clock.now()

    # ------------------------------------------------------------------ life cycle

    @classmethod
    def open(
        cls,
        data_dir: Path | str,
        *,
        clock: Clock | None = None,
        readonly: bool = False,
        check: bool = False,
    ) -> Ledger:
        """Open a station's ledger. The writer (default) takes the single-writer lock and
        needs ``station.key``; ``readonly=True`` reads alongside a running writer.
        ``check=True`` (the daemon, at start) first runs the file's integrity checks
        (:func:`check_integrity`, a full read of the file) and raises
        :class:`LedgerDamagedError` on a damaged one. A file SQLite cannot read raises
        that error in any case."""
        paths = require_station(data_dir)
        settings = ledger_settings(read_config(paths))
        writer_lock: WriterLock | None = None
        signer: Signer | None = None
        if not readonly:
            if not paths.key.is_file():
                restored = (paths.root / "restored.json").is_file()
                raise StationNotFoundError(
                    f"{paths.key} is missing: cannot sign checkpoints"
                    + (
                        "; this station was restored from a mirror without its signing key: "
                        "it can be read and verified but signs nothing until station.key is "
                        "put back from its backup (docs/offsite.md)"
                        if restored
                        else ""
                    )
                )
            writer_lock = WriterLock(paths.lock)
            writer_lock.acquire()
        try:
            if not readonly:
                signer = Signer.from_skey(read_key_text(paths.key, "signing key"))
            conn = connect(paths.ledger_db, readonly=readonly, synchronous=settings.synchronous)
            store = LedgerStore(conn)
            try:
                if check:
                    check_integrity(conn, paths.ledger_db)
                origin = store.meta("origin")
                if origin is None:
                    raise LedgerCorruptError(f"{paths.ledger_db} has no origin in its meta table")
                return cls(
                    paths,
                    store,
                    settings=settings,
                    origin=origin,
                    signer=signer,
                    clock=clock or SystemClock(),
                    writer_lock=writer_lock,
                )
            except BaseException:
                store.close()
                raise
        except sqlite3.Error as exc:
            if writer_lock is not None:
                writer_lock.release()
            raise storage_error(exc, paths.ledger_db, "opening") from None
        except BaseException:
            if writer_lock is not None:
                writer_lock.release()
            raise

    def close(self) -> None:
        """Close the database and release the writer lock."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._store.close()
            if self._writer_lock is not None:
                self._writer_lock.release()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ properties

    @property
    def origin(self) -> str:
        """The log's origin line (also the signing key's name)."""
        return self._origin

    @property
    def readonly(self) -> bool:
        return self._signer is None

    @property
    def size(self) -> int:
        """Number of entries."""
        with self._lock:
            return self._store.size() if self.readonly else self._size

    def verifier_key(self) -> str:
        """The verifier key text ``name+hexkeyid+base64(0x01||pubkey)``."""
        if self._signer is not None:
            return self._signer.vkey
        if not self.paths.vkey.is_file():
            raise StationNotFoundError(f"{self.paths.vkey} is missing")
        return Verifier.from_vkey(read_key_text(self.paths.vkey, "verifier key")).vkey

    # ------------------------------------------------------------------ appends

    def _writer(self) -> Signer:
        if self._closed:
            raise LedgerReadOnlyError("the ledger is closed")
        if self._signer is None:
            raise LedgerReadOnlyError("the ledger was opened read-only")
        return self._signer

    @staticmethod
    def _refuse(kind: object, body: object, actor: object) -> NoReturn:
        """Raise the error for an item whose kind, actor, body type or keys are wrong."""
        if not isinstance(kind, str) or not kind:
            raise InvalidEntryError("an entry needs a non-empty string kind")
        if not isinstance(actor, str) or not actor:
            raise InvalidEntryError(f"{kind}: an entry needs a non-empty string actor")
        if not isinstance(body, Mapping):
            raise InvalidEntryError(
                f"{kind}: the body must be a mapping, not {type(body).__name__}"
            )
        reserved = sorted(RESERVED_KEYS.intersection(body))
        if reserved:
            raise ReservedKeyError(
                f"{kind}: body key {reserved[0]!r} is reserved (the ledger sets "
                f"{', '.join(sorted(RESERVED_KEYS))})"
            )
        raise InvalidEntryError(f"{kind}: the body mapping's length does not match its keys")

    def _due(self, new_size: int, now: datetime) -> bool:
        if new_size <= self._cp_size:
            return False
        s = self.settings
        if s.checkpoint_every_entries and new_size // s.checkpoint_every_entries > (
            self._cp_size // s.checkpoint_every_entries
        ):
            return True
        age = (now - self._cp_at).total_seconds()
        # a clock now behind the last checkpoint's time jumped back: sign now rather than
        # wait for the wrong clock to catch up (custody.clockwatch records the jump)
        return bool(s.checkpoint_every_seconds and (age >= s.checkpoint_every_seconds or age < 0))

    def _sign(
        self, signer: Signer, size: int, root: bytes, now: datetime
    ) -> tuple[int, bytes, str, str]:
        note = signer.sign(Checkpoint(self._origin, size, root).body())
        return (size, root, note, format_ts(now))

    def append(self, kind: str, body: Mapping[str, Any], *, actor: str) -> Entry:
        """Append one entry durably and return it. Raises an :class:`InvalidEntryError`
        subclass (writing nothing) for a reserved key, a float, an integer >= 2**53 in
        magnitude, a non-string key or an entry of more than 65,535 bytes."""
        return self.append_many([(kind, body, actor)])[0]

    def _rows_reference(
        self, items: Sequence[tuple[str, Mapping[str, Any], str]], start: int, ts: str
    ) -> tuple[list[bytes], list[bytes], list[tuple[int, int, bytes]], list[bytes]]:
        """The entries of a batch in pure Python: ``(raws, leaves, nodes, peaks)``; raises
        (writing nothing) for the first bad item. The accelerator must give the same."""
        # One pass per item, written for speed: cheap checks, build the object, encode it
        # (the encoder refuses what a ledger value may not be), hash, push into the peaks.
        encode = canonical.canonical_bytes
        leaf_hasher = _LEAF_HASHER.copy
        node_hasher = _NODE_HASHER.copy
        b64 = binascii.b2a_base64
        stored_min = STORED_MIN_LEVEL
        peaks = list(self._peaks)
        size = start
        leaf = self._last_leaf
        prev = b64(leaf, newline=False).decode()
        raws: list[bytes] = []
        leaves: list[bytes] = []
        nodes: list[tuple[int, int, bytes]] = []
        for kind, body, actor in items:
            if not (type(kind) is str and kind and type(actor) is str and actor) or (
                type(body) is not dict and not isinstance(body, Mapping)
            ):
                if not (isinstance(kind, str) and kind and isinstance(actor, str) and actor):
                    self._refuse(kind, body, actor)
                if not isinstance(body, Mapping):
                    self._refuse(kind, body, actor)
            obj: dict[str, Any] = {
                "v": FORMAT_VERSION,
                "seq": size,
                "prev": prev,
                "ts": ts,
                "kind": kind,
                "actor": actor,
                **body,
            }
            if len(obj) != 6 + len(body):  # a body key overwrote a reserved one
                self._refuse(kind, body, actor)
            try:
                raw = encode(obj)
            except canonical.CanonicalError as exc:
                raise canonical.CanonicalError(f"{kind}: {exc}") from None
            # hashers copied from a pre-seeded one: cheaper than a new OpenSSL context
            hasher = leaf_hasher()
            hasher.update(raw)
            leaf = hasher.digest()
            raws.append(raw)
            leaves.append(leaf)
            # push the leaf into the peaks, keeping the new nodes of the stored levels
            if size & 1:
                h, n, level = leaf, size, 0
                while n & 1:
                    hasher = node_hasher()
                    hasher.update(peaks.pop())
                    hasher.update(h)
                    h = hasher.digest()
                    n >>= 1
                    level += 1
                    if level >= stored_min:
                        nodes.append((level, n, h))
                peaks.append(h)
            else:
                peaks.append(leaf)
            size += 1
            prev = b64(leaf, newline=False).decode()
        return raws, leaves, nodes, peaks

    @staticmethod
    def _too_large(
        items: Sequence[tuple[str, Mapping[str, Any], str]], raws: Sequence[bytes]
    ) -> NoReturn:
        i = next(i for i, raw in enumerate(raws) if len(raw) > MAX_ENTRY_BYTES)
        raise EntryTooLargeError(
            f"{items[i][0]}: the entry would be {len(raws[i]):,} bytes; a ledger entry is at "
            f"most {MAX_ENTRY_BYTES:,} bytes (a tlog-tiles entry bundle stores its length in "
            "16 bits): keep large content in the photo store and reference it by hash"
            + (f" (item {i} of the batch)" if len(raws) > 1 else "")
        )

    def append_many(self, items: Sequence[tuple[str, Mapping[str, Any], str]]) -> list[Entry]:
        """Append ``(kind, body, actor)`` items in ONE transaction: all or none."""
        with self._lock:
            signer = self._writer()
            now = self._clock.now()
            ts = format_ts(now)
            start = self._size
            rows = None
            native = accel.NATIVE
            if native is not None:
                # The C accelerator builds, encodes and hashes the batch in one call; it
                # declines anything unusual (including every error) and the reference below
                # redoes the batch, from a fresh copy of the peaks.
                peaks = list(self._peaks)
                try:
                    raws, leaves, nodes = native.append_batch(
                        items if type(items) is list else list(items),
                        start,
                        self._last_leaf,
                        ts,
                        peaks,
                        STORED_MIN_LEVEL,
                    )
                    rows = (raws, leaves, nodes, peaks)
                except native.Unsupported:
                    rows = None
            if rows is None:
                rows = self._rows_reference(items, start, ts)
            raws, leaves, nodes, peaks = rows
            if not raws:
                return []
            if max(map(len, raws)) > MAX_ENTRY_BYTES:
                self._too_large(items, raws)
            size = start + len(raws)
            leaf = leaves[-1]
            cp = self._sign(signer, size, _fold(peaks), now) if self._due(size, now) else None
            try:
                self._store.append(start, raws, leaves, nodes, cp)
            except sqlite3.IntegrityError as exc:
                raise LedgerCorruptError(f"could not append at seq {start}: {exc}") from None
            except sqlite3.Error as exc:  # a full disk: nothing of the batch was written
                raise storage_error(exc, self.paths.ledger_db, "appending to") from None
            self._size, self._last_leaf, self._peaks = size, leaf, peaks
            if cp is not None:
                self._cp_size, self._cp_at = size, now
        return list(map(Entry, range(start, size), leaves, raws))

    # ------------------------------------------------------------------ checkpoints

    def checkpoint(self) -> str:
        """Sign and store a checkpoint at the current size; return its note text. When the
        latest checkpoint already has this size its (identical, deterministic) note is
        returned instead of storing a duplicate."""
        with self._lock:
            signer = self._writer()
            latest = self._store.latest_checkpoint()
            if latest is not None and latest.size == self._size:
                return latest.note
            now = self._clock.now()
            cp = self._sign(signer, self._size, _fold(self._peaks), now)
            try:
                self._store.add_checkpoint(*cp)
            except sqlite3.Error as exc:
                raise storage_error(exc, self.paths.ledger_db, "signing a checkpoint in") from None
            self._cp_size, self._cp_at = self._size, now
            return cp[2]

    def maybe_checkpoint(self) -> str | None:
        """For a timer: sign a checkpoint if entries are waiting and one is due (by count or
        by age). Returns the new note, or ``None`` when nothing was due."""
        with self._lock:
            self._writer()
            if not self._due(self._size, self._clock.now()):
                return None
            return self.checkpoint()

    def latest_checkpoint(self) -> str | None:
        """The latest signed checkpoint note, or ``None`` if none was ever signed."""
        with self._lock:
            latest = self._store.latest_checkpoint()
        return None if latest is None else latest.note

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every stored checkpoint, oldest first."""
        with self._lock:
            return self._store.checkpoints()

    # ------------------------------------------------------------------ reads and proofs

    def entry(self, seq: int) -> Entry:
        """One entry by sequence number; raises :class:`NoSuchEntryError`."""
        with self._lock:
            raw, leaf = self._store.row(seq)
        return Entry(seq, leaf, raw, canonical.decode(raw))

    def entries(self, start: int = 0, stop: int | None = None) -> Iterator[Entry]:
        """Entries ``start <= seq < stop`` in order, read in batches (no lock held between)."""
        pos = start
        while stop is None or pos < stop:
            end = pos + 1024 if stop is None else min(stop, pos + 1024)
            with self._lock:
                rows = list(self._store.iter_rows(pos, end))
            if not rows:
                return
            for seq, raw, leaf in rows:
                yield Entry(seq, bytes(leaf), bytes(raw), canonical.decode(bytes(raw)))
            pos = rows[-1][0] + 1

    def _check_size(self, size: int) -> int:
        current = self.size
        if not 0 <= size <= current:
            raise NoSuchEntryError(f"tree size {size} is outside 0..{current}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """The Merkle root of the first ``size`` entries (default: all)."""
        with self._lock:
            n = self._check_size(self.size if size is None else size)
            return merkle.root_at(n, self._store.get_node)

    def inclusion_proof(self, seq: int, size: int | None = None) -> list[bytes]:
        """RFC 6962 inclusion proof of entry ``seq`` in the tree of ``size`` entries."""
        with self._lock:
            n = self._check_size(self.size if size is None else size)
            if not 0 <= seq < n:
                raise NoSuchEntryError(f"entry {seq} is not in a tree of size {n}")
            return merkle.inclusion_proof(seq, n, self._store.get_node)

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        """RFC 6962 consistency proof from size ``old`` to size ``new`` (default: all)."""
        with self._lock:
            n = self._check_size(self.size if new is None else new)
            if not 0 < old <= n:
                raise NoSuchEntryError(f"no consistency proof from size {old} to size {n}")
            return merkle.consistency_proof(old, n, self._store.get_node)

    def proof_text(self, seq: int) -> str:
        """A ``tlog-proof@v1`` for entry ``seq`` (its bytes as ``extra``) against the latest
        checkpoint (with its witnesses' cosignatures), signing a new checkpoint first if none
        covers the entry yet."""
        with self._lock:
            raw, _leaf = self._store.row(seq)
            latest = self._store.latest_checkpoint()
            if latest is None or latest.size <= seq:
                if self.readonly:
                    raise LedgerReadOnlyError(
                        f"no signed checkpoint covers entry {seq} yet and this ledger is "
                        "open read-only (the writer signs one within its checkpoint interval)"
                    )
                self.checkpoint()
                latest = self._store.latest_checkpoint()
                assert latest is not None
            proof = merkle.inclusion_proof(seq, latest.size, self._store.get_node)
            # the checkpoint travels with the witnesses' cosignatures the station holds
            note = cosigned_note(self.paths.root, latest.note)
            return format_tlog_proof(seq, proof, note, raw)
