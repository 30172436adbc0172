"""RFC 8785 (JCS) canonical JSON for ledger entries, and a fast canonical-form check.

Ledger values are restricted to strings, integers with ``|n| < 2**53``, booleans, null,
arrays and objects with string keys: **no floats**. For those values JCS is exactly
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` encoded as UTF-8,
with one exception: JCS sorts object keys by their UTF-16 code units while Python sorts by
code points, and the two orders differ only when a key holds a character outside the Basic
Multilingual Plane. Such objects go through the ``rfc8785`` reference implementation.
Python's encoder escapes exactly what JCS escapes (``"``, ``\\``, and control characters,
the latter as ``\\b \\f \\n \\r \\t`` or lowercase ``\\u00xx``), so the fast path is exact.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

try:  # orjson is an optional accelerator (4-10x faster); the stdlib gives identical bytes
    import orjson

    _ORJSON = True
except ImportError:  # pragma: no cover - exercised only where orjson is absent
    _ORJSON = False

from custody.ledger import accel
from custody.ledger.errors import InvalidEntryError

MAX_SAFE_INT = 2**53  # magnitude limit: every integer must be exactly representable as a double


class CanonicalError(InvalidEntryError):
    """A value cannot be part of a ledger entry (a float, a huge integer, a non-string key,
    a lone surrogate, ...)."""


_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
)
# Every byte that cannot start a 4-byte UTF-8 sequence: deleting them leaves something
# only when the text holds a non-BMP character (a cheap C-level scan).
_BELOW_4BYTE_LEAD = bytes(range(0xF0))


def has_non_bmp(raw: bytes) -> bool:
    """True when UTF-8 ``raw`` may hold a character outside the Basic Multilingual Plane."""
    return not raw.isascii() and bool(raw.translate(None, _BELOW_4BYTE_LEAD))


class _Reject(ValueError):
    pass


def _reject_float(text: str) -> Any:
    raise _Reject(f"floats are not allowed in ledger entries: {text}")


def _reject_constant(text: str) -> Any:
    raise _Reject(f"{text} is not allowed in ledger entries")


def _checked_int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INT < value < MAX_SAFE_INT:
        raise _Reject(f"integer {text} is outside ±2**53")
    return value


_DECODER = json.JSONDecoder(
    parse_float=_reject_float, parse_int=_checked_int, parse_constant=_reject_constant
)


def check_value(value: object, path: str = "$") -> None:
    """Raise :class:`CanonicalError` unless ``value`` is an allowed ledger value.

    Lone surrogates in strings are caught when encoding (the encoder refuses them).
    """
    t = type(value)
    if t is str or t is bool or value is None:
        return
    if t is dict or (t is not list and isinstance(value, dict)):
        for key, item in value.items():  # type: ignore[attr-defined]
            if not isinstance(key, str):
                raise CanonicalError(f"{path}: object key {key!r} is not a string")
            ti = type(item)
            if ti is str or ti is bool or item is None:
                continue
            check_value(item, f"{path}.{key}")
        return
    if t is list or t is tuple:
        for i, item in enumerate(value):  # type: ignore[arg-type]
            check_value(item, f"{path}[{i}]")
        return
    if isinstance(value, str):
        return
    if isinstance(value, int) and not isinstance(value, bool):
        if not -MAX_SAFE_INT < value < MAX_SAFE_INT:
            raise CanonicalError(f"{path}: integer {value} is outside ±2**53")
        return
    if isinstance(value, float):
        raise CanonicalError(f"{path}: floats are not allowed in ledger entries ({value!r})")
    raise CanonicalError(f"{path}: {type(value).__name__} is not a JSON value")


def _has_non_bmp_key(value: object) -> bool:
    if isinstance(value, dict):
        for key, item in value.items():
            if any(ord(c) > 0xFFFF for c in key) or _has_non_bmp_key(item):
                return True
    elif isinstance(value, list | tuple):
        return any(_has_non_bmp_key(item) for item in value)
    return False


def _fast_encode(value: object) -> bytes:
    """JCS for allowed values whose keys are all in the BMP (code-point order = UTF-16)."""
    if _ORJSON:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return _ENCODER.encode(value).encode("utf-8")


def canonical_bytes(value: object) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of an allowed ledger value.

    Raises :class:`CanonicalError` for anything a ledger entry may not hold. The C
    accelerator, when built, encodes the common case; anything it does not take (an error,
    a non-BMP key, a dict subclass, ...) goes through the Python reference below.
    """
    out = _encode_native(value)
    if out is not None:
        return out
    check_value(value)
    return _encode_reference(value)


