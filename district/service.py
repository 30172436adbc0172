"""The district's follow loop: every station's follower, each on its own schedule.

One thread runs the rounds (a station at a time; a round of a station that has nothing new
costs one checkpoint fetch). A station not due this pass (backing off, or forked) is
still checked: its deadlines move on with the clock, and silence is a finding.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

from district.config import DistrictConfig
from district.db import create_schema, raise_alarm
from district.follower import Follower, RoundResult, register_stations
from district.state import check_station, projection_of

CHECK_EVERY_S = 30.0


class District:
    """The followers of every configured station over one database connection."""

    def __init__(self, cfg: DistrictConfig,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.cfg = cfg
        self.clock = clock  # the rules' "now" (tests and demos: the stations' clock)
        create_schema(cfg.database.dsn)
        self.conn = psycopg.connect(cfg.database.dsn)
        register_stations(self.conn, cfg)
        self.followers = [Follower(cfg, s) for s in cfg.stations]
        self._checked: dict[str, float] = {}
        if cfg.district.witness is not None:
            self._witness_logs()

    def _witness_logs(self) -> None:
        """The district's witness follows every configured station's log."""
        from custody.ledger.ledger import format_ts
        from witness.store import WitnessStore

        assert self.cfg.district.witness is not None
        store = WitnessStore(self.cfg.district.witness)
        try:
            for s in self.cfg.stations:
                store.add_log(s.origin, s.key, format_ts(datetime.now(UTC)))
        finally:
            store.close()

    def check_witness(self) -> int:
        """A "witness refused" district alarm for every checkpoint the district's witness
        refused (a station that showed it something inconsistent); returns how many are new."""
        from witness.store import WitnessStore

        if self.cfg.district.witness is None:
            return 0
        by_origin = {s.origin: s.id for s in self.cfg.stations}
        store = WitnessStore(self.cfg.district.witness)
        try:
            refused = store.refused()
        finally:
            store.close()
        new = 0
        for r in refused:
            sid = by_origin.get(r.origin)
            if sid is not None:
                new += raise_alarm(self.conn, sid, "witness_refused",
                                   f"witness_refused:{sid}:{r.id}",
                                   f"the district witness refused a checkpoint (HTTP "
                                   f"{r.status}: {r.reason}) at {r.received_at}")
        self.conn.commit()
        return new

    def close(self) -> None:
        self.conn.close()

    def pass_once(self) -> list[RoundResult]:
        """One pass: a round for every station that is due; the checks for the others."""
        out = []
        now = datetime.now(UTC)
        for f in self.followers:
            checked = False
            if f.due(self.conn, now):
                result = f.round(self.conn, self.clock)
                out.append(result)
                checked = result.folded
            last = self._checked.get(f.station.id, 0.0)
            if checked:
                self._checked[f.station.id] = time.monotonic()
            elif time.monotonic() - last > CHECK_EVERY_S:
                check_station(self.conn, self.cfg, f.station,
                              projection_of(self.conn, f.station.id),
                              self.clock() if self.clock else None)
                self.conn.commit()
                self._checked[f.station.id] = time.monotonic()
        self.check_witness()
        return out

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set (sleeping at most ``poll_seconds``)."""
        while not stop.is_set():
            started = time.monotonic()
            self.pass_once()
            stop.wait(max(0.05, self.cfg.district.poll_seconds - (time.monotonic() - started)))
