"""District state: the custody core's own projection of each station, folded from the
replica, and the district's checks of each station.

Nothing here knows a custody rule. :class:`custody.projection.Projection` folds the
station's entries (read back from ``entries``, in seq order), its views are copied into the
``items``/``cases``/``notices`` tables for queries, and its state is saved in
``stations.state`` so the next fold starts where this one stopped. The checks build the
station's own :class:`custody.rules.engine.RulesEngine` (the station's ``[rules]``, as the
district config gives them, with the station's catalogue: its ``[rules] catalogue`` or the
shipped starter) over that projection: every ladder step the engine says is due,
``escalation_grace_seconds`` ago or more, must have its notice in the station's ledger (the
notice key is ``<matter key>:<step>:<person>``, :mod:`custody.services.notices`,
:mod:`custody.services.stage_notices`); one that is not raises "escalation missing". That
holds for the item deadlines (``matters``) and the case-stage deadlines (``case_deadlines``,
:func:`custody.stage_queries.open_case_deadlines`) alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from custody.domain.values import millis
from custody.projection import ItemView, Projection, ProjectionStateError
from custody.rules.catalogue import Catalogue, load_catalogue
from custody.rules.engine import RulesEngine
from custody.rules.leaving import load_leaving
from custody.stage_queries import open_case_deadlines
from district import db
from district.config import DistrictConfig, StationEntry

log = logging.getLogger(__name__)

Conn = psycopg.Connection[tuple[object, ...]]

_cache: dict[tuple[str, str], Projection] = {}  # (dsn, station) -> the last fold
_catalogues: dict[Path | None, Catalogue] = {}  # a station's [rules] catalogue, read once


def _load(conn: Conn, sid: str) -> Projection:
    key = (str(conn.info.dsn), sid)
    row = conn.execute("SELECT state, folded_size FROM stations WHERE id = %s", (sid,)).fetchone()
    if row is None or row[0] is None:
        return Projection()
    cached = _cache.get(key)
    if cached is not None and cached.size == row[1]:
        return cached
    state = row[0] if isinstance(row[0], dict) else json.loads(str(row[0]))
    try:
        return Projection.from_state(state)
    except ProjectionStateError:  # another format (an upgrade: STATE_VERSION): fold from 0
        log.warning("station %s: saved custody state not restorable, folding again", sid)
        return Projection()


def projection_of(conn: Conn, sid: str) -> Projection:
    """The station's projection as last folded (a fresh one before the first fold)."""
    return _load(conn, sid)


def _item_row(sid: str, item: ItemView, officer: str) -> tuple[Any, ...]:
    return (sid, item.label, item.case_id, item.kind, item.description, item.state.value,
            item.compartment, item.holder, officer, item.due_back, item.handover_due,
            list(item.history))


def _officer(p: Projection, item: ItemView) -> str:
    if item.holder is not None:
        return item.holder
    case = p.cases.get(item.case_id)
    return case.officer if case is not None else item.seizing_officer


def fold_station(conn: Conn, cfg: DistrictConfig, station: StationEntry,
                 now: datetime | None = None) -> Projection:
    """Fold the station's new replica entries into its projection and tables, then check
    the station; returns the projection."""
    sid, origin = station.id, station.origin
    p = _load(conn, sid)
    start = p.size
    changed: set[str] = set()
    with conn.cursor() as cur:
        cur.execute("SELECT body FROM entries WHERE origin = %s AND seq >= %s ORDER BY seq",
                    (origin, start))
        for (body,) in cur:
            changed |= p.apply(body if isinstance(body, dict) else json.loads(str(body)))
    if p.size != start:
        _write_views(conn, sid, p, changed, start)
        conn.execute("UPDATE stations SET state = %s, folded_size = %s WHERE id = %s",
                     (json.dumps(p.to_state(), ensure_ascii=False), p.size, sid))
    _cache[(str(conn.info.dsn), sid)] = p
    check_station(conn, cfg, station, p, now)
    conn.commit()
    return p


def _write_views(conn: Conn, sid: str, p: Projection, changed: Iterable[str], start: int) -> None:
    items = [p.items[label] for label in changed if label in p.items]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO items (station, label, case_id, kind, description, state, compartment,"
            " holder, officer, due_back, handover_due, history) VALUES (%s, %s, %s, %s, %s, %s,"
            " %s, %s, %s, %s, %s, %s) ON CONFLICT (station, label) DO UPDATE SET"
            " state = EXCLUDED.state, compartment = EXCLUDED.compartment,"
            " holder = EXCLUDED.holder, officer = EXCLUDED.officer,"
            " due_back = EXCLUDED.due_back, history = EXCLUDED.history",
            [_item_row(sid, i, _officer(p, i)) for i in items],
        )
        cases = {i.case_id for i in items}
        cur.executemany(
            "INSERT INTO cases (station, case_id, title, officer) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (station, case_id) DO NOTHING",
            [(sid, c, p.cases[c].title, p.cases[c].officer) for c in cases if c in p.cases],
        )
        notices = [n for n in p.notices.values()
                   if n.seq >= start or (n.acknowledged_seq or -1) >= start]
        cur.executemany(
            "INSERT INTO notices (station, key, role, person, subject, seq, at, acknowledged_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (station, key) DO UPDATE SET"
            " acknowledged_at = EXCLUDED.acknowledged_at",
            [(sid, n.key, n.role, n.person, n.subject, n.seq, n.at, n.acknowledged_at)
             for n in notices],
        )


