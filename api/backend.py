"""The API's read side of the ledger: one thread owns the ledger handle and the derived state.

SQLite handles must stay on the thread that made them, and the ledger and the derived
index are read together (the index is caught up to the ledger's size before it answers),
so every read runs on one worker thread, off the event loop: handlers ``await
backend.call(fn)`` and ``fn`` receives the thread's :class:`Reader`.

Before each call the reader catches up with entries the ledger gained since the last one
(written by the daemon in this process or another), so the index and the custody
projection are never stale by more than the call that notices them.

At start the custody state is restored from the snapshot (:mod:`api.snapshot`) when it
still fits the ledger, and folded on from there; otherwise it is rebuilt from entry 0. A
new snapshot is saved once the state is at least ``snapshot_every`` entries past the last
one (as a task of its own on the ledger thread, queued behind the requests already
waiting, so that the first answers after a long build do not wait for it), and on
shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from api.auth import Principal
from api.custody_view import CustodyView
from api.errors import AccessRefusedError, NotCoveredError, NotFoundError
from api.index import ItemIndex, references
from api.snapshot import NoSnapshotError, SnapshotFile, SnapshotRejectedError, gc_paused
from custody.ledger import Entry, Ledger
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.cosigstore import cosigned_note
from custody.ledger.errors import NoSuchEntryError
from custody.ledger.note import split_note
from custody.ledger.tlogproof import format_tlog_proof
from custody.projection import ProjectionError, ProjectionStateError
from custody.queries import alarms_by_place, compartments_by_cabinet
from custody.settings import RulesSettings

T = TypeVar("T")
log = logging.getLogger("api")

# Entries read per step when catching up (a million entries: 50 steps, bounded memory).
CATCH_UP_BATCH = 20_000
# Save the custody state at most once per this many new entries (and on shutdown). Saving
# a million-entry station's state takes about 3 s on the ledger thread; folding this many
# entries at the next start, about 2 s.
SNAPSHOT_EVERY = 50_000


class Reader:
    """Thread-confined handles: the ledger, the derived index, the custody projection."""

    def __init__(
        self,
        data_dir: Path,
        rules: RulesSettings | None = None,
        stopping: threading.Event | None = None,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:
        self.data_dir = data_dir
        self.stopping = stopping or threading.Event()
        self.snapshot_every = snapshot_every
        self._stack = contextlib.ExitStack()
        # Read-only: the daemon (or nobody) is the single writer; the API never appends.
        self.ledger = self._stack.enter_context(Ledger.open(data_dir, readonly=True))
        self.index = ItemIndex(data_dir)
        self._stack.callback(self.index.close)
        self._rules = rules
        self.custody = CustodyView(rules)
        self.snapshots = SnapshotFile(data_dir)
        self.restored_size = 0  # entries the custody state was restored from (0: replayed)
        self.snapshot_size = 0  # entries the snapshot on disk covers (as far as we know)
        self._restore_tried = False
        self._failed = False  # a fold raised: the state is not fit to be saved
        self._labels: list[str] = []
        self._labels_at = -1
        self._case_ids: list[str] = []
        self._cases_at = -1
        self._cabinets: dict[str, dict[str, set[str]]] = {}
        self._alarm_places: dict[str, list[int]] = {}
        self._cabinets_at = -1

    def refresh(self) -> None:
        """Catch the derived state up with the ledger's current size, in one pass."""
        if not self._restore_tried:
            self._restore_tried = True
            # Both derived stores are checked against the ledger once at start, even when
            # their sizes already equal the ledger's (then nothing below would look).
            self.index.check(self.ledger)
            self.restore()
        size = self.ledger.size
        if size == self.index.size == self.custody.size:
            return
        self.index.check(self.ledger)
        try:
            try:
                self._fold_to(size)
            except ProjectionError as exc:
                if not self.restored_size:
                    raise
                # The ledger does not fold onto the restored state: the snapshot was wrong
                # (written by a buggy version, say). Derived data loses: start again from 0.
                log.warning("the ledger does not fold onto the custody snapshot (%s): "
                            "folding it from entry 0", exc)
                self.custody = CustodyView(self._rules)
                self.restored_size = self.snapshot_size = 0
                self._fold_to(size)
        except BaseException:
            self._failed = True  # a half-folded entry must never reach a snapshot
            raise

    def _fold_to(self, size: int) -> None:
        pos = min(self.index.size, self.custody.size)
        while pos < size:
            if self.stopping.is_set():  # shutting down: the rest is folded next time
                return
            stop = min(size, pos + CATCH_UP_BATCH)
            batch = list(self.ledger.entries(pos, stop))
            self.index.add([e for e in batch if e.seq >= self.index.size])
            for e in batch:
                if e.seq >= self.custody.size:
                    self.custody.apply(e.body)
            pos = stop

    @property
    def snapshot_due(self) -> bool:
        """Whether the state is ``snapshot_every`` entries or more past the last snapshot."""
        return not self._failed and self.custody.size - self.snapshot_size >= self.snapshot_every

    def restore(self) -> bool:
        """Restore the custody state from the snapshot if it fits the ledger; whether it did.

        Only before anything is folded. A missing, mismatched or damaged snapshot is logged
        and ignored: the state is then rebuilt from the ledger, which is always right.
        """
        if self.custody.size:
            return False
        t = time.perf_counter()
        try:
            with gc_paused():
                snap = self.snapshots.read(self.ledger)
                if not self._body_size_ok(snap.body, snap.size):
                    raise SnapshotRejectedError("snapshot body is of another size than its header")
                self.custody.restore(snap.body)
        except NoSnapshotError:
            log.info("no custody snapshot: folding the ledger from entry 0")
            return False
        except (SnapshotRejectedError, ProjectionStateError) as exc:
            log.warning("custody snapshot ignored, folding the ledger from entry 0: %s", exc)
            return False
        self.restored_size = self.snapshot_size = self.custody.size
        log.info(
            "custody state restored from %s at %d entries in %.2f s (ledger: %d)",
            self.snapshots.path.name, self.custody.size, time.perf_counter() - t,
            self.ledger.size,
        )
        return True

    @staticmethod
    def _body_size_ok(body: Mapping[str, object], size: int) -> bool:
        projection = body.get("projection")
        return isinstance(projection, dict) and projection.get("size") == size

    def save_snapshot(self) -> None:
        """Save the custody state as the snapshot (when it has grown since the last one).

        Failing to save (a full disk, a read-only data directory) is logged, not raised:
        the snapshot only saves time at the next start.
        """
        size = self.custody.size
        if self._failed or size <= self.snapshot_size:
            return
        t = time.perf_counter()
        try:
            with gc_paused():
                nbytes = self.snapshots.write(self.ledger, size, self.custody.to_state())
        except (OSError, SnapshotRejectedError) as exc:
            log.warning("custody snapshot not saved: %s", exc)
            return
        self.snapshot_size = size
        log.info("custody snapshot saved at %d entries (%d bytes) in %.2f s", size, nbytes,
                 time.perf_counter() - t)

    def close(self) -> None:
        """Save the custody state if it moved on since the last snapshot; close every handle."""
        try:
            self.save_snapshot()
        finally:
            self._stack.close()

    def sorted_labels(self) -> list[str]:
        """Every item label, sorted (cached until the projection changes)."""
        if self._labels_at != self.custody.projection.size:
            self._labels = sorted(self.custody.items)
            self._labels_at = self.custody.projection.size
        return self._labels

    def sorted_case_ids(self) -> list[str]:
        """Every case id, sorted (cached until the projection changes)."""
        if self._cases_at != self.custody.projection.size:
            self._case_ids = sorted(self.custody.cases)
            self._cases_at = self.custody.projection.size
        return self._case_ids

    def cabinet_compartments(self) -> dict[str, dict[str, set[str]]]:
        """Cabinet id -> compartment -> labels stored there, as the ledger says (cached until
        the projection changes; the label sets are the projection's own: copy before they
        leave this thread)."""
        if self._cabinets_at != self.custody.projection.size:
            self._cabinets = compartments_by_cabinet(self.custody.projection)
            self._alarm_places = alarms_by_place(self.custody.projection)
            self._cabinets_at = self.custody.projection.size
        return self._cabinets

    def alarms_at(self) -> dict[str, list[int]]:
        """Compartment or cabinet -> seqs of its open alarms (cached like
        :meth:`cabinet_compartments`)."""
        self.cabinet_compartments()
        return self._alarm_places

    def case_seqs(self, case_id: str) -> list[int]:
        """Seqs of every entry naming the case or any of its items, in ledger order."""
        seqs = set(self.index.case_seqs(case_id))
        case = self.custody.cases.get(case_id)
        for label in case.items if case else ():
            seqs.update(self.index.item_seqs(label))
        return sorted(seqs)

    # ------------------------------------------------------------------ access checks

    def require_case(self, who: Principal, case_id: str) -> None:
        """404 for an unknown case, 403 (logged) for an officer not on it."""
        if case_id not in self.custody.cases:
            raise NotFoundError(f"no case {case_id!r}")
        if not self.custody.may_see_case(who, case_id):
            raise AccessRefusedError(who, f"case {case_id} is not a case of officer {who.person}")

    def require_item(self, who: Principal, label: str) -> None:
        """404 for an unknown item, 403 (logged) for an officer not on its case."""
        if label not in self.custody.items:
            raise NotFoundError(f"no item {label!r}")
        if not self.custody.may_see_item(who, label):
            raise AccessRefusedError(
                who, f"item {label} belongs to no case of officer {who.person}"
            )

    def require_entry(self, who: Principal, seq: int) -> Entry:
        """The entry; 403 (logged) for an officer when it is not about his or her cases."""
        entry = self.entry(seq)
        if who.sees_everything:
            return entry
        refs = references(entry.body)
        items = self.custody.items
        cases = set(refs.cases)
        cases.update(items[x].case_id for x in refs.items if x in items)
        if not cases or not all(self.custody.may_see_case(who, c) for c in cases):
            raise AccessRefusedError(
                who, f"entry {seq} is not about a case of officer {who.person}"
            )
        return entry

    def require_photo(self, who: Principal, sha256: str) -> None:
        """403 (logged) for an officer when no entry of his or her cases references it."""
        if not who.sees_everything and not self.photo_visible(who, sha256):
            raise AccessRefusedError(
                who, f"photo {sha256} belongs to no case of officer {who.person}"
            )

    def photo_visible(self, who: Principal, sha256: str) -> bool:
        """Whether an officer may see a photo: some entry of his or her cases references it."""
        for seq in self.index.photo_seqs(sha256):
            refs = references(self.ledger.entry(seq).body)
            cases = set(refs.cases)
            items = self.custody.items
            cases.update(items[x].case_id for x in refs.items if x in items)
            if any(self.custody.may_see_case(who, c) for c in cases):
                return True
        return False

    # ------------------------------------------------------------------ ledger reads

    def entry(self, seq: int) -> Entry:
        """One entry; :class:`NotFoundError` outside the ledger."""
        try:
            return self.ledger.entry(seq)
        except NoSuchEntryError:
            raise NotFoundError(f"no entry {seq}: the ledger holds {self.ledger.size}") from None

    def latest_checkpoint(self) -> tuple[str, int] | None:
        """The latest signed checkpoint note, with the witnesses' cosignatures the station
        holds for it, and the tree size it commits to."""
        note = self.ledger.latest_checkpoint()
        if note is None:
            return None
        note = cosigned_note(self.ledger.paths.root, note)
        text, _sigs = split_note(note)
        return note, Checkpoint.parse(text).size

    def proof_text(self, seq: int, checkpoint: tuple[str, int] | None = None) -> str:
        """A ``tlog-proof@v1`` for entry ``seq`` against ``checkpoint`` (default: the latest).

        Raises :class:`NotCoveredError` when no signed checkpoint covers the entry yet: the
        API is read-only and never signs one itself.
        """
        entry = self.entry(seq)
        cp = checkpoint if checkpoint is not None else self.latest_checkpoint()
        if cp is None or cp[1] <= seq:
            why = "no checkpoint" if cp is None else f"the latest checkpoint covers {cp[1]}"
            raise NotCoveredError(
                f"entry {seq} is not covered by a signed checkpoint yet ({why}); the station "
                "signs one within its checkpoint interval"
            )
        note, size = cp
        proof = self.ledger.inclusion_proof(seq, size)
        return format_tlog_proof(seq, proof, note, entry.raw)


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("building the API's derived state failed: %s", exc, exc_info=exc)


