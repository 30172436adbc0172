"""The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 §6.2.1).

A text is sent in 7-bit when every character is in the default alphabet or its extension
table (an extension character costs two septets: ESC 0x1B, then its code); otherwise the
whole text goes as UCS2. Septets are packed into octets least-significant bit first
(TS 23.038 §6.1.2.1), with fill bits in front when a user data header precedes them.
"""

from __future__ import annotations

from collections.abc import Sequence

# Code point -> character, 0x00..0x7F (0x1B is the escape to the extension table).
DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
ESCAPE = 0x1B
EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_ENCODE: dict[str, tuple[int, ...]] = {
    ch: (code,) for code, ch in enumerate(DEFAULT_ALPHABET) if code != ESCAPE
}
_ENCODE.update({ch: (ESCAPE, code) for code, ch in EXTENSION.items()})
_DECODE_EXT = dict(EXTENSION)


def fits_gsm7(text: str) -> bool:
    """Whether every character of ``text`` has a 7-bit code (default or extension)."""
    return all(ch in _ENCODE for ch in text)


def to_septets(text: str) -> list[int]:
    """The septets of ``text`` (extension characters as ESC + code). KeyError if one has
    no 7-bit code: call :func:`fits_gsm7` first."""
    out: list[int] = []
    for ch in text:
        out.extend(_ENCODE[ch])
    return out


def septet_len(ch: str) -> int:
    """How many septets one character takes (1, or 2 for the extension table)."""
    return len(_ENCODE[ch])


def from_septets(septets: Sequence[int]) -> str:
    """Text from septets; an escape followed by an unknown code reads as a space (§6.2.1.1)."""
    out: list[str] = []
    escaped = False
    for s in septets:
        if escaped:
            out.append(_DECODE_EXT.get(s, " "))
            escaped = False
        elif s == ESCAPE:
            escaped = True
        else:
            out.append(DEFAULT_ALPHABET[s])
    return "".join(out)


def pack(septets: Sequence[int], fill_bits: int = 0) -> bytes:
    """Pack septets into octets, LSB first, after ``fill_bits`` zero bits."""
    value = 0
    for i, s in enumerate(septets):
        value |= (s & 0x7F) << (7 * i)
    nbits = fill_bits + 7 * len(septets)
    return (value << fill_bits).to_bytes((nbits + 7) // 8, "little")


def unpack(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """``count`` septets from packed octets, skipping ``fill_bits`` leading bits."""
    value = int.from_bytes(data, "little")
    return [(value >> (fill_bits + 7 * i)) & 0x7F for i in range(count)]
