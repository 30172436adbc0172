"""API tokens and roles: who may read what.

A token is a random secret shown once when it is created (``locker token create``); only its
SHA-256 is kept, in ``DATA/api.db``, so a copy of the data directory gives nobody a usable
token. Each token has a role (:data:`custody.domain.roles.TOKEN_ROLES`: auditor, clerk,
supervisor, officer, legal, mirror) and, for officers, the person it belongs to: officers see
only their own cases; a mirror's token reads the published log (``/log/``) and no custody
state.

Every refusal (no token, an unknown or revoked token, a role that may not read the thing
asked for) is logged through :mod:`logging` and kept in the ``refusals`` table, so an
auditor can see who tried what.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from custody.domain import roles
from custody.domain.roles import TOKEN_ROLES
from custody.domain.roles import Role as Role  # the API's callers take it from here
from custody.domain.values import shown_time
from custody.errors import LockerError, UsageError
from custody.ports import Clock, SystemClock

log = logging.getLogger("api.auth")

TOKEN_PREFIX = "lkr_"
DB_NAME = "api.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    person TEXT,
    note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS refusals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    token_id TEXT,
    role TEXT,
    person TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL
);
"""


def may_see_contacts(role: str) -> bool:
    """Whether a reader of role ``role`` may see contact details: the complainant's contact
    and staff phone numbers (:data:`custody.domain.roles.CONTACT_ROLES`)."""
    return str(role) in roles.CONTACT_ROLES


class AuthError(LockerError):
    """Root of the API's authentication and authorisation failures."""


class NotAuthenticatedError(AuthError):
    """No token, or a token the store does not know (or has revoked)."""


class ForbiddenError(AuthError):
    """The token is valid but its role may not read what was asked for."""


class UnknownTokenError(UsageError):
    """``token revoke`` named a token id that does not exist."""


@dataclass(frozen=True)
class Principal:
    """The holder of a valid token."""

    token_id: str
    role: Role
    person: str | None

    @property
    def sees_everything(self) -> bool:
        """Auditors, clerks, supervisors and the legal section read the whole station's
        custody state (legal: read-only, as the district's rule in docs/district.md)."""
        return self.role in (Role.AUDITOR, Role.CLERK, Role.SUPERVISOR, Role.LEGAL)

    @property
    def sees_contacts(self) -> bool:
        """Whether this principal may see contact details (:func:`may_see_contacts`)."""
        return may_see_contacts(self.role.value)

    def may_see_case(self, officer: str | None) -> bool:
        """Whether this principal may read a case whose responsible officer is ``officer``."""
        if self.sees_everything:
            return True
        return officer is not None and officer == self.person


@dataclass(frozen=True)
class TokenInfo:
    """A stored token as ``token list`` shows it (never the secret)."""

    token_id: str
    role: Role
    person: str | None
    note: str
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True)
class Refusal:
    """One refused request, as kept in the ``refusals`` table."""

    id: int
    at: str
    token_id: str | None
    role: str | None
    person: str | None
    method: str
    path: str
    status: int
    reason: str


def hash_token(token: str) -> str:
    """The stored form of a token: the hex SHA-256 of its text."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_role(text: str) -> Role:
    """A token role (:data:`custody.domain.roles.TOKEN_ROLES`) from its name; raises
    :class:`UsageError` naming the valid ones."""
    try:
        return roles.parse_role(text, TOKEN_ROLES)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _iso(clock: Clock) -> str:
    # stored and shown in UTC whatever zone the clock gives its times in
    return shown_time(clock.now(), UTC)


class TokenStore:
    """Tokens and refusals in ``DATA/api.db`` (SQLite). Safe to share between threads."""

    def __init__(self, data_dir: Path, *, clock: Clock | None = None) -> None:
        self.path = Path(data_dir) / DB_NAME
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        # One connection guarded by a lock: token checks are tiny and this keeps the API
        # from opening a connection per request.
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def create(self, role: Role, person: str | None = None, note: str = "") -> tuple[str, str]:
        """Issue a token; returns ``(token_id, secret)``. The secret is not stored."""
        if role is Role.OFFICER and not person:
            raise UsageError("an officer's token needs --person (the officer's id)")
        if person is not None and not person.strip():
            raise UsageError("--person must not be blank")
        token_id = secrets.token_hex(4)
        secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO tokens (id, token_sha256, role, person, note, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (token_id, hash_token(secret), role.value, person, note, _iso(self._clock)),
            )
        return token_id, secret

    def tokens(self) -> list[TokenInfo]:
        """Every token ever issued, revoked ones included, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, role, person, note, created_at, revoked_at FROM tokens"
                " ORDER BY created_at, id"
            ).fetchall()
        return [TokenInfo(r[0], Role(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def revoke(self, token_id: str) -> None:
        """Revoke a token by id (idempotent for an already revoked token)."""
        with self._tx() as conn:
            row = conn.execute("SELECT revoked_at FROM tokens WHERE id = ?", (token_id,)).fetchone()
            if row is None:
                raise UnknownTokenError(f"no token with id {token_id!r}")
            if row[0] is None:
                conn.execute(
                    "UPDATE tokens SET revoked_at = ? WHERE id = ?", (_iso(self._clock), token_id)
                )

    def authenticate(self, secret: str | None) -> Principal:
        """The principal holding ``secret``; raises :class:`NotAuthenticatedError`."""
        if not secret:
            raise NotAuthenticatedError("no API token: send 'Authorization: Bearer <token>'")
        with self._lock:
            row = self._conn.execute(
                "SELECT id, role, person, revoked_at FROM tokens WHERE token_sha256 = ?",
                (hash_token(secret),),
            ).fetchone()
        if row is None:
            raise NotAuthenticatedError("unknown API token")
        if row[3] is not None:
            raise NotAuthenticatedError(f"API token {row[0]} was revoked at {row[3]}")
        return Principal(token_id=row[0], role=Role(row[1]), person=row[2])

    def record_refusal(
        self,
        *,
        method: str,
        path: str,
        status: int,
        reason: str,
        principal: Principal | None = None,
    ) -> None:
        """Log a refused request and keep it in the ``refusals`` table."""
        who = (
            f"token {principal.token_id} ({principal.role.value}"
            f"{', ' + principal.person if principal.person else ''})"
            if principal
            else "anonymous"
        )
        log.warning("refused %s %s for %s: %s (%d)", method, path, who, reason, status)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO refusals (at, token_id, role, person, method, path, status, reason)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _iso(self._clock),
                    principal.token_id if principal else None,
                    principal.role.value if principal else None,
                    principal.person if principal else None,
                    method,
                    path,
                    status,
                    reason,
                ),
            )

    def refusals(self, offset: int = 0, limit: int = 100) -> tuple[int, list[Refusal]]:
        """``(total, page)`` of refusals, newest first."""
        with self._lock:
            total = int(self._conn.execute("SELECT count(*) FROM refusals").fetchone()[0])
            rows = self._conn.execute(
                "SELECT id, at, token_id, role, person, method, path, status, reason"
                " FROM refusals ORDER BY id DESC LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return total, [Refusal(*r) for r in rows]
