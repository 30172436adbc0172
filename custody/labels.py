"""Label IDs printed on every case file and exhibit, with a check character.

Scheme (documented in ``docs/labels.md``)::

    K YYYY - NNNNNN - C
    |  |      |       +-- check character, ISO/IEC 7064 MOD 37,36 over "KYYYYNNNNNN"
    |  |      +---------- serial within the year, 6 digits
    |  +----------------- year of registration, 4 digits
    +-------------------- kind: F = case file, E = exhibit

for example ``E2026-000123-K``. The hybrid MOD 37,36 system catches every single-character
substitution and all but about 1 in 300 adjacent transpositions (see ``docs/labels.md``), so a
misread or mistyped label is refused instead of silently naming another item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from custody.errors import LockerError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_M = 36
_PATTERN = re.compile(r"^([FE])(\d{4})-(\d{6})-([0-9A-Z])$")
KIND_BY_LETTER = {"F": "case_file", "E": "exhibit"}
LETTER_BY_KIND = {v: k for k, v in KIND_BY_LETTER.items()}


class LabelError(LockerError):
    """A label is malformed or its check character does not match."""


def check_character(payload: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character for an alphanumeric payload."""
    p = _M
    for ch in payload:
        try:
            value = ALPHABET.index(ch)
        except ValueError:
            raise LabelError(f"label payload {payload!r} has a character outside 0-9A-Z") from None
        s = (p + value) % _M or _M
        p = (s * 2) % (_M + 1)
    return ALPHABET[(_M + 1 - p) % _M]


@dataclass(frozen=True)
class Label:
    """A parsed, checked label."""

    kind: str  # "case_file" or "exhibit"
    year: int
    serial: int

    @property
    def text(self) -> str:
        letter = LETTER_BY_KIND[self.kind]
        payload = f"{letter}{self.year:04d}{self.serial:06d}"
        return f"{letter}{self.year:04d}-{self.serial:06d}-{check_character(payload)}"

    def __str__(self) -> str:
        return self.text


def make_label(kind: str, year: int, serial: int) -> Label:
    """Build the label for an item kind (``case_file`` or ``exhibit``), year and serial."""
    if kind not in LETTER_BY_KIND:
        raise LabelError(f"unknown item kind {kind!r}: expected case_file or exhibit")
    if not 0 <= year <= 9999 or not 0 <= serial <= 999_999:
        raise LabelError(f"year {year} or serial {serial} out of range for a label")
    return Label(kind, year, serial)


def parse_label(text: str) -> Label:
    """Parse and check a label; raises :class:`LabelError` with the reason when it is wrong."""
    cleaned = text.strip().upper()
    m = _PATTERN.match(cleaned)
    if m is None:
        raise LabelError(
            f"{text!r} is not a label: expected K YYYY-NNNNNN-C, e.g. E2026-000123-K"
        )
    letter, year, serial, given = m.groups()
    expected = check_character(f"{letter}{year}{serial}")
    if given != expected:
        raise LabelError(
            f"label {cleaned!r} has a wrong check character (misread or mistyped label)"
        )
    return Label(KIND_BY_LETTER[letter], int(year), int(serial))


def is_valid_label(text: str) -> bool:
    """True when ``text`` is a well-formed label with the right check character."""
    try:
        parse_label(text)
    except LabelError:
        return False
    return True
