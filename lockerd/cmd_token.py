"""``locker token``: issue, list and revoke the read API's tokens.

The token's secret is printed once, by ``create``; only its SHA-256 is stored (in
``DATA/api.db``), so a lost token cannot be shown again: revoke it and issue another.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from api.auth import Role, TokenStore, parse_role
from custody.domain.roles import TOKEN_ROLES
from custody.errors import UsageError
from lockerd.paths import station_dir


def _store(data: str) -> TokenStore:
    return TokenStore(station_dir(data))


def _check_person(data: Path, role: Role, person: str | None) -> None:
    """A token of role legal names its holder; a named holder must be a person of the
    station's ``[[people]]`` with that role (when the config lists people at all)."""
    if role is Role.LEGAL and not person:
        raise UsageError("a token of role legal needs --person (one of the legal section)")
    config = data / "config.toml"
    if person is None or not config.is_file():
        return
    from lockerd.config import load_config

    people = load_config(config).people
    if not people or role in (Role.AUDITOR, Role.MIRROR):
        return
    found = [p for p in people if p.id == person]
    if not found:
        raise UsageError(f"no person {person!r} in {config}'s [[people]]")
    if found[0].role != role.value:
        raise UsageError(f"{person!r} is {found[0].role}, not {role.value}")


def _create(args: argparse.Namespace) -> int:
    role = parse_role(args.role)
    if Path(args.data).is_dir():
        _check_person(Path(args.data), role, args.person)
    store = _store(args.data)
    try:
        token_id, secret = store.create(role, args.person, args.note)
    finally:
        store.close()
    # The secret alone on stdout, so `TOKEN=$(locker token create ...)` works.
    print(secret)
    who = f" for {args.person}" if args.person else ""
    print(f"token {token_id}: role {role.value}{who}; shown once, keep it safe", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    store = _store(args.data)
    try:
        tokens = store.tokens()
    finally:
        store.close()
    if args.json:
        rows: list[dict[str, Any]] = [
            {
                "id": t.token_id,
                "role": t.role.value,
                "person": t.person,
                "note": t.note,
                "created_at": t.created_at,
                "revoked_at": t.revoked_at,
            }
            for t in tokens
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not tokens:
        print("no tokens")
        return 0
    for t in tokens:
        state = f"revoked {t.revoked_at}" if t.revoked_at else "active"
        person = t.person or "-"
        print(f"{t.token_id}  {t.role.value:<10}  {person:<12}  {t.created_at}  {state}  {t.note}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    store = _store(args.data)
    try:
        store.revoke(args.token_id)
    finally:
        store.close()
    print(f"token {args.token_id} revoked")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``locker token`` and its subcommands."""
    roles = ", ".join(TOKEN_ROLES)
    parser = subparsers.add_parser(
        "token",
        help="issue, list and revoke read-API tokens",
        description=(
            "Manage the read API's tokens. Each token has a role "
            f"({roles}); an officer's token also names the officer, who then sees only "
            "his or her own cases. Tokens are stored hashed in DATA/api.db."
        ),
    )
    sub = parser.add_subparsers(dest="token_command", metavar="ACTION", required=True)

    create = sub.add_parser(
        "create",
        help="issue a token and print it once",
        description=(
            "Issue a new API token and print its secret once on stdout (the id and role go "
            "to stderr). Only the secret's SHA-256 is stored: a lost token cannot be shown "
            "again, revoke it and issue another."
        ),
    )
    create.add_argument("--data", required=True, metavar="DIR", help="station data directory")
    create.add_argument("--role", required=True, metavar="ROLE", help=f"one of: {roles}")
    create.add_argument(
        "--person", metavar="ID", help="the holder's person id (required for officers)"
    )
    create.add_argument("--note", default="", help="a free note shown by 'token list'")
    create.set_defaults(func=_create)

    lst = sub.add_parser(
        "list",
        help="list issued tokens (never their secrets)",
        description="List every issued token: id, role, person, creation time, revocation.",
    )
    lst.add_argument("--data", required=True, metavar="DIR", help="station data directory")
    lst.add_argument("--json", action="store_true", help="print JSON for machines")
    lst.set_defaults(func=_list)

    revoke = sub.add_parser(
        "revoke",
        help="revoke a token by id",
        description="Revoke a token by its id (as shown by 'token list'); it stops working "
        "at once. The record is kept.",
    )
    revoke.add_argument("--data", required=True, metavar="DIR", help="station data directory")
    revoke.add_argument("token_id", metavar="TOKEN_ID", help="the token's id")
    revoke.set_defaults(func=_revoke)
