"""Value objects and checks shared by the services: item specs, photos, compartments, times."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from custody.domain.errors import InvalidInputError, PhotoRequiredError
from custody.ports import PhotoRef

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMPARTMENT = re.compile(r"^[A-Za-z0-9_-]{1,32}/\d{1,4}$")
MAX_INT = 2**53 - 1


@dataclass(frozen=True)
class ItemSpec:
    """One line of a manifest: what the officer registers.

    ``kind`` must agree with the label's first letter (F = case file, E = exhibit).
    ``category`` is free text the risk-point catalogue can match (``cash``, ``perishable``...).
    ``seizing_officer`` defaults to the registering officer.
    """

    label: str
    kind: str
    description: str
    quantity: int
    seized_at: datetime
    seized_from: str = ""
    seizing_officer: str | None = None
    category: str = ""


@dataclass(frozen=True)
class ManifestLine:
    """One line of a manifest before it has a label: the station gives it the next free
    label of its kind when the case is registered (:meth:`Registration.register_new_case`).
    ``kind`` is ``case_file`` or ``exhibit``."""

    kind: str
    description: str
    quantity: int
    seized_at: datetime
    seized_from: str = ""
    category: str = ""


#: the kinds a person types or picks for a manifest line, and the item kind each names
LINE_KINDS = {"file": "case_file", "case_file": "case_file", "exhibit": "exhibit"}


def manifest_line(kind: str, description: str, quantity: str, seized_at: str, *,
                  seized_from: str = "", category: str = "", zone: tzinfo,
                  now: datetime) -> ManifestLine:
    """A manifest line from what a person typed (the console) or posted (the kiosk's form):
    ``kind`` ``file`` or ``exhibit``; ``quantity`` a whole number; ``seized_at``
    ``YYYY-MM-DD HH:MM`` (or ``T`` between) in the station's ``zone``, empty for ``now``.
    The registration checks the rest (a positive quantity, a description, a time not in
    the future) and refuses the whole case if a line is wrong."""
    item_kind = LINE_KINDS.get(kind.strip().lower())
    if item_kind is None:
        raise InvalidInputError(f"item kind {kind!r}: expected file or exhibit")
    try:
        count = int(quantity.strip())
    except ValueError:
        raise InvalidInputError(
            f"quantity {quantity!r} must be a positive whole number") from None
    text = seized_at.strip()
    if not text:
        moment = now
    else:
        try:
            moment = datetime.strptime(text.replace("T", " ")[:16], "%Y-%m-%d %H:%M")
        except ValueError:
            raise InvalidInputError(
                f"seizure time {text!r}: expected YYYY-MM-DD HH:MM") from None
        moment = moment.replace(tzinfo=zone)
    return ManifestLine(item_kind, description.strip(), count, moment,
                        seized_from=seized_from.strip(), category=category.strip())


def utc_text(moment: datetime) -> str:
    """RFC 3339, UTC, milliseconds and ``Z``: the format every time in an entry uses."""
    if moment.tzinfo is None:
        raise InvalidInputError(f"time {moment.isoformat()} has no time zone")
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def shown_time(moment: datetime, zone: tzinfo = UTC) -> str:
    """A time as shown to people and clients (the API, reports, screens): RFC 3339 with
    milliseconds and its true offset in ``zone``: ``2026-03-02T08:30:00.000+08:00`` in
    Asia/Shanghai, ``2026-03-02T00:30:00.000Z`` in UTC (the API's zone). Whatever offset
    ``moment`` carries, the text names the same instant. Ledger entries keep their own
    format, always UTC (:func:`utc_text`). A naive time is refused: its offset is unknown."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInputError(f"time {moment.isoformat()} has no time zone")
    here = moment.astimezone(zone)
    text = here.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if zone is UTC else text


def parse_utc(text: str) -> datetime:
    """Parse a time written by :func:`utc_text` (or any RFC 3339 time) to an aware UTC time."""
    return datetime.fromisoformat(text).astimezone(UTC)


def millis(moment: datetime) -> int:
    """Milliseconds since the epoch (what the rules engine compares, for speed)."""
    return int(moment.timestamp() * 1000)


def check_photos(photos: Sequence[PhotoRef], step: str, *, required: bool = True) -> list[
    dict[str, str | int]
]:
    """Check photo references and return them as entry JSON; refuse none when required."""
    if required and not photos:
        raise PhotoRequiredError(f"{step} needs at least one photo of the step")
    out: list[dict[str, str | int]] = []
    for ref in photos:
        if not isinstance(ref, PhotoRef):
            raise InvalidInputError(f"{step}: {ref!r} is not a photo reference")
        if not _SHA256.match(ref.sha256):
            raise InvalidInputError(f"{step}: photo hash {ref.sha256!r} is not 64 lowercase hex")
        if not 0 < ref.bytes <= MAX_INT:
            raise InvalidInputError(f"{step}: photo size {ref.bytes} is not a positive size")
        out.append(ref.to_json())
    return out


def check_compartment(compartment: str) -> str:
    """A compartment is written ``cabinet/n`` (e.g. ``A/3``); anything else is refused."""
    if not isinstance(compartment, str) or not _COMPARTMENT.match(compartment):
        raise InvalidInputError(
            f"compartment {compartment!r} is not of the form cabinet/n (e.g. 'A/3')"
        )
    return compartment


def check_text(value: str, what: str, *, allow_empty: bool = False, limit: int = 2000) -> str:
    """A non-empty (unless allowed), bounded piece of text, stripped."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text, got {type(value).__name__}")
    value = value.strip()
    if not value and not allow_empty:
        raise InvalidInputError(f"{what} must not be empty")
    if len(value) > limit:
        raise InvalidInputError(f"{what} is longer than {limit} characters")
    return value