class Backend:
    """Runs :class:`Reader` work on a dedicated thread."""

    def __init__(
        self,
        data_dir: Path,
        rules: RulesSettings | None = None,
        *,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:
        self.data_dir = Path(data_dir)
        self._rules = rules
        self.snapshot_every = snapshot_every
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="api-ledger")
        self._reader: Reader | None = None
        self.ready = False  # True once the derived state has caught up with the ledger
        self._save_queued = False  # a snapshot save waits on the ledger thread
        self.stopping = threading.Event()

    def _open(self) -> Reader:
        if self._reader is None:
            self._reader = Reader(
                self.data_dir, self._rules, self.stopping, snapshot_every=self.snapshot_every
            )
        return self._reader

    def _warm(self) -> None:
        self._open().refresh()
        self.ready = True
        self._save_later()

    def _save_later(self) -> None:
        """Queue a snapshot save on the ledger thread if one is due (runs on that thread)."""
        reader = self._reader
        if reader is None or self._save_queued or self.stopping.is_set() or not (
            reader.snapshot_due
        ):
            return
        self._save_queued = True
        try:
            self._pool.submit(self._save)
        except RuntimeError:  # the pool is shutting down: close() saves instead
            self._save_queued = False

    def _save(self) -> None:
        self._save_queued = False
        if self._reader is not None and self._reader.snapshot_due:
            self._reader.save_snapshot()

    def start(self) -> None:
        """Open the ledger and build the derived state (blocks until done)."""
        self._pool.submit(self._warm).result()

    async def start_async(self) -> None:
        """Open the ledger (errors surface here), then build the derived state in the
        background: the server listens at once and requests queue behind the build on the
        ledger thread (at a million entries the build takes a minute or more)."""
        await asyncio.get_running_loop().run_in_executor(self._pool, self._open)
        future = self._pool.submit(self._warm)
        future.add_done_callback(_log_failure)

    def stop(self) -> None:
        """Close the handles and the thread."""

        self.stopping.set()  # a long first build stops at its next batch

        def close() -> None:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

        self._pool.submit(close).result()
        self._pool.shutdown(wait=True)

    def _run(self, fn: Callable[[Reader], T]) -> T:
        # Opened here too when the app is mounted in another app that never ran our lifespan.
        reader = self._open()
        reader.refresh()
        try:
            return fn(reader)
        finally:
            self._save_later()

    async def call(self, fn: Callable[[Reader], T]) -> T:
        """Run ``fn(reader)`` on the ledger thread and return its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run, fn)

    def call_sync(self, fn: Callable[[Reader], T]) -> T:
        """Run ``fn(reader)`` on the ledger thread from synchronous code (tests, reports)."""
        return self._pool.submit(self._run, fn).result()
