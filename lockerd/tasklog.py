"""How a daemon task that will try again logs a failure (one rule, used by every such task).

A failure the project knows (a :class:`custody.errors.LockerError`: a full disk, a broker
or cabinet that does not answer) is one line naming it, at ERROR: the operator reads what
to do, not a traceback, and the task retries. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import logging

from custody.errors import LockerError


def log_retry(log: logging.Logger, what: str, exc: BaseException) -> None:
    """Log that ``what`` failed with ``exc`` and will be tried again."""
    if isinstance(exc, LockerError):
        log.error("%s failed: %s (%s); retrying", what, exc, type(exc).__name__)
    else:
        log.error("%s failed; retrying", what, exc_info=exc)
