"""The screen's read queries over the replica tables, each filtered to what the principal
may read (a supervisor: their own station) and paginated (``page`` from 1, ``size`` rows)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from district.auth import Principal

Row = dict[str, Any]


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def _scope(p: Principal, column: str = "station") -> tuple[str, list[Any]]:
    if p.role == "legal":
        return "TRUE", []
    return f"{column} = %s", [p.station]


def _page(conn: psycopg.Connection[Any], sql: str, args: list[Any], page: int,
          size: int) -> Page:
    page = max(1, page)
    with conn.cursor(row_factory=dict_row) as cur:
        total_row = cur.execute(f"SELECT count(*) AS n FROM ({sql}) q", args).fetchone()
        total = int(total_row["n"]) if total_row else 0
        rows = cur.execute(f"{sql} LIMIT %s OFFSET %s", [*args, size, (page - 1) * size]).fetchall()
    return Page(list(rows), page, size, total)


def stations(conn: psycopg.Connection[Any], p: Principal, page: int, size: int) -> Page:
    """Every station with its freshness: checkpoint age, cosigned size, mirror lag, state."""
    where, args = _scope(p, "id")
    sql = (
        "SELECT s.id, s.origin, s.checkpoint_size, s.checkpoint_seen, s.cosigned_size,"
        " s.mirrored_size, s.folded_size, s.last_pull, s.failures, s.last_error, s.forked,"
        " EXISTS (SELECT 1 FROM district_alarms a WHERE a.station = s.id AND a.cleared IS NULL"
        "  AND a.kind = 'station_silent') AS silent"
        f" FROM stations s WHERE {where} ORDER BY s.id"
    )
    out = _page(conn, sql, args, page, size)
    now = datetime.now(UTC)
    for r in out.rows:
        seen = r["checkpoint_seen"]
        r["age_s"] = int((now - seen).total_seconds()) if isinstance(seen, datetime) else None
    return out


def escalations(conn: psycopg.Connection[Any], p: Principal, page: int, size: int) -> Page:
    """Overdue items and open escalations, those at the legal step first."""
    where, args = _scope(p, "m.station")
    sql = (
        "SELECT m.station, m.key, m.label, m.case_id, m.officer, m.rule, m.deadline, m.steps,"
        " m.top_role, m.legal, m.missing, i.description FROM matters m"
        " LEFT JOIN items i ON i.station = m.station AND i.label = m.label"
        f" WHERE {where} ORDER BY m.legal DESC, m.missing DESC, m.deadline, m.station, m.key"
    )
    out = _page(conn, sql, args, page, size)
    for r in out.rows:
        steps = r["steps"]
        r["steps"] = steps if isinstance(steps, list) else json.loads(str(steps))
    return out


def case_deadlines(conn: psycopg.Connection[Any], p: Principal, page: int, size: int) -> Page:
    """Open case-stage deadlines (the case ladder), the overdue (at the district's last
    check of the station) first, then by deadline."""
    where, args = _scope(p)
    sql = ("SELECT station, matter, case_id, officer, stage, stage_name, stage_name_en, point,"
           " point_name, next_step, deadline, overdue, ladder_step, missing"
           f" FROM case_deadlines WHERE {where}"
           " ORDER BY overdue DESC, deadline, station, case_id, point")
    return _page(conn, sql, args, page, size)


def district_alarms(conn: psycopg.Connection[Any], p: Principal, page: int, size: int) -> Page:
    where, args = _scope(p)
    sql = ("SELECT id, station, kind, detail, raised FROM district_alarms"
           f" WHERE cleared IS NULL AND {where} ORDER BY raised DESC, id DESC")
    return _page(conn, sql, args, page, size)


def station_alarms(conn: psycopg.Connection[Any], p: Principal, page: int, size: int) -> Page:
    where, args = _scope(p)
    sql = ("SELECT station, seq, kind, ts, via FROM station_alarms"
           f" WHERE {where} ORDER BY ts DESC, station, seq DESC")
    return _page(conn, sql, args, page, size)


def search(conn: psycopg.Connection[Any], p: Principal, q: str, page: int, size: int) -> Page:
    """Items whose case number or label contains ``q``, across the stations one may read."""
    where, args = _scope(p, "i.station")
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    sql = ("SELECT i.station, i.label, i.case_id, i.kind, i.description, i.state, i.officer,"
           " c.title FROM items i LEFT JOIN cases c ON c.station = i.station"
           " AND c.case_id = i.case_id"
           f" WHERE {where} AND (i.case_id ILIKE %s OR i.label ILIKE %s)"
           " ORDER BY i.station, i.case_id, i.label")
    return _page(conn, sql, [*args, like, like], page, size)


def item_chain(conn: psycopg.Connection[Any], station: str, label: str) -> tuple[Row, list[Row]]:
    """An item and every replica entry about it (its chain of custody), in seq order.
    Raises KeyError for an item the replica does not have."""
    with conn.cursor(row_factory=dict_row) as cur:
        item = cur.execute(
            "SELECT i.*, c.title, s.origin FROM items i JOIN stations s ON s.id = i.station"
            " LEFT JOIN cases c ON c.station = i.station AND c.case_id = i.case_id"
            " WHERE i.station = %s AND i.label = %s", (station, label),
        ).fetchone()
        if item is None:
            raise KeyError(label)
        entries = cur.execute(
            "SELECT seq, kind, ts, body FROM entries WHERE origin = %s AND seq = ANY(%s)"
            " ORDER BY seq", (item["origin"], list(item["history"])),
        ).fetchall()
    for e in entries:
        body = e["body"] if isinstance(e["body"], dict) else json.loads(str(e["body"]))
        e["actor"] = body.get("actor", "")
        e["photos"] = [ph["sha256"] for ph in body.get("photos", ()) if "sha256" in ph]
    return dict(item), list(entries)
