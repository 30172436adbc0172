"""Small helpers over entry fields shared by the API's views: times and photo references."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from custody.domain.values import shown_time


def utc(moment: datetime | None) -> str | None:
    """A time as the API shows it: RFC 3339 in UTC with milliseconds and ``Z``, whatever
    offset ``moment`` carries (a clock in the station's zone gives ``+08:00`` times); None
    stays None. Through :func:`custody.domain.values.shown_time`, the one helper for a
    time as shown (reports and screens call it with the station's zone)."""
    return None if moment is None else shown_time(moment, UTC)


def photo_refs(body: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Every ``{"sha256", "bytes"}`` reference in an entry, in order, without repeats."""
    found: list[tuple[str, int]] = []

    # Decoded entries are plain dicts and lists: exact type checks are much cheaper than
    # the Mapping ABC on this hot path (every history row is walked).
    def walk(value: Any) -> None:
        if type(value) is dict:
            sha, size = value.get("sha256"), value.get("bytes")
            if isinstance(sha, str) and isinstance(size, int):
                if (sha, size) not in found:
                    found.append((sha, size))
                return
            for v in value.values():
                walk(v)
        elif type(value) is list:
            for v in value:
                walk(v)

    walk(body)
    return found
