"""Retried actions are answered once: the result of each action id is kept.

Every action the page sends (a scan, a handover, a check-out...) carries an ``action_id``
the page drew when the person asked for it. When the network to the daemon drops after the
daemon did the work but before the page got the answer, the page retries with the same id
and gets the first answer back; nothing is done (or written to the ledger) twice. A
request that is still running when its retry arrives waits for the first one to finish.

Results are kept in memory for the last ``capacity`` actions: the window that matters is a
retry while the same daemon runs (a restarted daemon has lost every page's state anyway).
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from custody.errors import LockerError

_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class BadActionIdError(LockerError):
    """The page sent no usable action id (8 to 64 letters, digits, ``-`` or ``_``)."""


@dataclass
class ActionLog:
    """Results by action id, oldest evicted first."""

    capacity: int = 2048
    _done: OrderedDict[str, tuple[str, int, dict[str, Any]]] = field(
        default_factory=OrderedDict
    )
    _running: dict[str, asyncio.Future[tuple[int, dict[str, Any]]]] = field(
        default_factory=dict
    )
    replays: int = 0

    async def run(
        self,
        action_id: str,
        person: str,
        work: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
    ) -> tuple[int, dict[str, Any]]:
        """Do ``work`` once for ``action_id`` and return its (status, body) every time."""
        if not isinstance(action_id, str) or not _ID.match(action_id):
            raise BadActionIdError("every action needs an action_id drawn by the page")
        done = self._done.get(action_id)
        if done is not None:
            owner, status, body = done
            if owner != person:
                raise BadActionIdError("this action id belongs to someone else's action")
            self.replays += 1
            return status, {**body, "replayed": True}
        running = self._running.get(action_id)
        if running is not None:
            status, body = await asyncio.shield(running)
            self.replays += 1
            return status, {**body, "replayed": True}
        fut: asyncio.Future[tuple[int, dict[str, Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._running[action_id] = fut
        try:
            status, body = await work()
        except BaseException as exc:
            # Not recorded as done: a retry runs the work again (nothing was committed,
            # since every step raises before it writes).
            fut.set_exception(exc)
            fut.exception()  # mark retrieved so asyncio does not warn
            raise
        finally:
            self._running.pop(action_id, None)
        fut.set_result((status, body))
        self._done[action_id] = (person, status, body)
        while len(self._done) > self.capacity:
            self._done.popitem(last=False)
        return status, body
