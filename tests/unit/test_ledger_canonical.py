"""RFC 8785 canonical form: our fast path against the rfc8785 reference, and refusals."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.ledger import canonical
from custody.ledger.canonical import CanonicalError

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_scalar = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _text
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(_text, _value, max_size=6))
def test_fast_path_equals_reference_jcs(obj: dict[str, Any]) -> None:
    raw = canonical.canonical_bytes(obj)
    assert raw == rfc8785.dumps(obj)
    decoded = canonical.decode(raw)
    assert decoded == obj
    assert canonical.is_canonical(raw, decoded)


def test_non_bmp_keys_sort_by_utf16_code_units() -> None:
    obj = {"\U0001f600": 1, "\uffff": 2, "a": 3}
    raw = canonical.canonical_bytes(obj)
    # U+1F600 is the surrogate pair D83D DE00, which sorts before U+FFFF in UTF-16.
    assert raw == '{"a":3,"\U0001f600":1,"\uffff":2}'.encode()
    assert canonical.is_canonical(raw, canonical.decode(raw))
    python_order = '{"a":3,"\uffff":2,"\U0001f600":1}'.encode()
    assert not canonical.is_canonical(python_order, canonical.decode(python_order))


def test_escapes_follow_jcs() -> None:
    raw = canonical.canonical_bytes({"s": '\x00\x1f\b\t\n\f\r"\\/\x7f\u2028é中'})
    assert raw == rfc8785.dumps({"s": '\x00\x1f\b\t\n\f\r"\\/\x7f\u2028é中'})
    assert b"\\u0000" in raw and b"\\u001f" in raw and b"\n" not in raw


@pytest.mark.parametrize(
    "value, fragment",
    [
        ({"x": 1.5}, "float"),
        ({"x": [1, {"y": 2.0}]}, "float"),
        ({"x": 2**53}, "outside"),
        ({"x": -(2**53)}, "outside"),
        ({1: "a"}, "not a string"),
        ({"x": "\ud800"}, "surrogate"),
        ({"x": b"bytes"}, "bytes"),
        ({"x": float("nan")}, "float"),
    ],
)
def test_refuses_values_a_ledger_cannot_hold(value: object, fragment: str) -> None:
    with pytest.raises(CanonicalError, match=fragment):
        canonical.canonical_bytes(value)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1, "b":2}',  # whitespace
        b'{"b":1,"a":2}',  # key order
        b'{"a":1,"a":1}',  # duplicate key
        b'{"a":"\\u00e9"}',  # needless escape
        b'{"a":1.0}',  # float, even written canonically
        b'{"a":1e+30}',
        b'{"a":-0}',
        b'{"a":"\\u001F"}',  # uppercase hex escape
        b'\xef\xbb\xbf{"a":1}',  # BOM
    ],
)
def test_detects_non_canonical_bytes(raw: bytes) -> None:
    try:
        value = canonical.decode(raw)
    except CanonicalError:
        return
    assert not canonical.is_canonical(raw, value)


def test_decode_rejects_huge_integers_and_floats_anywhere() -> None:
    with pytest.raises(CanonicalError):
        canonical.decode(b'{"a":[{"b":9007199254740992}]}')
    with pytest.raises(CanonicalError):
        canonical.decode(b'{"ts":"12:30.5","a":[0.5]}')
    refs: list[tuple[str, object]] = []
    canonical.decode(b'{"p":[{"bytes":3,"sha256":"ab"}],"q":{"r":{"bytes":1,"sha256":"cd"}}}', refs)
    assert sorted(refs) == [("ab", 3), ("cd", 1)]
