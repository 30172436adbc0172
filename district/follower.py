"""A follower per station: the mirror's verified pull, then the replica in PostgreSQL.

Each round runs :class:`district.mirror.Mirror` into the station's mirror folder
(``<district data>/stations/<id>/``), which stores nothing it has not verified: the
checkpoint against the station's key, every tile against the signed root, every entry
against its leaf hash, every photo against its SHA-256 (photos stay there, by hash: the
district's content-addressed photo folder). Only then are the entries of the verified
bundles copied into ``entries`` (``ON CONFLICT DO NOTHING`` on ``(origin, seq)``: a replay
inserts nothing twice), with the accepted checkpoints and their cosignatures, and alarm
entries into ``station_alarms``; then the station's state is folded on
(:mod:`district.state`).

A station that cannot be reached is retried with exponential backoff (``poll_seconds``
doubling up to ``backoff_max_seconds``); after three failures in a row a "mirror failing"
district alarm opens (closed by the next success). A fork stops the follower: the mirror
keeps both checkpoints (its ``forks/`` and ``checkpoints/``), the replica keeps the held
one, and a "fork" district alarm names both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
import psycopg.errors

from custody.ledger.cosign import WitnessKey, check_cosignatures
from custody.ledger.note import split_note
from custody.ledger.publish import checkpoint_size
from custody.ledger.tiles import TILE_WIDTH, TileRef, iter_bundle
from district import db
from district.config import DistrictConfig, StationEntry
from district.mirror import ForkError, Mirror, MirrorDir, MirrorError
from district.state import fold_station

FAILING_AFTER = 3  # failures in a row before "mirror failing"


@dataclass(frozen=True)
class RoundResult:
    """What one round of a follower did."""

    station: str
    size: int
    inserted: int
    error: str = ""
    forked: bool = False
    folded: bool = False  # folded and checked in this round


def mirror_dir(cfg: DistrictConfig, station: StationEntry) -> Path:
    return cfg.district.data / "stations" / station.id


def photo_path(cfg: DistrictConfig, station: StationEntry, sha: str) -> Path:
    """Where the district keeps a station's photo (content-addressed, verified)."""
    return MirrorDir(mirror_dir(cfg, station)).photo(sha)


def register_stations(conn: psycopg.Connection[tuple[object, ...]], cfg: DistrictConfig) -> None:
    for s in cfg.stations:
        conn.execute(
            "INSERT INTO stations (id, origin, url) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url",
            (s.id, s.origin, s.url),
        )
    conn.commit()


