"""What the kiosk's leave screens need of the step service (``lockerd.steps_leave``).

A Protocol, so the terminal never imports ``lockerd``: ``StepDesk.leave`` is one of these.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from custody.leaving import LeaveRecord, Recipient
from custody.ports import PhotoRef

if TYPE_CHECKING:
    from terminal.ports import BayStep


class LeaveDesk(Protocol):
    """Leave requests, decisions, carrying out at the cabinet, returns."""

    def requests(self) -> list[LeaveRecord]:
        """Requests in progress (asked, approved, out), oldest first."""
        ...

    def request(self, request: int) -> LeaveRecord:
        """One request (UnknownLeaveError if none)."""
        ...

    async def ask(self, person: str, label: str, *, kind: str, reason: str,
                  documents: dict[str, str], due: datetime | None = None) -> LeaveRecord:
        """The officer in charge asks."""
        ...

    async def decide(self, person: str, request: int, *, approve: bool,
                     reason: str) -> LeaveRecord:
        """A supervisor approves or refuses."""
        ...

    async def open(self, person: str, request: int,
                   second_clerk: str | None = None) -> BayStep:
        """A clerk starts carrying a request out (the compartment opens)."""
        ...

    def recipient(self, person: str, recipient: Recipient) -> None:
        """Who receives the item."""
        ...

    async def receipt(self, person: str) -> PhotoRef:
        """Photograph the signed receipt."""
        ...

    async def commit(self, person: str) -> LeaveRecord:
        """Judge the door and sensor, record the carrying out."""
        ...

    async def come_back(self, person: str, request: int) -> LeaveRecord:
        """A temporary leave is back."""
        ...

    async def hold(self, person: str, case_id: str, reason: str,
                   item: str | None = None) -> None:
        """Hold a case or an item."""
        ...

    async def lift(self, person: str, approver: str, case_id: str, reason: str,
                   item: str | None = None) -> None:
        """Lift a hold, approved by another supervisor."""
        ...
