"""Full verification of a ledger, re-derived from the raw rows (``locker audit verify``).

Nothing stored is trusted except the verifier key (the station's, or one the auditor
brings). From the entry bytes alone it re-derives, for every entry: canonical form (RFC
8785), ``seq`` and position, ``prev`` (the hash chain), the leaf hash (and compares the
stored one), and every referenced photo's SHA-256 and size; then the Merkle root at the
size of every stored and every auditor-supplied checkpoint, each checkpoint's signature,
and their mutual consistency (all roots are computed over ONE sequence of leaves, so
checkpoints that all match it are consistent with each other by construction).

The log is cut into chunks of ``2**16`` entries, checked by worker processes in parallel.
Because chunk boundaries are multiples of a power of two, the root at any size is the fold
of the chunk roots before it and the chunk-local perfect subtrees at that size, so workers
never need each other's hashes. Failure classes are listed in :data:`FAILURE_CLASSES`;
the first failure (lowest seq) is the verdict. See ``docs/ledger-format.md``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gc
import hashlib
import json
import multiprocessing
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from custody.ledger import accel, canonical, merkle

try:  # the fast path of the scan; without orjson every row takes the exact slow path
    import orjson
except ImportError:  # pragma: no cover - exercised only where orjson is absent
    orjson = None  # type: ignore[assignment]
from custody.ledger.checkpoint import Checkpoint, CheckpointError
from custody.ledger.cosign import WitnessKey, add_signature_lines, check_cosignatures
from custody.ledger.cosigstore import lines_at_sizes
from custody.ledger.errors import LedgerCorruptError
from custody.ledger.note import NoteError, Verifier, split_note
from custody.ledger.store import LedgerStore, connect
from custody.textfile import read_utf8_text

FAILURE_CLASSES: dict[str, str] = {
    "non_canonical": "entry bytes are not RFC 8785 canonical JSON of allowed values",
    "malformed": "entry lacks a required field or has one of the wrong type",
    "seq_mismatch": "an entry is missing, duplicated or out of place",
    "prev_mismatch": "an entry's prev is not the leaf hash of the entry before it",
    "leaf_mismatch": "entry bytes do not hash to the leaf hash stored when appended",
    "root_mismatch": "a checkpoint's root is not the root re-derived from the entries",
    "inconsistent_checkpoints": "two validly signed checkpoints describe different histories",
    "truncated": "a checkpoint commits to more entries than the log holds",
    "bad_signature": "a checkpoint's signature by the station key does not verify",
    "unknown_key": "a checkpoint is not signed by the station's (or the auditor's) key",
    "bad_checkpoint": "a checkpoint is malformed, for another log, or unlike its table row",
    "tree_state_mismatch": "the stored Merkle nodes do not match the entries",
    "photo_missing": "a referenced photo is not in the photo store",
    "photo_mismatch": "a referenced photo's SHA-256 or size differs from the entry",
    "not_cosigned": "a checkpoint lacks the witness cosignatures demanded (--witness, --quorum)",
    "bad_cosignature": "a witness's cosignature on a checkpoint does not verify",
}

CHUNK = 1 << 16
ZERO_PREV = base64.b64encode(bytes(32)).decode("ascii")
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
_SHA = re.compile(r"[0-9a-f]{64}")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Failure:
    """One verification failure. For checkpoint failures ``seq`` is the last entry the
    checkpoint covers (the fault lies at or before it); for ``truncated`` it is the first
    missing entry."""

    code: str
    seq: int | None
    message: str
    checkpoint_size: int | None = None

    def headline(self) -> str:
        """``class at seq N: message``, or ``class: message`` when no entry is named (a
        malformed checkpoint, or one of size 0)."""
        where = "" if self.seq is None else f" at seq {self.seq}"
        return f"{self.code}{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.code,
            "seq": self.seq,
            "message": self.message,
            "checkpoint_size": self.checkpoint_size,
        }


@dataclass
class VerifyReport:
    """The outcome. ``ok`` only when there is no failure at all."""

    origin: str
    size: int
    root: bytes
    checkpoints: int
    auditor_checkpoints: int
    photos_checked: int
    uncovered: int  # entries after the largest verified checkpoint (not yet signed)
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def first(self) -> Failure | None:
        return self.failures[0] if self.failures else None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "origin": self.origin,
            "size": self.size,
            "root": base64.b64encode(self.root).decode(),
            "checkpoints": self.checkpoints,
            "auditor_checkpoints": self.auditor_checkpoints,
            "photos_checked": self.photos_checked,
            "uncovered_entries": self.uncovered,
            "first_failure": self.first.to_json() if self.first else None,
            "failures": [f.to_json() for f in self.failures[:100]],
        }

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: {self.size} entries, root {base64.b64encode(self.root).decode()}, "
                f"{self.checkpoints} stored and {self.auditor_checkpoints} auditor checkpoints, "
                f"{self.photos_checked} photos"
                + (
                    f"; {self.uncovered} newest entries not yet in a checkpoint"
                    if self.uncovered
                    else ""
                )
            )
        return f"TAMPERED: {self.failures[0].headline()}"


# --------------------------------------------------------------------------- chunk scan


@dataclass
class ChunkResult:
    start: int
    rows: int
    first_prev: object
    last_leaf: bytes | None
    failure: Failure | None
    snapshots: dict[int, list[bytes]]
    final: list[bytes]
    photos: int


def _check_photo(
    photos: Path, sha: str, size: object, cache: dict[str, tuple[str, int] | None]
) -> str | None:
    """None when the photo is present and matches, else ``"code: message"``."""
    if not _SHA.fullmatch(sha):
        return f"photo_mismatch:photo reference {sha!r} is not a lowercase hex SHA-256"
    if sha not in cache:
        path = photos / sha[:2] / sha
        try:
            data = path.read_bytes()
            cache[sha] = (hashlib.sha256(data).hexdigest(), len(data))
        except FileNotFoundError:
            cache[sha] = None
    got = cache[sha]
    if type(size) is not int:
        return f"photo_mismatch:photo {sha} has a size that is not an integer: {size!r}"
    if got is None:
        return f"photo_missing:photo {sha} is not in the photo store"
    if got[0] != sha:
        return f"photo_mismatch:photo file {sha} hashes to {got[0]}"
    if got[1] != size:
        return f"photo_mismatch:photo {sha} is {got[1]} bytes, the entry says {size}"
    return None


def _diagnose(
    seq: int,
    expected: int,
    raw: bytes,
    stored_leaf: bytes | None,
    leaf: bytes,
    prev: str | None,
    photos: Path | None,
    photo_cache: dict[str, tuple[str, int] | None],
) -> tuple[tuple[str, str] | None, Any]:
    """The slow, exact check of one row: ``((class, message) or None, decoded object)``."""
    if seq != expected:
        return ("seq_mismatch", f"entry {expected} is missing (the next row is {seq})"), None
    refs: list[tuple[str, object]] = []
    try:
        obj = canonical.decode(raw, refs)
    except canonical.CanonicalError as exc:
        return ("non_canonical", f"entry {seq} is not valid ledger JSON: {exc}"), None
    if not canonical.is_canonical(raw, obj):
        return ("non_canonical", f"entry {seq} is not in RFC 8785 canonical form"), obj
    if type(obj) is not dict:
        return ("malformed", f"entry {seq} is not a JSON object"), obj
    if obj.get("seq") != seq or type(obj.get("seq")) is not int:
        return ("seq_mismatch", f"row {seq} holds an entry with seq {obj.get('seq')!r}"), obj
    if prev is not None and obj.get("prev") != prev:
        return (
            "prev_mismatch",
            f"entry {seq}'s prev is not the leaf hash of entry {seq - 1}",
        ), obj
    ts = obj.get("ts")
    if (
        obj.get("v") != 1
        or type(obj.get("kind")) is not str
        or type(obj.get("actor")) is not str
        or type(ts) is not str
        or not _TS.fullmatch(ts)
    ):
        return ("malformed", f"entry {seq} lacks a valid v, ts, kind or actor"), obj
    if stored_leaf is not None and stored_leaf != leaf:
        return (
            "leaf_mismatch",
            f"entry {seq}'s bytes do not hash to the leaf hash stored at append",
        ), obj
    if photos is not None:
        for sha, size in refs:
            problem = _check_photo(photos, sha, size, photo_cache)
            if problem is not None:
                code, msg = problem.split(":", 1)
                return (code, f"entry {seq}: {msg}"), obj
    return None, obj


def scan_rows(
    rows: Iterable[tuple[int, bytes, bytes | None]],
    start: int,
    snapshot_at: Sequence[int],
    photos: Path | None,
) -> ChunkResult:
    """Check one run of rows that starts at leaf ``start`` (a multiple of the chunk size, or
    0) and hash them into a chunk-local compact range, snapshotting its peaks after
    ``snapshot_at`` (local sizes). The first failure in the run is recorded.

    With the C accelerator built this is :func:`scan_batches` over batches of the rows;
    otherwise :func:`scan_rows_reference`. Both give the same :class:`ChunkResult`."""
    if accel.NATIVE is not None:
        return scan_batches(_batched(iter(rows), 4096), start, snapshot_at, photos)
    return scan_rows_reference(rows, start, snapshot_at, photos)


def _batched(
    it: Iterator[tuple[int, bytes, bytes | None]], size: int
) -> Iterator[list[tuple[int, bytes, bytes | None]]]:
    while batch := list(islice(it, size)):
        yield batch


def _first_prev(raw: object) -> object:
    """The ``prev`` of a chunk's first entry (for stitching chunks), if it can be read."""
    if type(raw) is not bytes:
        return None
    try:
        obj = canonical.decode(raw)
    except canonical.CanonicalError:
        return None
    return obj.get("prev") if type(obj) is dict else None


