"""FastAPI dependencies: the token holder of a request and the role checks.

``principal`` turns the ``Authorization: Bearer`` header into a :class:`Principal` or refuses
with 401; ``require(...)`` adds a role check (403). Both log the refusal and keep it in the
token store's ``refusals`` table. Handlers that refuse for a finer reason (an officer asking
for someone else's case) call :func:`refuse`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, NoReturn

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import NotAuthenticatedError, Principal, Role, TokenStore

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from `locker token create`, sent as `Authorization: Bearer <token>`.",
)


def token_store(request: Request) -> TokenStore:
    """The app's token store."""
    store: TokenStore = request.app.state.tokens
    return store


def principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The holder of the request's token; 401 (logged) without a valid one."""
    store = token_store(request)
    try:
        return store.authenticate(creds.credentials if creds else None)
    except NotAuthenticatedError as exc:
        store.record_refusal(
            method=request.method, path=request.url.path, status=401, reason=str(exc)
        )
        raise HTTPException(
            status_code=401, detail=str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None


def refuse(request: Request, who: Principal, reason: str) -> NoReturn:
    """Refuse the request with 403, logging why."""
    token_store(request).record_refusal(
        method=request.method, path=request.url.path, status=403, reason=reason, principal=who
    )
    raise HTTPException(status_code=403, detail=reason)


# The dependencies require() made: api.responses documents 403 on the routes using one.
ROLE_CHECKS: set[object] = set()


def require(*roles: Role) -> Callable[[Request, Principal], Principal]:
    """A dependency admitting only the given roles (403, logged, for the others)."""
    allowed = frozenset(roles)
    names = ", ".join(sorted(r.value for r in allowed))

    def check(request: Request, who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role not in allowed:
            refuse(request, who, f"role {who.role.value} may not read this (needs: {names})")
        return who

    ROLE_CHECKS.add(check)
    return check


AnyRole = Annotated[Principal, Depends(principal)]
StationRole = Annotated[Principal, Depends(require(Role.AUDITOR, Role.CLERK, Role.SUPERVISOR))]
AuditorRole = Annotated[Principal, Depends(require(Role.AUDITOR))]