def check_station(conn: Conn, cfg: DistrictConfig, station: StationEntry, p: Projection,
                  now: datetime | None = None) -> None:
    """The station's open matters with their ladder as its ledger shows it, "escalation
    missing" for each due step without its notice, and "station silent"."""
    sid = station.id
    moment = now or datetime.now(UTC)
    now_ms = millis(moment)
    grace_ms = cfg.district.escalation_grace_seconds * 1000
    # the built-in deadlines, a temporary leave's due date among them (its ladder from the
    # station's kinds of leaving, [rules] leaving)
    catalogue = _catalogue(station.rules.catalogue)
    engine = RulesEngine(station.rules, catalogue,
                         load_leaving(station.rules.leaving).point())
    engine.rebuild(p)
    sent_by_item: dict[str, list[tuple[str, int, datetime]]] = {}
    for n in p.notices.values():
        ref = n.refs.get("item")
        if ref is not None:
            sent_by_item.setdefault(ref, []).append((n.key, n.seq, n.at))
    rows = []
    missing_keys: set[str] = set()
    for m in engine.matters():
        if m.step_due_ms(0) > now_ms:
            continue  # nothing of its ladder is due yet: not an escalation
        item = p.items[m.label]
        steps = []
        top = ""
        missing = ""
        for i, rung in enumerate(m.point.ladder):
            due_ms = m.step_due_ms(i)
            if due_ms > now_ms:
                break
            prefix = f"{m.key}:{i + 1}:"
            sent = [s for s in sent_by_item.get(m.label, ()) if s[0].startswith(prefix)]
            steps.append({
                "step": i + 1, "role": rung.role,
                "due": datetime.fromtimestamp(due_ms / 1000, UTC).isoformat(),
                "sent": sent[0][2].isoformat() if sent else None,
                "seq": sent[0][1] if sent else None,
            })
            top = rung.role
            if not sent and due_ms <= now_ms - grace_ms and not missing:
                missing = f"step {i + 1} ({rung.role})"
        deadline = datetime.fromtimestamp(m.deadline_ms / 1000, UTC)
        rows.append((sid, m.key, m.label, item.case_id, _officer(p, item), m.point.id,
                     deadline, json.dumps(steps), top, top == "legal", missing))
        if missing:
            key = f"escalation_missing:{sid}:{m.key}"
            missing_keys.add(key)
            db.raise_alarm(
                conn, sid, "escalation_missing", key,
                f"{m.point.id} {m.label} (case {item.case_id}): {missing} was due and the "
                "station's ledger has no notice for it",
            )
    conn.execute("DELETE FROM matters WHERE station = %s", (sid,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO matters (station, key, label, case_id, officer, rule, deadline, steps,"
            " top_role, legal, missing) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    missing_keys |= _case_deadlines(conn, sid, p, engine, catalogue, moment, grace_ms)
    for (open_key,) in conn.execute(
        "SELECT key FROM district_alarms WHERE station = %s AND kind = 'escalation_missing' "
        "AND cleared IS NULL", (sid,)
    ).fetchall():
        if str(open_key) not in missing_keys:
            db.clear_alarm(conn, str(open_key))
    _check_silent(conn, cfg, sid, moment)


def _catalogue(path: Path | None) -> Catalogue:
    """The station's catalogue (the shipped starter when its [rules] names none), read once."""
    if path not in _catalogues:
        _catalogues[path] = load_catalogue(path)
    return _catalogues[path]


def _case_deadlines(conn: Conn, sid: str, p: Projection, engine: RulesEngine,
                    catalogue: Catalogue, moment: datetime, grace_ms: int) -> set[str]:
    """Replace the station's open case deadlines; "escalation missing" for each case ladder
    step due ``grace`` ago or more without its notice. Returns the keys of those alarms."""
    now_ms = millis(moment)
    sent = {n.key.rsplit(":", 1)[0] for n in p.notices.values()}  # "<matter>:<step>"
    missing: dict[str, str] = {}
    for m in engine.cases.matters():
        for i, rung in enumerate(m.point.ladder):
            if m.step_due_ms(i) > now_ms - grace_ms:
                break
            if f"{m.key}:{i + 1}" not in sent:
                missing[m.key] = f"step {i + 1} ({rung.role})"
                break
    rows = [(sid, d.matter, d.case_id, d.officer, d.stage, d.stage_name, d.stage_name_en,
             d.point, d.point_name, d.next_step, d.deadline, d.overdue, d.ladder_step,
             missing.get(d.matter, ""))
            for d in open_case_deadlines(p, engine, catalogue, moment)]
    conn.execute("DELETE FROM case_deadlines WHERE station = %s", (sid,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO case_deadlines (station, matter, case_id, officer, stage, stage_name,"
            " stage_name_en, point, point_name, next_step, deadline, overdue, ladder_step,"
            " missing) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    keys = set()
    for row in rows:
        if row[13]:
            key = f"escalation_missing:{sid}:{row[1]}"
            keys.add(key)
            db.raise_alarm(
                conn, sid, "escalation_missing", key,
                f"{row[7]} case {row[2]}: {row[13]} was due and the station's ledger has no"
                " notice for it",
            )
    return keys


def _check_silent(conn: Conn, cfg: DistrictConfig, sid: str, now: datetime) -> None:
    row = conn.execute("SELECT checkpoint_seen FROM stations WHERE id = %s", (sid,)).fetchone()
    seen = row[0] if row else None
    limit = timedelta(seconds=cfg.district.silent_after_seconds)
    key = f"silent:{sid}"
    if isinstance(seen, datetime) and now - seen > limit:
        db.raise_alarm(conn, sid, "station_silent", key,
                       f"no new checkpoint since {seen.isoformat()}")
    elif isinstance(seen, datetime):
        db.clear_alarm(conn, key)