def encode_checked(value: object) -> bytes:
    """:func:`canonical_bytes` for a value that already passed :func:`check_value` or
    :func:`scan_decoded` (orjson refuses non-string keys itself; the stdlib would not)."""
    out = _encode_native(value)
    return _encode_reference(value) if out is None else out


def _encode_native(value: object) -> bytes | None:
    """The C accelerator's encoding, or ``None`` when it is absent or declines the value."""
    native = accel.NATIVE
    if native is None:
        return None
    try:
        out: bytes = native.encode(value)
    except native.Unsupported:
        return None
    return out


def _encode_reference(value: object) -> bytes:
    """The pure-Python encoder behind :func:`canonical_bytes` and :func:`encode_checked`."""
    if not _ORJSON:
        check_value(value)
    try:
        out = _fast_encode(value)
    except (TypeError, ValueError) as exc:  # a lone surrogate, mostly
        raise CanonicalError(f"cannot encode the entry: {exc}") from None
    if has_non_bmp(out) and _has_non_bmp_key(value):
        jcs: bytes = rfc8785.dumps(value)  # type: ignore[arg-type]
        return jcs
    return out


def scan_decoded(
    value: dict[str, Any] | list[Any] | tuple[Any, ...], refs: list[tuple[str, object]]
) -> None:
    """Check a JSON-like value for floats and integers outside ±2**53 and collect every
    ``{"sha256", "bytes"}`` object into ``refs``. Raises :class:`CanonicalError`. Written
    for speed (exact-type checks first): it runs once per entry appended or verified.
    Non-string keys and lone surrogates are left to the encoder, which refuses them."""
    if type(value) is dict:
        if "sha256" in value and "bytes" in value:
            refs.append((str(value["sha256"]), value["bytes"]))
        items: Any = value.values()
    else:
        items = value
    for item in items:
        t = type(item)
        if t is str or t is bool or item is None:
            continue
        if t is int:
            if not -MAX_SAFE_INT < item < MAX_SAFE_INT:
                raise CanonicalError(f"integer {item} is outside ±2**53")
        elif t is dict or t is list or t is tuple:
            scan_decoded(item, refs)
        elif isinstance(item, str):  # str subclasses such as StrEnum members
            continue
        elif isinstance(item, int) and not isinstance(item, float):
            if not -MAX_SAFE_INT < item < MAX_SAFE_INT:
                raise CanonicalError(f"integer {item} is outside ±2**53")
        elif isinstance(item, float):
            raise CanonicalError(f"floats are not allowed in ledger entries ({item!r})")
        else:
            raise CanonicalError(f"{t.__name__} values are not allowed in ledger entries")


def decode(raw: bytes, refs: list[tuple[str, object]] | None = None) -> Any:
    """Parse entry bytes with the ledger's value rules (no floats, no huge integers),
    optionally collecting photo references into ``refs``.

    Raises :class:`CanonicalError` when the bytes are not valid UTF-8 JSON of allowed values.
    """
    try:
        value = orjson.loads(raw) if _ORJSON else _DECODER.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CanonicalError(f"not a valid ledger JSON value: {exc}") from None
    t = type(value)
    if t is dict or t is list:
        scan_decoded(value, [] if refs is None else refs)
    elif t is float or (t is int and not -MAX_SAFE_INT < value < MAX_SAFE_INT):
        raise CanonicalError(f"{value!r} is not an allowed ledger value")
    return value


def loads_trusted(raw: bytes) -> Any:
    """Parse bytes this process just produced with :func:`encode_checked` (no re-checks)."""
    return orjson.loads(raw) if _ORJSON else json.loads(raw)


def is_canonical(raw: bytes, value: object) -> bool:
    """True when ``raw`` is exactly the canonical encoding of ``value`` (its decoded form,
    as :func:`decode` returns it).

    The fast path re-encodes and compares; only text holding a non-BMP character (where
    the key order may differ) goes through ``rfc8785``.
    """
    try:
        if not has_non_bmp(raw):
            return _fast_encode(value) == raw
        out: bytes = rfc8785.dumps(value)  # type: ignore[arg-type]
        return out == raw
    except (UnicodeEncodeError, ValueError, TypeError, rfc8785.CanonicalizationError):
        return False


def decode_canonical(raw: bytes) -> Any:
    """Parse entry bytes and check they are canonical; raises :class:`CanonicalError`."""
    value = decode(raw)
    if not is_canonical(raw, value):
        raise CanonicalError("bytes are not in RFC 8785 canonical form")
    return value
