"""Durations as written in the catalogue and the docs: ``"30m"``, ``"4h"``, ``"-4h"``, ``"+2d"``."""

from __future__ import annotations

import re
from datetime import timedelta

from custody.errors import ConfigError

_DURATION = re.compile(r"^([+-]?)(\d{1,6})([mhd])$")
_UNIT = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(text: str) -> int:
    """Milliseconds for ``[+|-]N(m|h|d)`` (or ``"0"``); a :class:`ConfigError` otherwise."""
    if text.strip() == "0":
        return 0
    m = _DURATION.match(text.strip())
    if m is None:
        raise ConfigError(
            f"expected a duration like '30m', '4h', '-4h' or '+2d', got {text!r}"
        )
    sign = -1 if m.group(1) == "-" else 1
    return sign * int(m.group(2)) * _UNIT[m.group(3)]


def parse_duration(text: str) -> timedelta:
    """The :class:`~datetime.timedelta` for a duration text."""
    return timedelta(milliseconds=parse_duration_ms(text))
