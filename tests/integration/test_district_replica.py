"""The district's replica: real PostgreSQL, stations served over real HTTP."""

from __future__ import annotations

from pathlib import Path

import psycopg

from district.follower import Follower, register_stations
from tests.integration.district_support import (
    district_config,
    district_dsn,
    pg_server,
    served_stations,
)

__all__ = ["district_dsn", "pg_server"]


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