def scan_batches(
    batches: Iterable[list[tuple[int, bytes, bytes | None]]],
    start: int,
    snapshot_at: Sequence[int],
    photos: Path | None,
) -> ChunkResult:
    """:func:`scan_rows_reference`, with the C accelerator taking every row it can confirm
    (see ``_speedups.c``): each row it stops at is checked here by :func:`_diagnose`, which
    either names its failure or finds it good, and the scan goes on after it. After the
    first failure the accelerator only hashes (as the reference does)."""
    native = accel.NATIVE
    assert native is not None
    sha256 = hashlib.sha256
    wanted = tuple(sorted(set(snapshot_at)))
    snap_i = 0
    snapshots: dict[int, list[bytes]] = {}
    stack: list[bytes] = []
    count = 0
    prev_leaf: bytes | None = bytes(32) if start == 0 else None
    failure: Failure | None = None
    first_prev: object = None
    photo_cache: dict[str, tuple[str, int] | None] = {}
    photo_ok: dict[str, int] | None = {} if photos is not None else None
    for rows in batches:
        if not rows:
            continue
        if count == 0:
            first_prev = _first_prev(rows[0][1])
        i = 0
        n = len(rows)
        while i < n:
            i, count, snap_i, last = native.scan(
                rows,
                i,
                start + count,
                prev_leaf,
                stack,
                count,
                wanted,
                snap_i,
                snapshots,
                photo_ok,
                failure is None,
            )
            if last is not None:
                prev_leaf = last
            if i == n:
                break
            # the row the accelerator left to the reference
            seq, raw, stored_leaf = rows[i]
            if type(raw) is not bytes:
                raw = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else b""
            leaf = sha256(b"\x00" + raw).digest()
            if failure is None:
                expected = start + count
                prev_b64 = None if prev_leaf is None else base64.b64encode(prev_leaf).decode()
                bad, _obj = _diagnose(
                    seq, expected, raw, stored_leaf, leaf, prev_b64, photos, photo_cache
                )
                if bad is not None:
                    failure = Failure(bad[0], expected, bad[1])
                elif photo_ok is not None:  # new photos checked good on the slow path
                    for sha, got in photo_cache.items():
                        if got is not None and got[0] == sha:
                            photo_ok[sha] = got[1]
            merkle.push_peak(stack, count, leaf)
            count += 1
            prev_leaf = leaf
            if snap_i < len(wanted) and count == wanted[snap_i]:
                snapshots[count] = list(stack)
                snap_i += 1
            i += 1
    return ChunkResult(
        start=start,
        rows=count,
        first_prev=first_prev,
        last_leaf=prev_leaf if count else None,
        failure=failure,
        snapshots=snapshots,
        final=stack,
        photos=len(photo_cache),
    )


