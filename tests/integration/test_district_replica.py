"""The district's replica: real PostgreSQL, stations served over real HTTP."""

from __future__ import annotations

from pathlib import Path

import psycopg

from district.follower import Follower, register_stations
from tests.integration.district_support import (
    district_config,
    served_stations,
)


def test_entries_checkpoints_state_and_replay(tmp_path: Path, district_dsn: str) -> None:
    with served_stations(tmp_path, ["s1", "s2"]) as stations:
        cfg = district_config(tmp_path, district_dsn, stations)
        with psycopg.connect(district_dsn) as conn:
            register_stations(conn, cfg)
            for s in cfg.stations:
                r = Follower(cfg, s).round(conn)
                assert r.error == "" and r.inserted > 0
            size = stations[0].st.ledger.size
            n = conn.execute("SELECT count(*) FROM entries WHERE origin = %s",
                             ("test.example/s1",)).fetchone()
            assert n is not None and n[0] == size
            # a replay inserts nothing twice
            again = Follower(cfg, cfg.stations[0])
            conn.execute("UPDATE stations SET mirrored_size = 0 WHERE id = 's1'")
            conn.commit()
            assert again.ingest(conn) == 0
            items = conn.execute("SELECT station, label, state FROM items ORDER BY 1, 2").fetchall()
            assert len(items) == 6
            assert {s for s, _l, _st in items} == {"s1", "s2"}
            cps = conn.execute("SELECT count(*) FROM checkpoints").fetchone()
            assert cps is not None and cps[0] >= 2


def test_district_tokens_only_for_people_who_exist(tmp_path: Path, district_dsn: str) -> None:
    import pytest

    from custody.errors import UsageError
    from district.auth import NotSignedInError, check_token, create_token, revoke_token

    with served_stations(tmp_path, ["s1"]) as stations:
        cfg = district_config(tmp_path, district_dsn, stations)
    with pytest.raises(UsageError, match="no person 'ghost'"):
        create_token(district_dsn, cfg, "legal", "ghost")
    with pytest.raises(UsageError, match="is supervisor, not legal"):
        create_token(district_dsn, cfg, "legal", "sup-s1")
    token_id, secret = create_token(district_dsn, cfg, "supervisor", "sup-s1")
    with psycopg.connect(district_dsn) as conn:
        who = check_token(conn, cfg, secret)
        assert (who.role, who.station, who.may_read("s1"), who.may_read("s2")) == (
            "supervisor", "s1", True, False)
        revoke_token(district_dsn, token_id)
        with pytest.raises(NotSignedInError):
            check_token(conn, cfg, secret)


def test_a_station_down_backs_off_then_mirror_failing_then_silent(
    tmp_path: Path, district_dsn: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from district.service import District
    from tests.integration.offsite_support import free_port

    with served_stations(tmp_path, ["s1"]) as stations:
        cfg = district_config(tmp_path, district_dsn, stations)
        clock = stations[0].st.clock.now  # the checks at the station's hour
        district = District(cfg, clock=clock)
        try:
            district.pass_once()  # mirrored while it was up
        finally:
            district.close()
    # the station is gone: every pull fails, and waits longer each time
    down = cfg.model_copy(update={"stations": [cfg.stations[0].model_copy(
        update={"url": f"http://127.0.0.1:{free_port()}/log/"})]})
    district = District(down, clock=clock)
    waits = []
    try:
        for _ in range(3):
            with psycopg.connect(district_dsn) as conn:
                conn.execute("UPDATE stations SET next_try = NULL")
            before = datetime.now(UTC)
            [result] = district.pass_once()
            assert result.error
            row = district.conn.execute("SELECT next_try FROM stations").fetchone()
            assert row is not None and isinstance(row[0], datetime)
            waits.append(row[0] - before)
        assert waits[0] < waits[1] < waits[2]
        alarms = district.conn.execute(
            "SELECT kind FROM district_alarms WHERE cleared IS NULL").fetchall()
        assert [a[0] for a in alarms] == ["mirror_failing"]
        # no new checkpoint for longer than silent_after_seconds: "station silent"
        from district.state import check_station, projection_of

        later = datetime.now(UTC) + timedelta(seconds=cfg.district.silent_after_seconds + 1)
        check_station(district.conn, down, down.stations[0],
                      projection_of(district.conn, "s1"), later)
        district.conn.commit()
        kinds = {str(a[0]) for a in district.conn.execute(
            "SELECT kind FROM district_alarms WHERE cleared IS NULL").fetchall()}
        # (at real time every deadline of this March station has passed: escalations too)
        assert kinds == {"mirror_failing", "station_silent", "escalation_missing"}
    finally:
        district.close()


def test_witness_refused_raises_a_district_alarm(tmp_path: Path, district_dsn: str) -> None:
    from district.service import District
    from witness.store import WitnessStore, init_witness

    init_witness(tmp_path / "witness", "district.test/witness")
    with served_stations(tmp_path, ["s1"]) as stations:
        cfg = district_config(tmp_path, district_dsn, stations)
    section = cfg.district.model_copy(update={"witness": tmp_path / "witness"})
    cfg = cfg.model_copy(update={"district": section})
    district = District(cfg)  # adds the station's log to its witness
    try:
        store = WitnessStore(tmp_path / "witness")
        try:
            assert store.origins() == ["test.example/s1"]
            # what the witness records when a station shows it an inconsistent checkpoint
            store.add_refused("test.example/s1", 8, "", "note", 409, "inconsistent",
                              "2026-03-02T12:00:00.000Z")
        finally:
            store.close()
        assert district.check_witness() == 1
        assert district.check_witness() == 0  # one alarm per refusal
        kinds = district.conn.execute(
            "SELECT station, kind FROM district_alarms WHERE cleared IS NULL").fetchall()
        assert kinds == [("s1", "witness_refused")]
    finally:
        district.close()


def test_a_saved_state_of_another_format_is_folded_again(tmp_path: Path,
                                                          district_dsn: str) -> None:
    """After an upgrade of the custody state's format, a station's saved state is not
    restorable: the district folds the station again from its first entry."""
    import json

    from district.state import _cache, fold_station

    with served_stations(tmp_path, ["s1"]) as stations:
        cfg = district_config(tmp_path, district_dsn, stations)
        with psycopg.connect(district_dsn) as conn:
            register_stations(conn, cfg)
            assert Follower(cfg, cfg.stations[0]).round(conn).error == ""
            before = conn.execute("SELECT state FROM stations WHERE id = 's1'").fetchone()
            assert before is not None
            old = before[0] if isinstance(before[0], dict) else json.loads(str(before[0]))
            conn.execute("UPDATE stations SET state = %s WHERE id = 's1'",
                         (json.dumps({**old, "version": 3}),))
            conn.commit()
            _cache.clear()
            p = fold_station(conn, cfg, cfg.stations[0])
            assert p.size == stations[0].st.ledger.size and len(p.items) == 3
            after = conn.execute("SELECT state FROM stations WHERE id = 's1'").fetchone()
            assert after is not None
            assert (after[0] if isinstance(after[0], dict) else json.loads(str(after[0])))[
                "version"] == old["version"]
