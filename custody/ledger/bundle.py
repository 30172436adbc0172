"""Self-contained audit bundles: everything an auditor needs to verify offline.

A bundle is a directory, or the same directory as a ``.tar.gz`` / ``.tgz``::

    bundle.json         {"format", "origin", "size", "vkey", "exported_at"}
    station.vkey        the verifier key (an auditor should compare it with their own copy)
    entries.jsonl       the exact entry bytes, one per line, in seq order (canonical JSON
                        never holds a raw newline)
    checkpoints.jsonl   one JSON object per stored checkpoint: {"note", "signed_at"}; the
                        note carries the witnesses' cosignatures the station holds for it
    photos/<aa>/<sha>   every referenced photo present in the station's store

``locker audit verify --bundle PATH`` checks it exactly as a data directory, except that a
bundle carries no stored leaf hashes or tree nodes (everything is re-derived anyway).
"""

from __future__ import annotations

import errno
import json
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from custody.errors import DiskFullError, PathError
from custody.ledger import canonical
from custody.ledger.cosign import WitnessKey, add_signature_lines
from custody.ledger.cosigstore import cosignature_lines
from custody.ledger.errors import (
    BundleUnreadableError,
    LedgerLockedError,
    StationNotFoundError,
)
from custody.ledger.ledger import Ledger, format_ts
from custody.ledger.station import require_station
from custody.ledger.store import LedgerStore, connect
from custody.ledger.verify import (
    Progress,
    Source,
    VerifyReport,
    load_key,
    read_checkpoint_files,
    verify_source,
)
from custody.ports import Clock, SystemClock
from custody.textfile import read_key_text

BUNDLE_FORMAT = "evidence-locker-audit-bundle/1"


@dataclass(frozen=True)
class BundleInfo:
    """What an export wrote."""

    path: Path
    size: int
    checkpoints: int
    photos: int
    missing_photos: int


