"""The small interfaces the custody core needs from the outside world.

Adapters at the edge implement these (the Modbus and lock-board drivers, the OpenCV camera,
the pyzbar/zxing-cpp reader, the MQTT notifier); ``hw_sim`` offers fakes that satisfy the
same Protocols, and contract tests run one suite against both.

Blocking calls (camera, barcode reader, photo store) are plain functions: callers on an
event loop run them with ``asyncio.to_thread``. Cabinet calls are ``async`` because every
real cabinet sits behind a serial line or a socket.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

# --------------------------------------------------------------------------- clock


@runtime_checkable
class Clock(Protocol):
    """Where time comes from. Tests inject a fake; production uses :class:`SystemClock`."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


# --------------------------------------------------------------------------- cabinets


@dataclass(frozen=True)
class CompartmentState:
    """One compartment as its controller reports it."""

    index: int
    door_closed: bool
    occupied: bool
    locked: bool


@dataclass(frozen=True)
class CabinetStatus:
    """A full-status read of one cabinet."""

    cabinet_id: str
    compartments: tuple[CompartmentState, ...]
    door_event_counter: int
    firmware_version: int = 0


class CabinetEventKind(enum.StrEnum):
    """What the poller reports. Values are stable: they appear in MQTT payloads and alarms."""

    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    ITEM_PLACED = "item_placed"
    ITEM_REMOVED = "item_removed"
    LOCK_ENGAGED = "lock_engaged"
    LOCK_RELEASED = "lock_released"
    MISSED_EDGE = "missed_edge"  # the door-event counter moved more than the edges seen
    TAMPER = "tamper"  # a door opened without a release the system commanded
    DOOR_LEFT_OPEN = "door_left_open"
    OFFLINE = "offline"
    ONLINE = "online"


@dataclass(frozen=True)
class CabinetEvent:
    """A change seen on a cabinet. ``compartment`` is None for cabinet-wide events."""

    kind: CabinetEventKind
    cabinet_id: str
    compartment: int | None
    at: datetime
    detail: str = ""


class Cabinet(Protocol):
    """One cabinet controller (a Modbus unit or a lock board), compartments numbered 0..N-1."""

    @property
    def cabinet_id(self) -> str:
        """The station's name for this cabinet (from the config), e.g. ``"A"``."""
        ...

    async def compartment_count(self) -> int:
        """How many compartments the controller has."""
        ...

    async def release(self, compartment: int) -> None:
        """Pulse-release the lock of one compartment (the door can then be pulled open)."""
        ...

    async def set_led(self, compartment: int, on: bool) -> None:
        """Switch the guide LED of one compartment."""
        ...

    async def read_status(self) -> CabinetStatus:
        """Read doors, occupancy, locks and the door-event counter in one go."""
        ...

    async def close(self) -> None:
        """Release the connection (the line stays usable by other cabinets on it)."""
        ...


# --------------------------------------------------------------------------- camera, labels, photos


@dataclass(frozen=True)
class CapturedImage:
    """One frame from a camera, already encoded (JPEG or PNG) so the core never sees pixels."""

    data: bytes
    media_type: str  # "image/jpeg" or "image/png"
    width: int
    height: int
    camera_id: str
    taken_at: datetime


class Camera(Protocol):
    """Something that takes a photograph on demand. Raises a LockerError when it can't."""

    def capture(self) -> CapturedImage:
        """Take one photo now."""
        ...


Point = tuple[int, int]


@dataclass(frozen=True)
class LabelRead:
    """One barcode found in an image: its text, symbology and corner points (pixels)."""

    text: str
    format: str  # "Code128", "QRCode", "DataMatrix", ...
    box: tuple[Point, Point, Point, Point]


class BarcodeReader(Protocol):
    """Reads every barcode in an encoded image. An image with no barcode gives ``[]``."""

    def read(self, image: bytes) -> list[LabelRead]:
        """Decode all labels in the image."""
        ...


@dataclass(frozen=True)
class PhotoRef:
    """How a ledger entry points at a photo: its SHA-256 (hex) and its size in bytes."""

    sha256: str
    bytes: int

    def to_json(self) -> dict[str, str | int]:
        return {"sha256": self.sha256, "bytes": self.bytes}


class PhotoStore(Protocol):
    """Content-addressed photo storage. A stored photo is never overwritten."""

    def put(self, data: bytes, meta: Mapping[str, object]) -> PhotoRef:
        """Store the bytes (idempotent for identical bytes) and return their reference."""
        ...

    def get(self, sha256: str) -> bytes:
        """The stored bytes; raises a LockerError if absent."""
        ...


# --------------------------------------------------------------------------- label printer


@dataclass(frozen=True)
class PrintedLabel:
    """What goes on one printed label (docs/labels.md): the label code with its check
    character (as text, Code 128 and QR), the case number, the item's description, the date,
    the station and the officer in charge (by name)."""

    code: str
    case_id: str
    description: str
    date: str  # the registration date, local, YYYY-MM-DD
    station: str
    officer: str


class LabelPrinter(Protocol):
    """A label printer (TSPL or ZPL over TCP 9100 or a device file, or a simulated one).

    Raises a LockerError saying what went wrong and what to do (out of paper, offline, the
    job refused); nothing is printed then, and the same label can be printed again.
    """

    def print_label(self, label: PrintedLabel, copies: int = 1) -> None:
        """Print ``copies`` of one label; returns once the printer has taken the job."""
        ...


# --------------------------------------------------------------------------- notices


@dataclass(frozen=True)
class Notice:
    """A message to a person: an escalation step, a reminder or a complainant's progress note.

    ``key`` identifies the notice uniquely (e.g. ``"handover:ITEM:step1"``) so that a
    restarted daemon never sends the same notice twice.
    """

    key: str
    role: str  # "officer", "supervisor", "legal", "complainant", "clerk"
    person: str
    subject: str
    text: str
    refs: Mapping[str, str] = field(default_factory=dict)


class Notifier(Protocol):
    """Delivers notices (MQTT ``notify/<role>/<person>`` in the daemon, a list in tests)."""

    def send(self, notice: Notice) -> None:
        """Hand the notice over for delivery. Must be durable once it returns."""
        ...


__all__: Sequence[str] = (
    "BarcodeReader",
    "Cabinet",
    "CabinetEvent",
    "CabinetEventKind",
    "CabinetStatus",
    "Camera",
    "CapturedImage",
    "Clock",
    "CompartmentState",
    "LabelPrinter",
    "LabelRead",
    "Notice",
    "Notifier",
    "PhotoRef",
    "PhotoStore",
    "PrintedLabel",
    "SystemClock",
)
