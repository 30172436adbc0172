"""Errors the custody services raise: one subclass per failure a caller handles.

Every one of them is raised *before* anything is appended to the ledger, so a refused
command leaves the ledger (and the projection) exactly as it was.
"""

from __future__ import annotations

from custody.errors import LockerError


class CustodyError(LockerError):
    """Root of the custody domain's refusals."""


class InvalidInputError(CustodyError):
    """A field is missing or malformed (empty description, naive time, bad compartment...)."""


class UnknownCaseError(CustodyError):
    """No case with that id has been registered."""


class UnknownItemError(CustodyError):
    """The label is well formed but no item with that label has been registered."""


class UnknownPersonError(CustodyError):
    """The person id is not in the station's people list."""


class UnknownNoticeError(CustodyError):
    """No notice with that key has been sent."""


class DuplicateCaseError(CustodyError):
    """A case with that id is already registered."""


class DuplicateItemError(CustodyError):
    """An item with that label is already registered (labels are unique station-wide)."""


class RoleError(CustodyError):
    """The person does not hold the role the step needs (e.g. a disposal approver)."""


class NotOnCaseError(CustodyError):
    """The officer is not one of the case's officers."""


class IllegalTransitionError(CustodyError):
    """The item's current custody state does not allow this step."""


class AlreadyHandedOverError(IllegalTransitionError):
    """The item was already handed over to the centre."""


class AlreadyStoredError(IllegalTransitionError):
    """The item is already stored in a compartment."""


class NotCheckedOutError(IllegalTransitionError):
    """The item is not checked out, so it cannot be returned."""


class AlreadyDisposedError(IllegalTransitionError):
    """The item has been disposed of; its custody is closed."""


class PhotoRequiredError(CustodyError):
    """The step needs at least one photo reference (handover, storage, check-out, return)."""


class ChecklistIncompleteError(CustodyError):
    """The clerk has not signed every item of the lawfulness checklist."""


class DiscrepancyReasonRequiredError(CustodyError):
    """The handover has missing or extra items and the clerk gave no written reason."""


class NothingToHandOverError(CustodyError):
    """No scanned label matches an item of the case awaiting handover."""


class CompartmentInUseError(CustodyError):
    """The compartment holds items of another case (cases are never mixed)."""


class NotRecipientError(CustodyError):
    """Only the person a notice was sent to can acknowledge it."""


class AlreadyAcknowledgedError(CustodyError):
    """The notice has already been acknowledged."""


class UnknownAlarmError(CustodyError):
    """No open alarm with that seq (never raised, or already acknowledged)."""