def scan_rows_reference(
    rows: Iterable[tuple[int, bytes, bytes | None]],
    start: int,
    snapshot_at: Sequence[int],
    photos: Path | None,
) -> ChunkResult:
    """:func:`scan_rows` in pure Python: the reference the accelerator is tested against.

    Each row takes a fast path (one parse, one re-encode, a few comparisons); only a row
    that fails it goes through :func:`_diagnose`, which names the failure exactly."""
    sha256 = hashlib.sha256
    b64 = binascii.b2a_base64
    fast = orjson is not None
    loads = orjson.loads if fast else None
    dumps = orjson.dumps if fast else None
    opts = (orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER) if fast else 0
    low = canonical._BELOW_4BYTE_LEAD
    scan = canonical.scan_decoded
    ts_ok = _TS.fullmatch
    stack: list[bytes] = []
    wanted = sorted(set(snapshot_at))
    wi = 0
    next_snap = wanted[0] if wanted else -1
    snapshots: dict[int, list[bytes]] = {}
    failure: Failure | None = None
    first_prev: object = None
    prev = ZERO_PREV if start == 0 else None
    expected = start
    count = 0
    photo_cache: dict[str, tuple[str, int] | None] = {}
    photo_ok: dict[str, object] = {}  # sha -> size, for photos already checked good
    leaf = b""
    for seq, raw, stored_leaf in rows:
        if type(raw) is not bytes:  # a row rewritten as TEXT (or worse): hash what is there
            raw = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else b""
        leaf = sha256(b"\x00" + raw).digest()
        if failure is None:
            ok = False
            obj: Any = None
            if fast and seq == expected:
                try:
                    obj = loads(raw)  # type: ignore[misc]
                    if (
                        type(obj) is dict
                        and (raw.isascii() or not raw.translate(None, low))
                        and dumps(obj, option=opts) == raw  # type: ignore[misc]
                    ):
                        o_seq = obj.get("seq")
                        ts = obj.get("ts")
                        if (
                            type(o_seq) is int
                            and o_seq == seq
                            and (prev is None or obj.get("prev") == prev)
                            and obj.get("v") == 1
                            and type(obj.get("kind")) is str
                            and type(obj.get("actor")) is str
                            and type(ts) is str
                            and ts_ok(ts)
                            and (stored_leaf is None or stored_leaf == leaf)
                        ):
                            ok = True
                            # A float re-encodes with '.', 'e+' or 'e-'; a plain entry's
                            # only dots are its ts's one and its kind's. Photo references
                            # are usually a top-level "photos" list. Otherwise: walk.
                            n_sha = raw.count(b'"sha256"')
                            photo_list: Any = obj.get("photos")
                            if (
                                raw.count(b".") == 1 + obj["kind"].count(".")
                                and b"e+" not in raw
                                and b"e-" not in raw
                                and (
                                    n_sha == 0
                                    or (type(photo_list) is list and len(photo_list) == n_sha)
                                )
                            ):
                                if n_sha and photos is not None:
                                    for ref in photo_list:
                                        size = ref.get("bytes")
                                        if (
                                            type(size) is not int
                                            or photo_ok.get(ref.get("sha256"), -1) != size
                                        ):
                                            ok = False
                                            break
                            else:
                                refs: list[tuple[str, object]] = []
                                scan(obj, refs)
                                ok = photos is None or all(
                                    sha in photo_ok and photo_ok[sha] == size for sha, size in refs
                                )
                except (ValueError, TypeError, canonical.CanonicalError):
                    ok = False
            if not ok:
                bad, obj = _diagnose(
                    seq, expected, raw, stored_leaf, leaf, prev, photos, photo_cache
                )
                if bad is None:  # new photos checked good on the slow path
                    for sha, got in photo_cache.items():
                        if got is not None and got[0] == sha:
                            photo_ok[sha] = got[1]
                else:
                    failure = Failure(bad[0], expected, bad[1])
            if count == 0:
                first_prev = obj.get("prev") if type(obj) is dict else None
        prev = b64(leaf, newline=False).decode("ascii") if failure is None else None
        n = count
        h = leaf
        while n & 1:
            h = sha256(b"\x01" + stack.pop() + h).digest()
            n >>= 1
        stack.append(h)
        count += 1
        expected += 1
        if count == next_snap:
            snapshots[count] = list(stack)
            wi += 1
            next_snap = wanted[wi] if wi < len(wanted) else -1
    return ChunkResult(
        start=start,
        rows=count,
        first_prev=first_prev,
        last_leaf=leaf if count else None,
        failure=failure,
        snapshots=snapshots,
        final=stack,
        photos=len(photo_cache),
    )