def _entries(mdir: MirrorDir, start: int, end: int) -> list[tuple[int, bytes]]:
    """The verified entries ``start..end-1`` from the mirror's stored bundles."""
    out: list[tuple[int, bytes]] = []
    for index in range(start // TILE_WIDTH, (end + TILE_WIDTH - 1) // TILE_WIDTH):
        width = min(TILE_WIDTH, end - index * TILE_WIDTH)
        ref = TileRef(-1, index, width)
        if not mdir.tiles.has(ref):  # a full tile once the log grew past it
            ref = TileRef(-1, index)
        for i, raw in enumerate(iter_bundle(mdir.tiles.read(ref))):
            seq = index * TILE_WIDTH + i
            if start <= seq < end:
                out.append((seq, raw))
    return out


def _cosignatures(note: str, witness: WitnessKey | None) -> int:
    """The district witness's valid cosignatures on ``note`` (0 or 1) when the district runs
    one; otherwise the count of signature lines besides the station's own (unverified)."""
    if witness is not None:
        return len(check_cosignatures(note, [witness]).cosigned)
    _, sigs = split_note(note)
    return max(0, len(sigs) - 1)


def district_witness_key(cfg: DistrictConfig) -> WitnessKey | None:
    """The district witness's key (``[district] witness``), if it runs one."""
    if cfg.district.witness is None:
        return None
    from witness.store import WitnessPaths

    path = WitnessPaths(cfg.district.witness).vkey
    return WitnessKey.from_vkey(path.read_text().strip()) if path.is_file() else None


_COLUMNS = "(origin, seq, kind, ts, body, raw)"


def _copy_entries(conn: psycopg.Connection[tuple[object, ...]],
                  rows: Sequence[tuple[object, ...]]) -> int:
    """COPY the rows into ``entries``; returns how many were new. ``mirrored_size`` says
    where the replica stops, so the direct COPY is the rule; if rows are there already (a
    replay), the COPY fails on the key and the rows go through a session table with
    ``ON CONFLICT DO NOTHING`` instead: a replay adds nothing and fails nothing."""
    try:
        with conn.transaction(), conn.cursor() as cur, \
                cur.copy(f"COPY entries {_COLUMNS} FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        return len(rows)
    except psycopg.errors.UniqueViolation:
        pass
    with conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS incoming (LIKE entries) "
                    "ON COMMIT DELETE ROWS")
        with cur.copy(f"COPY incoming {_COLUMNS} FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        cur.execute("INSERT INTO entries SELECT * FROM incoming ON CONFLICT DO NOTHING")
        return cur.rowcount


class Follower:
    """Follows one station into the replica."""

    def __init__(self, cfg: DistrictConfig, station: StationEntry) -> None:
        self.cfg = cfg
        self.station = station
        self.mdir = MirrorDir(mirror_dir(cfg, station))
        self._first = True  # fold and check at the first round whatever it brings
        self.witness = district_witness_key(cfg)

    def _mirror(self) -> Mirror:
        return Mirror(self.mdir.root, self.station.url, token=self.station.token or None,
                      key=self.station.key)

    def due(self, conn: psycopg.Connection[tuple[object, ...]], now: datetime) -> bool:
        row = conn.execute(
            "SELECT forked, next_try FROM stations WHERE id = %s", (self.station.id,)
        ).fetchone()
        if row is None or row[0]:
            return False
        next_try = row[1]
        return next_try is None or (isinstance(next_try, datetime) and next_try <= now)

    def round(self, conn: psycopg.Connection[tuple[object, ...]],
              clock: Callable[[], datetime] | None = None) -> RoundResult:
        """Pull, copy into the replica, fold and check (the rules' "now" from ``clock``,
        real time by default); never raises for a station's failure."""
        sid = self.station.id
        now = datetime.now(UTC)
        mirror = self._mirror()
        try:
            mirror.pull()
        except ForkError as exc:
            conn.execute("UPDATE stations SET forked = true, last_error = %s WHERE id = %s",
                         (str(exc), sid))
            db.raise_alarm(conn, sid, "fork", f"fork:{sid}", str(exc))
            conn.commit()
            return RoundResult(sid, 0, 0, str(exc), forked=True)
        except MirrorError as exc:
            return self._failed(conn, now, str(exc))
        finally:
            mirror.close()
        inserted = self.ingest(conn)
        conn.execute(
            "UPDATE stations SET failures = 0, next_try = %s, last_error = '', last_pull = %s "
            "WHERE id = %s",
            (now + timedelta(seconds=self.cfg.district.poll_seconds), now, sid),
        )
        db.clear_alarm(conn, f"mirror_failing:{sid}")
        conn.commit()
        folded = bool(inserted or self._first)
        if folded:
            # nothing new: the state is as folded (the follow loop re-checks it on its own
            # schedule, deadlines move with the clock)
            fold_station(conn, self.cfg, self.station, clock() if clock else None)
            self._first = False
        size = self.mdir.complete_size()
        return RoundResult(sid, size, inserted, folded=folded)

    def _failed(self, conn: psycopg.Connection[tuple[object, ...]], now: datetime,
                error: str) -> RoundResult:
        sid = self.station.id
        row = conn.execute("SELECT failures FROM stations WHERE id = %s", (sid,)).fetchone()
        failures = (int(str(row[0])) if row else 0) + 1
        d = self.cfg.district
        wait = min(d.backoff_max_seconds, d.poll_seconds * 2 ** min(failures, 20))
        conn.execute(
            "UPDATE stations SET failures = %s, next_try = %s, last_error = %s WHERE id = %s",
            (failures, now + timedelta(seconds=wait), error, sid),
        )
        if failures >= FAILING_AFTER:
            db.raise_alarm(conn, sid, "mirror_failing", f"mirror_failing:{sid}",
                           f"{failures} pulls failed in a row: {error}")
        conn.commit()
        return RoundResult(sid, 0, 0, error)

    def ingest(self, conn: psycopg.Connection[tuple[object, ...]]) -> int:
        """Copy what the mirror holds verified and the replica lacks; returns entries added."""
        sid, origin = self.station.id, self.station.origin
        note = self.mdir.tiles.read_checkpoint()
        if note is None:
            return 0
        size = checkpoint_size(note)[0]
        row = conn.execute("SELECT mirrored_size FROM stations WHERE id = %s", (sid,)).fetchone()
        held = int(str(row[0])) if row else 0
        inserted = 0
        if size > held:
            rows = []
            alarms = []
            for seq, raw in _entries(self.mdir, held, size):
                body = orjson.loads(raw)
                kind, ts, text = str(body.get("kind", "")), str(body.get("ts", "")), raw.decode()
                rows.append((origin, seq, kind, ts, text, raw))
                if kind.startswith("alarm"):
                    alarms.append((sid, seq, kind, ts, text))
            inserted = _copy_entries(conn, rows)
            if alarms:
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO station_alarms (station, seq, kind, ts, body, via) "
                        "VALUES (%s, %s, %s, %s, %s, 'pull') ON CONFLICT DO NOTHING",
                        alarms,
                    )
        self._checkpoints(conn)
        conn.execute("UPDATE stations SET mirrored_size = GREATEST(mirrored_size, %s) "
                     "WHERE id = %s", (size, sid))
        conn.commit()
        return inserted

    def _checkpoints(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        """Copy the checkpoints the mirror accepted since the last round (and the latest
        one again: its cosignature lines may have grown)."""
        origin, sid = self.station.origin, self.station.id
        row = conn.execute("SELECT checkpoint_size FROM stations WHERE id = %s",
                           (sid,)).fetchone()
        held = int(str(row[0])) if row else 0
        folder = self.mdir.root / "checkpoints"
        sizes = sorted(int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit())
        for size in (n for n in sizes if n >= held):
            rec = orjson.loads(self.mdir.checkpoint_file(size).read_bytes())
            note = str(rec["note"])
            conn.execute(
                "INSERT INTO checkpoints (origin, size, note, cosignatures, first_seen) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (origin, size) DO UPDATE SET "
                "note = EXCLUDED.note, cosignatures = EXCLUDED.cosignatures",
                (origin, size, note, _cosignatures(note, self.witness), str(rec["first_seen"])),
            )
        conn.execute(
            "UPDATE stations SET checkpoint_size = c.size, checkpoint_seen = c.first_seen, "
            "cosigned_size = COALESCE((SELECT max(size) FROM checkpoints WHERE origin = %s "
            "AND cosignatures > 0), 0) FROM (SELECT size, first_seen FROM checkpoints "
            "WHERE origin = %s ORDER BY size DESC LIMIT 1) c WHERE stations.id = %s",
            (origin, origin, sid),
        )
