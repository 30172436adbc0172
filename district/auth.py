"""District sign-in tokens, kept in PostgreSQL (``tokens``; SHA-256 of the secret only).

The rule (docs/district.md "Who may read what"): a token of role ``legal`` reads every
station of the district (the legal section supervises them all); a token of role
``supervisor`` reads its own station only (``[[people]] station``), and every query and
page of the screen is filtered by it. Tokens are issued to a person of the district
config's ``[[people]]`` with that role; a token for a person who does not exist, or who
does not hold the role, is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import psycopg

from custody.errors import LockerError, UsageError
from district.config import DistrictConfig

ROLES = ("legal", "supervisor")


class NotSignedInError(LockerError):
    """No token, or one the district does not know (or has revoked)."""


@dataclass(frozen=True)
class Principal:
    """Who is signed in: a person, a role and, for a supervisor, the one station."""

    person: str
    name: str
    role: str
    station: str  # "" for legal: every station

    def may_read(self, station: str) -> bool:
        return self.role == "legal" or station == self.station


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(dsn: str, cfg: DistrictConfig, role: str, person: str) -> tuple[str, str]:
    """A new token for a configured person with this role; returns ``(id, secret)``."""
    if role not in ROLES:
        raise UsageError(f"unknown district role {role!r}: expected one of {', '.join(ROLES)}")
    found = [p for p in cfg.people if p.id == person]
    if not found:
        raise UsageError(f"no person {person!r} in the district config's [[people]]")
    who = found[0]
    if who.role != role:
        raise UsageError(f"{person!r} is {who.role}, not {role}")
    token_id = secrets.token_hex(4)
    secret = "dl_" + secrets.token_urlsafe(24)
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO tokens (id, sha256, role, person, station) VALUES (%s, %s, %s, %s, %s)",
            (token_id, _sha(secret), role, person, who.station if role == "supervisor" else ""),
        )
    return token_id, secret


def revoke_token(dsn: str, token_id: str) -> None:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute("UPDATE tokens SET revoked = now() WHERE id = %s AND revoked IS NULL",
                           (token_id,))
        if cur.rowcount != 1:
            raise UsageError(f"no active district token {token_id!r}")


def check_token(conn: psycopg.Connection[tuple[object, ...]], cfg: DistrictConfig,
                secret: str) -> Principal:
    """The principal of a token; :class:`NotSignedInError` for an unknown or revoked one,
    or one whose person has left the config."""
    row = conn.execute(
        "SELECT role, person, station FROM tokens WHERE sha256 = %s AND revoked IS NULL",
        (_sha(secret),),
    ).fetchone()
    if row is None:
        raise NotSignedInError("unknown or revoked token")
    role, person, station = (str(v) for v in row)
    names = {p.id: p.name for p in cfg.people if p.role == role}
    if person not in names:
        raise NotSignedInError(f"{person} is no longer in the district config")
    return Principal(person, names[person], role, station)
