"""The API's own errors; the app turns each into an HTTP status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from custody.errors import LockerError

if TYPE_CHECKING:
    from api.auth import Principal


class ApiError(LockerError):
    """Root of the read API's errors."""


class NotFoundError(ApiError):
    """The thing asked for does not exist (an unknown label, case, photo or sequence number).

    Answered with 404.
    """


class BadRequestError(ApiError):
    """The request's parameters are valid one by one but make no sense together (400)."""


class NotCoveredError(ApiError):
    """No signed checkpoint covers the entry yet, so there is no proof to give (409)."""


class AccessRefusedError(ApiError):
    """The token holder may not read this (an officer asking for another's case): 403.

    Raised where the check is made (on the ledger thread); the app logs the refusal with
    the principal it carries and answers 403.
    """

    def __init__(self, who: Principal, reason: str) -> None:
        super().__init__(reason)
        self.who = who