@dataclass(frozen=True)
class _Job:
    db: str
    start: int
    stop: int
    snapshot_at: tuple[int, ...]
    photos: str | None
    # the parent's choice: a forkserver child re-imports accel and would not see a switch
    accelerated: bool = True


def _run_job(job: _Job) -> ChunkResult:
    conn = connect(Path(job.db), readonly=True)
    photos = Path(job.photos) if job.photos else None
    try:
        if accel.NATIVE is None or not job.accelerated:
            rows = LedgerStore(conn).iter_rows(job.start, job.stop, batch=8192)
            return scan_rows_reference(rows, job.start, job.snapshot_at, photos)
        cur = conn.execute(
            "SELECT seq, raw, leaf FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq",
            (job.start, job.stop),
        )
        batches = iter(lambda: cur.fetchmany(8192), [])
        # The rows are short-lived tuples without cycles: collecting would only cost time.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return scan_batches(batches, job.start, job.snapshot_at, photos)
        finally:
            if enabled:
                gc.enable()
    finally:
        conn.close()


# --------------------------------------------------------------------------- checkpoints


@dataclass
class _Cp:
    label: str
    note: str
    stored: bool
    size: int = -1
    root: bytes = b""
    problem: Failure | None = None  # signature / format problem
    row: tuple[int, bytes] | None = None  # (size, root) as the table row says


