"""What the kiosk is handed: the step service it drives, and the values that service answers.

The kiosk never writes to the ledger itself and never imports ``lockerd``: ``lockerd``
builds the one step service (``lockerd.steps.StepService``, also under ``locker terminal``
and the demo) and hands it over as a :class:`StepDesk`. The values below are what the
service answers; the screens read them and never change them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Protocol

from custody.domain.people import Complainant
from custody.domain.values import ManifestLine
from custody.ports import CompartmentState, PhotoRef
from custody.projection import CaseView, ItemView
from custody.queries import ReturnPlace
from custody.services import HandoverResult
from terminal.camera_view import Shot
from terminal.sessions import Session, Sessions

if TYPE_CHECKING:
    from terminal.leave_ports import LeaveDesk

#: why a store step goes to its compartment (the screens translate ``bay.reason_<reason>``);
#: a return's reason is its :class:`~custody.queries.ReturnPlace` (``return.<reason>``)
STORE_REASONS = ("stored_here", "returned_here", "free_compartment")


@dataclass
class HandoverDraft:
    """A handover being checked: manifest lines ticked by scans, extras, their photos."""

    case_id: str
    ticked: dict[str, str] = field(default_factory=dict)  # label -> photo sha256
    extra: dict[str, str] = field(default_factory=dict)
    photos: dict[str, PhotoRef] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanOutcome:
    """What one scan did to a handover draft: ``ticked``, ``extra``, ``already`` (scanned
    before in this draft) or ``handed_over`` (an item of the case taken over before)."""

    status: str
    label: str
    photo: str  # sha256 of the scan's photo


@dataclass(frozen=True)
class LabelRun:
    """What printing some labels did (after a registration or a handover, or a reprint).

    ``enabled`` is False when the station has no label printer (nothing was tried);
    ``error`` is the printer's fault, to show as is (the labels in ``not_printed`` can be
    printed again); the custody step stands either way."""

    enabled: bool
    printed: tuple[str, ...] = ()
    not_printed: tuple[str, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class HandedOver(HandoverResult):
    """A recorded handover and the labels printed for its items that had none."""

    labels: LabelRun = LabelRun(False)

    @classmethod
    def of(cls, result: HandoverResult, labels: LabelRun) -> HandedOver:
        """The custody service's result with the label run added."""
        return cls(**{f.name: getattr(result, f.name) for f in fields(HandoverResult)},
                   labels=labels)


@dataclass(frozen=True)
class Registered:
    """A registered case and the labels printed for its items."""

    case: CaseView
    labels: LabelRun


@dataclass
class BayStep:
    """One compartment step under way: what, where and why, and how far it got.

    ``purpose`` is ``store``, ``check_out`` or ``return``; ``reason`` one of
    :data:`STORE_REASONS`, or a return's :class:`~custody.queries.ReturnReason` value (its
    whole answer in ``place``). Set by the step service only."""

    purpose: str
    labels: tuple[str, ...]
    compartment: str
    case_id: str
    reason: str
    person: str
    place: ReturnPlace | None = None  # a return: where the file goes back, and why
    scan_photo: PhotoRef | None = None  # the file identified at the start (a return)
    photo: PhotoRef | None = None  # the step's own photo, shown before the commit
    opened: bool = False  # the lock was released
    door_seen_open: bool = False
    door_cycled: bool = False  # the door opened and shut again since the release
    done: bool = False
    failed_seq: int | None = None  # the entry that recorded why the step ended
    failed_message: str = ""
    occupied_at_open: bool | None = None
    counter_at_open: int = 0


class StepDesk(Protocol):
    """The step service, as the kiosk drives it (``lockerd.steps.StepService``)."""

    @property
    def sessions(self) -> Sessions:
        """The one badge list, PIN check, lockout and idle lock of the station."""
        ...

    @property
    def leave(self) -> LeaveDesk:
        """Items leaving custody (``lockerd.steps_leave``)."""
        ...

    async def sign_in(self, badge: str, pin: str, language: str) -> Session:
        """Badge and PIN; a lockout is recorded (``alarm.pin_lockout``)."""
        ...

    async def shoot(self) -> Shot:
        """One camera frame and its reads (one capture at a time)."""
        ...

    async def compartment_state(self, name: str) -> CompartmentState:
        """A compartment's door and sensor as the poller last read them."""
        ...

    def case(self, case_id: str) -> tuple[CaseView, list[ItemView]]:
        """A case and its items."""
        ...

    def item(self, label: str) -> ItemView:
        """The item of a label."""
        ...

    def draft(self, person: str, case_id: str) -> HandoverDraft:
        """A person's handover draft for a case."""
        ...

    async def scan_for_handover(
        self, person: str, case_id: str, typed: str | None
    ) -> list[ScanOutcome]:
        """Scan one item for a handover (photographed)."""
        ...

    def drop_extra(self, person: str, case_id: str, label: str) -> None:
        """Set an extra item aside."""
        ...

    async def commit_handover(
        self, person: str, case_id: str, checklist: Mapping[str, bool], reason: str
    ) -> HandedOver:
        """Record the handover, then print the labels its items lack."""
        ...

    def manifest_line(self, kind: str, description: str, quantity: str, seized_at: str, *,
                      seized_from: str = "", category: str = "") -> ManifestLine:
        """A manifest line from posted text (``seized_at`` in the station's zone)."""
        ...

    async def register_new_case(
        self, officer: str, *, title: str, lines: Sequence[ManifestLine],
        complainant: Complainant | None = None,
    ) -> Registered:
        """Register a case the station numbers (case id and labels), then print its labels."""
        ...

    async def reprint(self, person: str, label: str) -> LabelRun:
        """Print an item's label again (recorded as ``label.printed``, reason ``reprint``)."""
        ...

    def step(self, person: str) -> BayStep | None:
        """The person's compartment step, if one is under way."""
        ...

    async def open_store(self, person: str, case_id: str) -> BayStep:
        """Start storing a case's waiting items."""
        ...

    async def open_check_out(self, person: str, label: str) -> BayStep:
        """Start taking a stored file out."""
        ...

    async def open_return(self, person: str, typed: str | None) -> BayStep:
        """Identify a file brought back and open where it goes."""
        ...

    async def reopen(self, person: str) -> BayStep:
        """Release the step's lock again."""
        ...

    async def photograph(self, person: str) -> PhotoRef:
        """Take the step's photo."""
        ...

    async def commit(self, person: str) -> BayStep:
        """Judge door and sensor, then record the step (or its failure)."""
        ...

    async def cancel(self, person: str, *, why: str = "cancelled") -> BayStep | None:
        """End the step without recording it (an occupancy change is an alarm)."""
        ...
