"""The error answers every route may give, documented in the OpenAPI schema, and the refusal
of query parameters a route does not take.

The app's routes raise the project's errors (``api.errors``) and FastAPI's; the status each
becomes is decided in :mod:`api.app`. Which statuses a route can give follows from how it is
built, so :func:`document_errors` reads it off each route once they are all included (a
route added later is documented without any change here):

- ``401`` when it needs a token (it depends on :func:`api.deps.principal`);
- ``403`` when it checks a role (:func:`api.deps.require`) or reads something named in its
  path behind a token (an officer asking for another officer's case, entry or photo);
- ``404`` when its path names something (an unknown label, case, seq, photo, cabinet, tile);
- ``422`` always: a parameter out of range or malformed, or one the route does not take
  (:func:`known_query_only`: ``?cursor=...`` on a list that pages with ``offset``/``limit``
  is refused, not silently read as the first page).

A route lists any other status it gives (``404`` with no path parameter, ``409``, ``500``,
``503``) in its own ``responses=``, with :func:`errors`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api import deps


class ErrorOut(BaseModel):
    """A refusal or an error: one line saying why."""

    detail: str


DESCRIPTIONS: dict[int, str] = {
    400: "the parameters are valid one by one but make no sense together",
    401: "no token, or an unknown or revoked one (logged)",
    403: "the token's role, or this officer, may not read this (logged)",
    404: "no such thing (label, case, seq, photo, cabinet, tile, checkpoint)",
    409: "no signed checkpoint covers the entry yet",
    500: "a stored photo no longer matches its hash (damaged)",
    503: "the station cannot do this now",
}

Responses = dict[int | str, dict[str, Any]]


def errors(*codes: int, **why: str) -> Responses:
    """OpenAPI ``responses`` for error statuses: ``errors(404, 409, s409="...")`` gives each
    the :class:`ErrorOut` body and its description (``s<code>=`` overrides it)."""
    return {
        code: {"model": ErrorOut, "description": why.get(f"s{code}", DESCRIPTIONS[code])}
        for code in codes
    }


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    """A route's dependant and every dependency under it."""
    yield dependant
    for sub in dependant.dependencies:
        yield from _tree(sub)


def route_errors(route: APIRoute) -> set[int]:
    """The error statuses a route gives by construction (see the module's docstring)."""
    calls = [d.call for d in _tree(route.dependant)]
    codes = set()
    token = deps.principal in calls
    if token:
        codes.add(401)
    if any(c in deps.ROLE_CHECKS for c in calls):
        codes.add(403)
    if route.dependant.path_params:
        codes.add(404)
        if token:
            codes.add(403)
    return codes


def errors_as_json(schema: dict[str, Any]) -> dict[str, Any]:
    """Fix an OpenAPI schema so every error answer is documented as JSON: FastAPI files a
    ``model=`` response under the route's own media type, which is ``text/plain`` or
    ``text/html`` for the checkpoint, key, proof and report routes, and a response given
    with a description only has no body at all, while the app answers every error in JSON
    (:class:`ErrorOut`, or FastAPI's validation body for a 422). Idempotent; returns
    ``schema``."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                if not str(code).isdigit() or int(code) < 400:
                    continue
                content = response.setdefault("content", {})
                if not content:  # documented with a description only: the app's JSON body
                    content["application/json"] = {
                        "schema": {"$ref": "#/components/schemas/ErrorOut"}}
                if "application/json" in content:
                    continue
                for media in list(content):
                    if "schema" in content[media]:
                        content["application/json"] = content.pop(media)
    return schema


class ValidationIssue(BaseModel):
    """One refused parameter, as FastAPI reports it."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ValidationErrorOut(BaseModel):
    """A 422: each refused parameter (FastAPI's own body for a validation error)."""

    detail: list[ValidationIssue]


def document_errors(router: APIRouter) -> None:
    """Add to each of ``router``'s routes the error statuses it gives by construction (a
    status the route documents itself is left as it is). Called on each router before it
    is included; the schema is built at the first ``/openapi.json``."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        documented = {int(code) for code in route.responses if str(code).isdigit()}
        for code in sorted(route_errors(route) - documented):
            route.responses.update(errors(code))
        if 422 not in documented and not _takes_parameters(route):
            # FastAPI documents 422 only for a route with parameters; an unknown one is
            # refused everywhere (known_query_only), with FastAPI's validation body.
            route.responses[422] = {
                "model": ValidationErrorOut, "description": "a parameter the route does not take"}


def _takes_parameters(route: APIRoute) -> bool:
    return any(d.path_params or d.query_params or d.header_params or d.cookie_params
               or d.body_params for d in _tree(route.dependant))


def known_query_only(request: Request) -> None:
    """Refuse (422, as FastAPI refuses a malformed parameter) a query parameter the route
    does not take: a misspelt ``limt`` or a ``cursor`` would otherwise be ignored and the
    first page answered as if nothing was wrong."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = {p.alias for d in _tree(route.dependant) for p in d.query_params}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise RequestValidationError([
            {
                "type": "extra_forbidden",
                "loc": ["query", name],
                "msg": f"this route takes no parameter {name!r} (it takes: {takes})",
                "input": request.query_params.get(name),
            }
            for name in unknown
        ])