def _parse_cp(cp: _Cp, origin: str) -> None:
    try:
        text, _sigs = split_note(cp.note)
        parsed = Checkpoint.parse(text)
    except (NoteError, CheckpointError) as exc:
        cp.problem = Failure("bad_checkpoint", None, f"{cp.label} is malformed: {exc}")
        return
    cp.size, cp.root = parsed.size, parsed.root
    last = parsed.size - 1 if parsed.size else None
    if parsed.origin != origin:
        cp.problem = Failure(
            "bad_checkpoint",
            last,
            f"{cp.label} is for log {parsed.origin!r}, not {origin!r}",
            parsed.size,
        )


def _check_signature(cp: _Cp, verifier: Verifier, key: Ed25519PublicKey | None = None) -> None:
    if cp.problem is not None:
        return
    text, sigs = split_note(cp.note)
    mine = [s for s in sigs if s.name == verifier.name and s.key_id == verifier.key_id]
    last = cp.size - 1 if cp.size else None
    if not mine:
        names = ", ".join(f"{s.name}+{s.key_id:08x}" for s in sigs)
        cp.problem = Failure(
            "unknown_key",
            last,
            f"{cp.label} (size {cp.size}) is signed by {names}, not by {verifier.vkey}",
            cp.size,
        )
    elif not all(_verify_sig(verifier, key, text.encode(), s.signature) for s in mine):
        cp.problem = Failure(
            "bad_signature",
            last,
            f"{cp.label} (size {cp.size}) has an invalid signature",
            cp.size,
        )
    elif cp.row is not None and cp.row != (cp.size, cp.root):
        cp.problem = Failure(
            "bad_checkpoint",
            last,
            f"{cp.label}: its table row differs from its signed note",
            cp.size,
        )


def _check_signature_group(vkey: str, group: list[_Cp]) -> list[Failure | None]:
    """:func:`_check_signature` for a group of checkpoints, in a worker process."""
    verifier = Verifier.from_vkey(vkey)
    pub = Ed25519PublicKey.from_public_bytes(verifier.public_key)
    for cp in group:
        _check_signature(cp, verifier, pub)
    return [cp.problem for cp in group]


def _verify_sig(
    verifier: Verifier, key: Ed25519PublicKey | None, text: bytes, signature: bytes
) -> bool:
    if key is None:
        return verifier.verify(text, signature)
    try:
        key.verify(signature, text)
    except InvalidSignature:
        return False
    return True


