"""The API's own errors; the app turns each into an HTTP status."""

from __future__ import annotations

from custody.errors import LockerError


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
