"""The district's PostgreSQL schema (the replica and the state folded from it).

Tables, every one keyed so that a replay is harmless:

- ``stations``: one row per configured station: its origin, how far it is mirrored
  (``mirrored_size``) and folded (``folded_size``), the last checkpoint and its age, the
  follower's health (failures, next try, last error), ``forked``; ``state`` is the custody
  core's own projection of the station (:meth:`custody.projection.Projection.to_state`).
- ``entries``: every mirrored ledger entry, ``(origin, seq)``; the exact bytes
  (``raw``, which hash to the leaf the station signed) and the decoded body (``body``).
- ``checkpoints``: every checkpoint accepted, ``(origin, size)``, the signed note with all
  its cosignature lines.
- ``items``, ``cases``, ``notices``: the projection's views, per station, for queries.
- ``matters``: the open deadline matters of the rules engine, with the steps the station's
  ledger shows sent and ``missing`` (a step due that the ledger does not show).
- ``case_deadlines``: the open case-stage deadlines of the station's catalogue
  (:func:`custody.stage_queries.open_case_deadlines`): case, stage, deadline, next step,
  ``overdue`` (at the district's last check), the highest ladder step the ledger shows
  notified, and ``missing`` as for ``matters``.
- ``station_alarms``: alarm entries of the stations, ``(station, seq)``, from the MQTT
  bridge (fast) or the tile pull (durable), whichever comes first.
- ``district_alarms``: the district's own alarms (fork, station silent, mirror failing,
  escalation missing, witness refused), one open row per ``key``.
- ``tokens``: district sign-in tokens (SHA-256 only).
"""

from __future__ import annotations

import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS stations (
    id text PRIMARY KEY,
    origin text NOT NULL UNIQUE,
    url text NOT NULL,
    mirrored_size bigint NOT NULL DEFAULT 0,
    folded_size bigint NOT NULL DEFAULT 0,
    checkpoint_size bigint NOT NULL DEFAULT 0,
    checkpoint_seen timestamptz,
    cosigned_size bigint NOT NULL DEFAULT 0,
    station_size bigint NOT NULL DEFAULT 0,
    last_pull timestamptz,
    failures integer NOT NULL DEFAULT 0,
    next_try timestamptz,
    last_error text NOT NULL DEFAULT '',
    forked boolean NOT NULL DEFAULT false,
    state jsonb
);
CREATE TABLE IF NOT EXISTS entries (
    origin text NOT NULL,
    seq bigint NOT NULL,
    kind text NOT NULL,
    ts text NOT NULL,
    body jsonb NOT NULL,
    raw bytea NOT NULL,
    PRIMARY KEY (origin, seq)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    origin text NOT NULL,
    size bigint NOT NULL,
    note text NOT NULL,
    cosignatures integer NOT NULL,
    first_seen timestamptz NOT NULL,
    PRIMARY KEY (origin, size)
);
CREATE TABLE IF NOT EXISTS cases (
    station text NOT NULL,
    case_id text NOT NULL,
    title text NOT NULL,
    officer text NOT NULL,
    PRIMARY KEY (station, case_id)
);
CREATE TABLE IF NOT EXISTS items (
    station text NOT NULL,
    label text NOT NULL,
    case_id text NOT NULL,
    kind text NOT NULL,
    description text NOT NULL,
    state text NOT NULL,
    compartment text,
    holder text,
    officer text NOT NULL,
    due_back timestamptz,
    handover_due timestamptz NOT NULL,
    history bigint[] NOT NULL,
    PRIMARY KEY (station, label)
);
CREATE INDEX IF NOT EXISTS items_case ON items (case_id);
CREATE TABLE IF NOT EXISTS notices (
    station text NOT NULL,
    key text NOT NULL,
    role text NOT NULL,
    person text NOT NULL,
    subject text NOT NULL,
    seq bigint NOT NULL,
    at timestamptz NOT NULL,
    acknowledged_at timestamptz,
    PRIMARY KEY (station, key)
);
CREATE TABLE IF NOT EXISTS matters (
    station text NOT NULL,
    key text NOT NULL,
    label text NOT NULL,
    case_id text NOT NULL,
    officer text NOT NULL,
    rule text NOT NULL,
    deadline timestamptz NOT NULL,
    steps jsonb NOT NULL,
    top_role text NOT NULL,
    legal boolean NOT NULL,
    missing text NOT NULL DEFAULT '',
    PRIMARY KEY (station, key)
);
CREATE TABLE IF NOT EXISTS case_deadlines (
    station text NOT NULL,
    matter text NOT NULL,
    case_id text NOT NULL,
    officer text NOT NULL,
    stage text NOT NULL,
    stage_name text NOT NULL,
    stage_name_en text NOT NULL,
    point text NOT NULL,
    point_name text NOT NULL,
    next_step text NOT NULL,
    deadline timestamptz NOT NULL,
    overdue boolean NOT NULL,
    ladder_step integer NOT NULL,
    missing text NOT NULL DEFAULT '',
    PRIMARY KEY (station, matter)
);
CREATE TABLE IF NOT EXISTS station_alarms (
    station text NOT NULL,
    seq bigint NOT NULL,
    kind text NOT NULL,
    ts text NOT NULL,
    body jsonb NOT NULL,
    via text NOT NULL,
    received timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq)
);
CREATE TABLE IF NOT EXISTS district_alarms (
    id bigserial PRIMARY KEY,
    station text NOT NULL,
    kind text NOT NULL,
    key text NOT NULL,
    detail text NOT NULL,
    raised timestamptz NOT NULL DEFAULT now(),
    cleared timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS district_alarms_open
    ON district_alarms (key) WHERE cleared IS NULL;
CREATE TABLE IF NOT EXISTS tokens (
    id text PRIMARY KEY,
    sha256 text NOT NULL UNIQUE,
    role text NOT NULL,
    person text NOT NULL,
    station text NOT NULL DEFAULT '',
    created timestamptz NOT NULL DEFAULT now(),
    revoked timestamptz
);
"""


def connect(dsn: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection to the district database (autocommit off: callers commit)."""
    return psycopg.connect(dsn)


def create_schema(dsn: str) -> None:
    """Create every table that is missing (idempotent)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(1414)")  # two processes starting at once
        try:
            conn.execute(SCHEMA)
        finally:
            conn.execute("SELECT pg_advisory_unlock(1414)")


def raise_alarm(
    conn: psycopg.Connection[tuple[object, ...]], station: str, kind: str, key: str, detail: str
) -> bool:
    """Open a district alarm unless one with this key is open; True when it is new."""
    cur = conn.execute(
        "INSERT INTO district_alarms (station, kind, key, detail) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (key) WHERE cleared IS NULL DO NOTHING",
        (station, kind, key, detail),
    )
    return cur.rowcount == 1


def clear_alarm(conn: psycopg.Connection[tuple[object, ...]], key: str) -> None:
    """Close the open district alarm with this key (none open: nothing)."""
    conn.execute(
        "UPDATE district_alarms SET cleared = now() WHERE key = %s AND cleared IS NULL", (key,)
    )