_fold = merkle.root_from_peaks


# --------------------------------------------------------------------------- driver


@dataclass
class Source:
    """What to verify: where the rows come from, the checkpoints, the photos."""

    origin: str
    size: int
    checkpoints: Sequence[tuple[str, str, tuple[int, bytes] | None]]  # (label, note, row)
    photos: Path | None
    db: Path | None = None
    rows: Callable[[], Iterable[tuple[int, bytes, bytes | None]]] | None = None
    stored_root: Callable[[int], bytes] | None = None


def _mp_context() -> multiprocessing.context.BaseContext:
    # fork is fastest, but only safe in a single-threaded parent (the CLI is).
    method = "fork" if threading.active_count() == 1 else "forkserver"
    return multiprocessing.get_context(method)


def verify_source(
    src: Source,
    verifier: Verifier,
    auditor_checkpoints: Sequence[tuple[str, str]] = (),
    *,
    progress: Progress | None = None,
    workers: int | None = None,
    chunk: int = CHUNK,
    witnesses: Sequence[WitnessKey] = (),
    quorum: int | None = None,
) -> VerifyReport:
    """Verify everything ``src`` holds; see the module docstring. ``chunk`` (a power of
    two) is the unit of parallel work; ``workers`` defaults to the CPU count (at most 2).
    With ``witnesses``, the latest stored checkpoint and every auditor checkpoint must
    also carry valid cosignatures of ``quorum`` of them (default: all)."""
    if chunk <= 0 or chunk & (chunk - 1):
        raise ValueError("chunk must be a power of two")
    step = chunk
    n = src.size
    cps = [_Cp(label, note, True, row=row) for label, note, row in src.checkpoints]
    cps += [_Cp(label, note, False) for label, note in auditor_checkpoints]
    for cp in cps:
        _parse_cp(cp, src.origin)
    wanted = sorted({cp.size for cp in cps if cp.problem is None and 0 < cp.size <= n} | {n})
    starts = list(range(0, n, step)) or [0]
    per_chunk: dict[int, list[int]] = {s: [] for s in starts}
    for size in wanted:
        if size:
            c = (size - 1) // step * step
            per_chunk[c].append(size - c)

    pub = Ed25519PublicKey.from_public_bytes(verifier.public_key)
    results: list[ChunkResult] = []
    nworkers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if src.db is not None and n >= 2 * step and nworkers > 1:
        jobs = [
            _Job(
                str(src.db),
                s,
                min(s + step, n),
                tuple(per_chunk[s]),
                str(src.photos) if src.photos else None,
                accel.NATIVE is not None,
            )
            for s in starts
        ]
        with _mp_context().Pool(nworkers) as pool:
            pending = pool.imap(_run_job, jobs)
            # Signatures are checked by the workers too, in groups queued after the chunks.
            size = max(64, len(cps) // (4 * nworkers) + 1)
            groups = [cps[i : i + size] for i in range(0, len(cps), size)]
            signed = [
                pool.apply_async(_check_signature_group, (verifier.vkey, group))
                for group in groups
            ]
            done = 0
            for res in pending:
                results.append(res)
                done += res.rows
                if progress:
                    progress(done, n)
            for group, outcome in zip(groups, signed, strict=True):
                for cp, problem in zip(group, outcome.get(), strict=True):
                    cp.problem = problem
    else:
        for cp in cps:
            _check_signature(cp, verifier, pub)
        if src.db is not None:
            for s in starts:
                results.append(
                    _run_job(
                        _Job(
                            str(src.db),
                            s,
                            min(s + step, n),
                            tuple(per_chunk[s]),
                            str(src.photos) if src.photos else None,
                            accel.NATIVE is not None,
                        )
                    )
                )
                if progress:
                    progress(min(s + step, n), n)
        else:
            assert src.rows is not None
            results.append(scan_rows(src.rows(), 0, [w for w in wanted if w], src.photos))
            if progress:
                progress(n, n)

    failures: list[Failure] = []
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    prefix: list[tuple[int, bytes]] = []  # (level, hash) peaks of whole chunks so far
    prev_leaf: bytes | None = None
    photos = 0
    seen = 0
    for res in results:
        photos += res.photos
        seen += res.rows
        if res.failure is not None:
            failures.append(res.failure)
        if (
            res.start > 0
            and prev_leaf is not None
            and res.rows
            and (res.failure is None or res.failure.seq != res.start)
            and res.first_prev != base64.b64encode(prev_leaf).decode()
        ):
            failures.append(
                Failure(
                    "prev_mismatch",
                    res.start,
                    f"entry {res.start}'s prev is not the leaf hash of entry {res.start - 1}",
                )
            )
        prev_leaf = res.last_leaf
        base = [h for _lv, h in prefix]
        for local, peaks in res.snapshots.items():
            roots[res.start + local] = _fold(base + peaks)
        chunk_root = _fold(res.final)
        level = step.bit_length() - 1 if len(starts) > 1 else 0
        prefix.append((level, chunk_root))
        while len(prefix) > 1 and prefix[-1][0] == prefix[-2][0]:
            right = prefix.pop()
            left = prefix.pop()
            prefix.append((left[0] + 1, merkle.node_hash(left[1], right[1])))
    if seen != n and not failures:
        failures.append(Failure("seq_mismatch", seen, f"the log holds {seen} rows for {n} seqs"))

    root = roots.get(n, merkle.EMPTY_ROOT)
    good_sizes: list[tuple[int, bytes]] = []
    for cp in cps:
        if cp.problem is None and cp.size <= n and roots.get(cp.size) == cp.root:
            good_sizes.append((cp.size, cp.root))
    covered = 0
    for cp in cps:
        last = cp.size - 1 if cp.size > 0 else None
        if cp.problem is not None:
            failures.append(cp.problem)
        elif cp.size > n:
            failures.append(
                Failure(
                    "truncated",
                    n,
                    f"{cp.label} commits to {cp.size} entries but the log holds only {n}: "
                    f"entries {n}..{cp.size - 1} are missing",
                    cp.size,
                )
            )
        elif roots.get(cp.size) != cp.root:
            if any(size >= cp.size for size, _ in good_sizes):
                failures.append(
                    Failure(
                        "inconsistent_checkpoints",
                        last,
                        f"{cp.label} (size {cp.size}) is validly signed but contradicts the log "
                        "and a later validly signed checkpoint: the history was forked",
                        cp.size,
                    )
                )
            else:
                failures.append(
                    Failure(
                        "root_mismatch",
                        last,
                        f"{cp.label}: the root at size {cp.size} re-derived from the entries is "
                        "not the signed one",
                        cp.size,
                    )
                )
        else:
            covered = max(covered, cp.size)
    if not failures and src.stored_root is not None and n > 0 and src.stored_root(n) != root:
        failures.append(
            Failure(
                "tree_state_mismatch",
                n - 1,
                "the stored Merkle nodes give a different root than the entries",
                n,
            )
        )
    if witnesses:
        failures.extend(_check_witnesses(cps, witnesses, quorum))
    # a checkpoint too malformed to have a size has no position: it goes last
    failures.sort(key=lambda f: f.seq if f.seq is not None else 1 << 62)
    return VerifyReport(
        origin=src.origin,
        size=n,
        root=root,
        checkpoints=sum(1 for cp in cps if cp.stored),
        auditor_checkpoints=sum(1 for cp in cps if not cp.stored),
        photos_checked=photos,
        uncovered=n - covered,
        failures=failures,
    )


def _check_witnesses(
    cps: Sequence[_Cp], witnesses: Sequence[WitnessKey], quorum: int | None
) -> list[Failure]:
    """The cosignature failures of the latest stored checkpoint and the auditor's."""
    need = len(witnesses) if quorum is None else quorum
    stored = [cp for cp in cps if cp.stored]
    targets = stored[-1:] + [cp for cp in cps if not cp.stored]
    out: list[Failure] = []
    if not stored:
        out.append(Failure("not_cosigned", None, "the log has no checkpoint to be cosigned"))
    for cp in targets:
        if cp.size < 0:
            continue  # malformed: already a failure of its own
        last = cp.size - 1 if cp.size else None
        check = check_cosignatures(cp.note, witnesses)
        for vkey, why in check.invalid.items():
            out.append(
                Failure(
                    "bad_cosignature",
                    last,
                    f"{cp.label} (size {cp.size}): {why} (witness {vkey.split('+', 1)[0]}): it "
                    "cosigned another tree at this size, or the line was altered",
                    cp.size,
                )
            )
        if not check.quorum(need):
            missing = [w.name for w in witnesses if w.vkey not in check.cosigned]
            out.append(
                Failure(
                    "not_cosigned",
                    last,
                    f"{cp.label} (size {cp.size}) is cosigned by {len(check.cosigned)} of the "
                    f"{len(witnesses)} witnesses given, {need} required; missing: "
                    + ", ".join(missing),
                    cp.size,
                )
            )
    return out


# --------------------------------------------------------------------------- entry points


def load_key(key: str | Path) -> Verifier:
    """A verifier key from its text or from a file holding it."""
    text = str(key)
    path = Path(text)
    if "+" not in text or path.is_file():
        text = read_utf8_text(path, what="verifier key file")
    return Verifier.from_vkey(text.strip())


def read_checkpoint_files(files: Sequence[Path | str]) -> list[tuple[str, str]]:
    """``(label, note text)`` for each auditor checkpoint file."""
    return [(f"auditor checkpoint {f}", read_utf8_text(f, what="checkpoint file")) for f in files]


def db_source(data_dir: Path) -> tuple[Source, Callable[[], None]]:
    """A :class:`Source` over a station data directory, and its close function."""
    from custody.ledger.station import require_station

    paths = require_station(data_dir)
    store = LedgerStore(connect(paths.ledger_db, readonly=True))
    origin = store.meta("origin") or ""
    cosigs = lines_at_sizes(paths.root)
    # Read tolerantly: a tampered table may hold NULLs or TEXT where a writer never puts them.
    cps: list[tuple[str, str, tuple[int, bytes] | None]] = []
    for cid, size, root, note in store.conn.execute(
        "SELECT id, size, root, note FROM checkpoints ORDER BY id"
    ):
        row = (size, root) if type(size) is int and type(root) is bytes else (-1, b"")
        text = note if isinstance(note, str) else ""
        if cosigs.get(row[0]):
            # the witnesses' cosignatures kept beside this size (cosignatures.db): a line
            # made for another root at this size will fail, which is the point
            with contextlib.suppress(NoteError):
                text = add_signature_lines(text, cosigs[row[0]])
        cps.append((f"stored checkpoint #{cid}", text, row))

    def stored_root(size: int) -> bytes:
        try:
            return merkle.root_at(size, store.get_node)
        except Exception:  # a missing node is itself a tree-state failure
            return b""

    src = Source(
        origin=origin,
        size=store.size(),
        checkpoints=cps,
        photos=paths.photos,
        db=paths.ledger_db,
        stored_root=stored_root,
    )
    return src, store.close


def verify_data_dir(
    data_dir: Path | str,
    *,
    key: str | Path | None = None,
    checkpoints: Sequence[Path | str] = (),
    progress: Progress | None = None,
    workers: int | None = None,
    chunk: int = CHUNK,
    witnesses: Sequence[WitnessKey] = (),
    quorum: int | None = None,
) -> VerifyReport:
    """Verify a station data directory (with its own ``station.vkey`` unless ``key``); with
    ``witnesses``, demand their cosignatures (see :func:`verify_source`)."""
    from custody.ledger.station import StationPaths

    try:
        src, close = db_source(Path(data_dir))
    except sqlite3.DatabaseError as exc:
        raise LedgerCorruptError(f"{data_dir}: the ledger database is unreadable: {exc}") from None
    try:
        verifier = load_key(key if key is not None else StationPaths(Path(data_dir)).vkey)
        return verify_source(
            src,
            verifier,
            read_checkpoint_files(checkpoints),
            progress=progress,
            workers=workers,
            chunk=chunk,
            witnesses=witnesses,
            quorum=quorum,
        )
    except sqlite3.DatabaseError as exc:
        raise LedgerCorruptError(f"{data_dir}: the ledger database is unreadable: {exc}") from None
    finally:
        close()


def report_json(report: VerifyReport) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=True)
