"""What the terminal works with: the station's parts, handed over by ``lockerd``.

:class:`TerminalStation` bundles the step service the kiosk drives (``lockerd``'s one write
path, typed here as :class:`~terminal.ports.StepDesk`), the custody service for reading,
the photo store, the clock, the sign-in settings, the alarm board and the SMS channel's
status. ``lockerd`` builds one
and passes it to :func:`terminal.app.create_terminal_app`; the terminal never imports
``lockerd``.

Compartments are named ``<cabinet>/<n>`` with ``n`` the controller's index (from 0), the
same names the step service and the alarms write to the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from custody.alarms import AlarmView
from custody.errors import LockerError
from custody.ports import Clock, PhotoStore
from custody.services import CustodyService
from terminal.ports import StepDesk
from terminal.sessions import TerminalSettings

if TYPE_CHECKING:  # the case-stage module imports the app, which imports this
    from terminal.case_stages import CaseSystemGate, StageDesk


class CompartmentNameError(LockerError):
    """A compartment name is not ``<cabinet>/<n>`` for a known cabinet and number."""


class AlarmBoard(Protocol):
    """Where open alarms come from and where a clerk's acknowledgement is recorded."""

    def open_alarms(self) -> Sequence[AlarmView]:
        """Alarms nobody has acknowledged yet, oldest first."""
        ...

    def acknowledge(self, alarm_id: str, *, clerk: str) -> None:
        """Record the clerk's acknowledgement (a ledger entry); refuses unknown ids."""
        ...


@dataclass
class TerminalStation:
    """The parts of the station the terminal is handed (by ``lockerd``, or a test)."""

    #: the custody service: read only here (its projection, directory and settings); every
    #: write goes through ``steps``
    custody: CustodyService
    #: the one step service (sign-in, handover, compartment steps)
    steps: StepDesk
    photos: PhotoStore
    clock: Clock
    settings: TerminalSettings = field(default_factory=TerminalSettings)
    alarms: AlarmBoard | None = None
    station_name: str = ""
    #: case stages (``/cases``, ``/api/stage``); and the token store that lets the station's
    #: case-management system post stages (``/case-system/stages``)
    stages: StageDesk | None = None
    case_system: CaseSystemGate | None = None
    #: the SMS channel's last status (signal, registration, queue; ``terminal.sms_line``),
    #: None when the station sends no SMS
    sms_status: Callable[[], Mapping[str, Any]] | None = None
    #: whether the station has a label printer (the screens offer "Reprint label")
    label_printer: bool = False
