"""The terminal's refusals, each carrying the translation key of the message to show.

Errors raised by the custody services, the scanner and the cabinet bridge are mapped to a
translation key by :func:`message_for` (by class, most specific first); anything else shows
the generic message with the error's own text as detail.
"""

from __future__ import annotations

from custody.domain import errors as custody_errors
from custody.errors import LockerError
from custody.labels import LabelError
from locker_firmware_bridge.errors import CabinetError, CabinetOfflineError
from scanner.errors import CameraError
from terminal.sessions import SignInError


class TerminalError(LockerError):
    """A step refused at the terminal; ``key`` and ``params`` name the message."""

    key = "error.generic"

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.params = params


class NoLabelInViewError(TerminalError):
    """The camera sees no barcode and nothing was typed."""

    key = "scan.none"


class WrongCheckCharacterError(TerminalError):
    """A label was read or typed with a wrong check character (or is not a label at all)."""

    key = "scan.bad_label"


class NotYoursError(TerminalError):
    """The item is not checked out to this officer (return) or not on their cases."""

    key = "officer.not_yours"


class NoStepError(TerminalError):
    """There is no compartment step under way for this person (open one first)."""

    key = "bay.no_step"


class DoorOpenError(TerminalError):
    """The step cannot be committed while the compartment's door is open."""

    key = "bay.close_door"


class PhotoMissingError(TerminalError):
    """The step's photo has not been taken (and shown) yet."""

    key = "bay.photo_first"


class NotOpenedError(TerminalError):
    """The compartment has not been opened for this step yet."""

    key = "bay.open_first"


class NoFreeCompartmentError(TerminalError):
    """No compartment is free for the items to be stored (recorded as ``flow.failed``)."""

    key = "bay.no_free"


class CompartmentBusyError(TerminalError):
    """The compartment a step needs is in another step right now: try again."""

    key = "bay.busy"


class StepFailedError(TerminalError):
    """A physical step failed and ended; the failure is ledger entry ``seq``
    (``flow.failed`` or ``alarm.wrong_compartment``)."""

    key = "bay.failed"

    def __init__(self, message: str, *, seq: int, step: str, **params: object) -> None:
        super().__init__(message, seq=seq, **params)
        self.seq = seq
        self.step = step


class DoorTimeoutError(StepFailedError):
    """A released door was not opened, or an opened door not shut, in time."""


class CompartmentEmptyError(StepFailedError):
    """After a store step the compartment's sensor reads empty."""


class ItemNotRemovedError(StepFailedError):
    """After a check-out the compartment's sensor still reads the file there."""


class WrongCompartmentError(StepFailedError):
    """After a return the file's compartment reads empty: it went into another one."""


class RoleRefusedError(TerminalError):
    """The person's role may not take this step at the terminal."""

    key = "error.role"


class LabelNotPrintedError(TerminalError):
    """A label printer fault on a reprint (no paper, offline, a refused job): the label can
    be printed again once it is put right."""

    key = "label.fault"


_BY_CLASS: tuple[tuple[type[BaseException], str], ...] = (
    (LabelError, "scan.bad_label"),
    (custody_errors.DiscrepancyReasonRequiredError, "handover.reason_required"),
    (custody_errors.ChecklistIncompleteError, "handover.checklist_incomplete"),
    (custody_errors.NothingToHandOverError, "handover.nothing"),
    (custody_errors.AlreadyHandedOverError, "handover.already"),
    (custody_errors.CompartmentInUseError, "bay.in_use"),
    (custody_errors.NotOnCaseError, "officer.not_on_case"),
    (custody_errors.NotCheckedOutError, "officer.not_out"),
    (custody_errors.AlreadyStoredError, "bay.already_stored"),
    (custody_errors.UnknownItemError, "scan.unknown_item"),
    (custody_errors.UnknownCaseError, "error.unknown_case"),
    (custody_errors.RoleError, "error.role"),
    (custody_errors.CustodyError, "error.custody"),
    (CameraError, "error.camera"),
    (CabinetOfflineError, "error.cabinet_offline"),
    (CabinetError, "error.cabinet"),
)


def message_for(exc: BaseException) -> tuple[str, dict[str, object]]:
    """The translation key and parameters for an error (``detail`` is its own text)."""
    if isinstance(exc, TerminalError | SignInError):
        return exc.key, {"detail": str(exc), **exc.params}
    for cls, key in _BY_CLASS:
        if isinstance(exc, cls):
            return key, {"detail": str(exc)}
    return "error.generic", {"detail": str(exc)}