def _is_tarball(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz"))


def export_bundle(
    data_dir: Path | str, out: Path | str, *, clock: Clock | None = None
) -> BundleInfo:
    """Write an audit bundle of a station to ``out`` (a directory, or ``*.tar.gz``).

    When no other process is writing and the station has its signing key, a checkpoint
    covering every entry is signed first so the bundle is fully authenticated; otherwise
    the latest stored checkpoints are used.
    """
    paths = require_station(data_dir)
    out = Path(out)
    if out.exists():
        raise PathError(f"{out} already exists; refusing to overwrite it")
    clock = clock or SystemClock()
    try:
        with Ledger.open(paths.root, clock=clock) as ledger:
            ledger.checkpoint()
    except LedgerLockedError:
        pass  # the running writer signs checkpoints on its own schedule
    except StationNotFoundError:
        pass  # no signing key (a restored station): the stored checkpoints are what there is
    work = Path(tempfile.mkdtemp(prefix="bundle-", dir=out.parent if out.parent.exists() else None))
    try:
        root = work / "bundle"
        root.mkdir()
        store = LedgerStore(connect(paths.ledger_db, readonly=True))
        refs: dict[str, object] = {}
        try:
            # One read transaction: entries and checkpoints from the same snapshot.
            store.conn.execute("BEGIN")
            origin = store.meta("origin") or ""
            size = 0
            with (root / "entries.jsonl").open("wb") as f:
                for _seq, raw, _leaf in store.iter_rows():
                    f.write(raw + b"\n")
                    size += 1
                    if b'"sha256"' in raw:
                        found: list[tuple[str, object]] = []
                        try:
                            canonical.decode(raw, found)
                        except canonical.CanonicalError:
                            continue  # verification will name it; export it as it is
                        refs.update(found)
            cps = store.checkpoints()
            store.conn.execute("COMMIT")
        finally:
            store.close()
        cosigs = cosignature_lines(paths.root)
        with (root / "checkpoints.jsonl").open("w") as f:
            for cp in cps:
                lines = cosigs.get((cp.size, cp.root))
                note = add_signature_lines(cp.note, lines) if lines else cp.note
                f.write(json.dumps({"note": note, "signed_at": cp.signed_at}) + "\n")
        vkey = read_key_text(paths.vkey, "verifier key").strip()
        (root / "station.vkey").write_text(vkey + "\n")
        copied = missing = 0
        for sha in sorted(refs):
            src = paths.photos / sha[:2] / sha
            if len(sha) == 64 and src.is_file():
                dst = root / "photos" / sha[:2] / sha
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                copied += 1
            else:
                missing += 1
        manifest = {
            "format": BUNDLE_FORMAT,
            "origin": origin,
            "size": size,
            "vkey": vkey,
            "exported_at": format_ts(clock.now()),
        }
        (root / "bundle.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if _is_tarball(out):
            with tarfile.open(work / "bundle.tar.gz", "w:gz") as tar:
                tar.add(root, arcname="bundle")
            shutil.move(work / "bundle.tar.gz", out)
        else:
            shutil.move(root, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BundleInfo(out, size, len(cps), copied, missing)


@contextmanager
def open_bundle(path: Path | str) -> Iterator[Path]:
    """Yield the bundle's directory, unpacking a tarball into a temporary one (safely:
    no absolute paths, no ``..``, no links out, no devices). A bundle that cannot be read
    at all (truncated or garbage archive, no ``bundle.json``) raises
    :class:`BundleUnreadableError`."""
    path = Path(path)
    if path.is_dir():
        if not (path / "bundle.json").is_file():
            raise BundleUnreadableError(f"{path} is not an audit bundle (no bundle.json)")
        yield path
        return
    if not path.is_file():
        raise BundleUnreadableError(f"{path} does not exist")
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        try:
            with tarfile.open(path, "r:*") as tar:
                tar.extractall(tmp, filter="data")
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFullError(f"no space left to unpack {path} in {tmp}") from None
            raise BundleUnreadableError(_unreadable(path, exc)) from None
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            # a truncated gzip stream ends in EOFError, a garbage one in ReadError
            raise BundleUnreadableError(_unreadable(path, exc)) from None
        dirs = [p for p in Path(tmp).iterdir() if (p / "bundle.json").is_file()]
        if len(dirs) != 1:
            raise BundleUnreadableError(f"{path} does not hold exactly one audit bundle")
        yield dirs[0]


def _unreadable(path: Path, exc: BaseException) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, tarfile.ReadError) and "method" in reason:
        reason = "not a gzip, bzip2, xz or tar archive"  # tarfile lists each method it tried
    return (
        f"cannot read bundle {path}: it is truncated or not a .tar.gz audit bundle ({reason}); "
        "this says nothing about the ledger: get a new copy of the bundle"
    )


def bundle_source(root: Path) -> Source:
    """A verification :class:`Source` over an unpacked bundle."""
    try:
        manifest = json.loads((root / "bundle.json").read_text())
        if manifest.get("format") != BUNDLE_FORMAT:
            raise BundleUnreadableError(f"unknown bundle format {manifest.get('format')!r}")
        lines = (root / "entries.jsonl").read_bytes().split(b"\n")
        cps = [
            json.loads(line)
            for line in (root / "checkpoints.jsonl").read_text().splitlines()
            if line.strip()
        ]
    except (OSError, ValueError, AttributeError) as exc:
        raise BundleUnreadableError(f"{root} is not a readable audit bundle: {exc}") from None
    if lines and lines[-1] == b"":
        lines.pop()
    rows: list[tuple[int, bytes, bytes | None]] = [(i, b, None) for i, b in enumerate(lines)]
    return Source(
        origin=str(manifest.get("origin", "")),
        size=len(rows),
        checkpoints=[
            (f"bundle checkpoint #{i + 1}", str(cp.get("note", "")), None)
            for i, cp in enumerate(cps)
        ],
        photos=root / "photos",
        rows=lambda: rows,
    )


def verify_bundle(
    path: Path | str,
    *,
    key: str | Path | None = None,
    checkpoints: Sequence[Path | str] = (),
    progress: Progress | None = None,
    witnesses: Sequence[WitnessKey] = (),
    quorum: int | None = None,
) -> VerifyReport:
    """Verify an audit bundle, with its own ``station.vkey`` unless the auditor's ``key``;
    with ``witnesses``, demand their cosignatures on its latest checkpoint and the auditor's."""
    with open_bundle(path) as root:
        src = bundle_source(root)
        verifier = load_key(key if key is not None else root / "station.vkey")
        return verify_source(
            src,
            verifier,
            read_checkpoint_files(checkpoints),
            progress=progress,
            witnesses=witnesses,
            quorum=quorum,
        )
