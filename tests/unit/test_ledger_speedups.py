"""The C accelerator against the pure-Python reference it stands in for.

The accelerator may hand anything back to the reference, but it must never accept what
the reference refuses, and whatever it produces must be exactly what the reference
produces: the same entry bytes, the same verdict, the same failure at the same seq, the
same Merkle peaks.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custody.ledger import accel, canonical
from custody.ledger.errors import InvalidEntryError
from custody.ledger.verify import (
    ChunkResult,
    scan_batches,
    scan_rows_reference,
)

native = accel.BUILT

Row = tuple[int, bytes, bytes | None]


def test_the_accelerator_is_built_and_on() -> None:
    assert native is not None, (
        "custody/ledger/_speedups.c was not compiled: install gcc, libc6-dev and libssl-dev "
        "(make does) and reinstall the project (`make test` again after touching pyproject)"
    )
    assert accel.NATIVE is native
    assert "C accelerator" in accel.describe()


# --------------------------------------------------------------------------- encoder


def _reference(value: object) -> bytes:
    canonical.check_value(value)
    return canonical._encode_reference(value)


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


_text = st.text(st.characters(codec="utf-8"), max_size=10)
_key = _text | st.sampled_from(["v", "seq", "sha256", "bytes", "\U0001f600", "\uffff", "é"])
_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(2**54), 2**54)
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | _text
    | st.floats(allow_nan=True)
    | st.sampled_from([Colour.RED, Level.HIGH, b"raw", 1.0, -0.0, "\ud800", (1, "x")])
)
_value = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_key, inner, max_size=5)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_key, inner, max_size=3).map(OrderedDict)
        | st.dictionaries(st.integers(0, 3), inner, max_size=2)
    ),
    max_leaves=24,
)


@settings(max_examples=600, deadline=None)
@given(_value)
def test_encode_is_the_reference_or_declines(value: Any) -> None:
    assert native is not None
    try:
        want: bytes | None = _reference(value)
    except canonical.CanonicalError:
        want = None
    try:
        got = native.encode(value)
    except native.Unsupported:
        return  # the reference decides: nothing to compare
    assert want is not None, f"the accelerator encoded a value the reference refuses: {value!r}"
    assert got == want


@pytest.mark.parametrize(
    "value",
    [
        {"x": 1.5},
        {"x": float("nan")},
        {"x": 2**53},
        {"x": -(2**53)},
        {"x": 10**30},
        {1: "a"},
        {"x": "\ud800"},
        {"x": b"bytes"},
        {"x": {"y": [1, 2, {"z": 0.0}]}},
        {"x": object()},
    ],
)
def test_canonical_bytes_still_names_every_refusal(value: object) -> None:
    assert native is not None
    with pytest.raises(native.Unsupported):
        native.encode(value)
    with pytest.raises(canonical.CanonicalError) as caught:
        canonical.canonical_bytes(value)
    with pytest.raises(canonical.CanonicalError) as reference:
        _reference(value)
    assert str(caught.value) == str(reference.value)


def test_encode_matches_reference_on_a_real_entry() -> None:
    assert native is not None
    entry = {
        "v": 1,
        "seq": 12,
        "prev": base64.b64encode(bytes(32)).decode(),
        "ts": "2026-11-28T09:30:00.123Z",
        "kind": "item.checked_in",
        "actor": "clerk:wang",
        "photos": [{"sha256": "ab" * 32, "bytes": 48213}],
        "note": '核对无误,已入柜 \x00\x1f\b\t\n\f\r"\\/\x7f\u2028',
        "state": Colour.RED,
        "level": Level.HIGH,
        "pair": (1, None, True, False, -(2**53) + 1),
    }
    assert native.encode(entry) == _reference(entry)


# --------------------------------------------------------------------------- scanner

PHOTO = b"\xff\xd8 a photo \xff\xd9"
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()


def _leaf(raw: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + raw).digest()


def _entry(seq: int, prev: bytes, extra: dict[str, Any]) -> bytes:
    obj = {
        "v": 1,
        "seq": seq,
        "prev": base64.b64encode(prev).decode(),
        "ts": "2026-11-28T09:30:00.123Z",
        "kind": "item.checked_in",
        "actor": "clerk:wang",
        **extra,
    }
    return canonical.canonical_bytes(obj)


def _chain(bodies: list[dict[str, Any]], start: int = 0) -> list[Row]:
    rows: list[Row] = []
    prev = bytes(32)
    for i, body in enumerate(bodies):
        raw = _entry(start + i, prev, body)
        leaf = _leaf(raw)
        rows.append((start + i, raw, leaf))
        prev = leaf
    return rows


def _photos(tmp: Path) -> Path:
    photos = tmp / "photos"
    (photos / PHOTO_SHA[:2]).mkdir(parents=True, exist_ok=True)
    (photos / PHOTO_SHA[:2] / PHOTO_SHA).write_bytes(PHOTO)
    return photos


def _same(a: ChunkResult, b: ChunkResult) -> None:
    fa = (a.failure.code, a.failure.seq) if a.failure else None
    fb = (b.failure.code, b.failure.seq) if b.failure else None
    assert fa == fb
    assert (a.rows, a.first_prev, a.last_leaf, a.photos) == (
        b.rows,
        b.first_prev,
        b.last_leaf,
        b.photos,
    )
    assert a.final == b.final
    assert a.snapshots == b.snapshots


def _both(rows: list[Row], photos: Path | None, snaps: list[int], start: int = 0) -> ChunkResult:
    ref = scan_rows_reference(list(rows), start, snaps, photos)
    # small, uneven batches so that batch edges fall everywhere
    batches = [rows[i : i + 7] for i in range(0, len(rows), 7)]
    fast = scan_batches(batches, start, snaps, photos)
    _same(fast, ref)
    return fast


_body = st.fixed_dictionaries(
    {"item": st.from_regex(r"EV-2026-\d{7}-[0-9A-Z]", fullmatch=True)},
    optional={
        "note": _text,
        "count": st.integers(-(2**53) + 1, 2**53 - 1),
        "flag": st.booleans() | st.none(),
        "photos": st.just([{"sha256": PHOTO_SHA, "bytes": len(PHOTO)}]),
        "nested": st.dictionaries(
            st.text("abcxyz", min_size=1, max_size=3), st.lists(_text, max_size=2), max_size=3
        ),
        "zz": st.text(max_size=4),
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_body, min_size=1, max_size=40), st.data())
def test_scan_equals_reference_on_good_chains(
    tmp_path: Path, bodies: list[dict[str, Any]], data: st.DataObject
) -> None:
    rows = _chain(bodies)
    snaps = sorted(set(data.draw(st.lists(st.integers(1, len(rows)), max_size=5))))
    result = _both(rows, _photos(tmp_path), snaps)
    assert result.failure is None and result.rows == len(rows)


_inserts = st.sampled_from(
    [b" ", b",", b'"', b"\\", b".", b"e", b"0", b"-", b"}", b"]", b"{", b"[", b":", b"\xc0",
     b"\xed\xa0\x80", b"\xf0\x9f\x98\x80", b"\xf4\x90\x80\x80", b"\x00", b"\x1f", b"\\u00e9",
     b"\\u001F", b"\\u0008", b"\\/", b"1.0", b"1e5", b"-0", b"01", b"true", b"null", b"\x7f"]
)  # fmt: skip


@st.composite
def _mutated(draw: st.DrawFn, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["flip", "insert", "delete", "replace"]))
        if how == "flip" and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif how == "insert":
            data[pos:pos] = draw(_inserts)
        elif how == "delete" and pos < len(data):
            del data[pos]
        elif pos < len(data):
            data[pos : pos + 1] = draw(_inserts)
    return bytes(data)


@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_body, min_size=3, max_size=8), st.data())
def test_scan_equals_reference_on_mutated_entries(
    tmp_path: Path, bodies: list[dict[str, Any]], data: st.DataObject
) -> None:
    """One entry's bytes mutated, with its stored leaf updated to match (as a forger
    holding the file would), so only the entry checks can catch it, at that seq."""
    rows = _chain(bodies)
    k = data.draw(st.integers(0, len(rows) - 1))
    seq, raw, _leaf_k = rows[k]
    bad = data.draw(_mutated(raw))
    rows[k] = (seq, bad, _leaf(bad))
    photos = _photos(tmp_path)
    _both(rows, photos, [len(rows)])
    # and the row on its own: the accelerator never takes a row the reference refuses
    prev = bytes(32) if k == 0 else rows[k - 1][2]
    assert native is not None and prev is not None
    one: list[Row] = [rows[k]]
    taken, *_ = native.scan(one, 0, seq, prev, [], 0, (), 0, {}, {PHOTO_SHA: len(PHOTO)}, True)
    if taken == 1:
        # (a run starting past 0 has no prev to compare: the reference checks the rest)
        ref = scan_rows_reference([(seq, bad, _leaf(bad))], seq, [], photos)
        assert ref.failure is None, (bad, ref.failure)


_json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_key, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(_key, _json_value, max_size=6),
    st.booleans(),
    st.booleans(),
    st.sampled_from([(",", ":"), (", ", ": "), (",", ": ")]),
)
def test_scan_equals_reference_on_foreign_json(
    body: dict[str, Any], sort: bool, ascii_only: bool, separators: tuple[str, str]
) -> None:
    """Entries written by some other JSON encoder: canonical or not, the verdicts agree."""
    obj = {
        "v": 1,
        "seq": 0,
        "prev": base64.b64encode(bytes(32)).decode(),
        "ts": "2026-11-28T09:30:00.123Z",
        "kind": "k",
        "actor": "a",
    }
    obj.update({k: v for k, v in body.items() if k not in obj})
    try:
        raw = json.dumps(
            obj, sort_keys=sort, ensure_ascii=ascii_only, separators=separators
        ).encode("utf-8", "surrogatepass")
    except ValueError:
        return  # NaN and friends: not JSON at all
    rows: list[Row] = [(0, raw, _leaf(raw))]
    _both(rows, None, [1])


def test_scan_stitches_chunks_and_stops_checking_after_a_failure(tmp_path: Path) -> None:
    bodies: list[dict[str, Any]] = [{"item": f"EV-2026-{i:07d}-K"} for i in range(40)]
    rows = _chain(bodies)
    # a chunk that starts at 16 knows nothing of the leaf before it
    _both(rows[16:32], None, [3, 16], start=16)
    # a missing row, then a row rewritten as TEXT, then a forged stored leaf
    gap = rows[:10] + rows[11:]
    assert _both(gap, None, [5]).failure is not None
    text: list[Any] = list(rows)
    text[4] = (4, rows[4][1].decode(), rows[4][2])
    assert _both(text, None, []).failure is None  # the same bytes, typed TEXT: still intact
    text[4] = (4, rows[4][1].decode().replace("0004", "0005"), rows[4][2])
    result = _both(text, None, [])
    assert result.failure is not None and result.failure.seq == 4
    forged = list(rows)
    forged[6] = (6, rows[6][1], bytes(32))
    result = _both(forged, None, [])
    assert result.failure is not None and result.failure.code == "leaf_mismatch"
    assert result.failure.seq == 6


def test_scan_checks_each_new_photo_once(tmp_path: Path) -> None:
    photos = _photos(tmp_path)
    ref = {"photos": [{"sha256": PHOTO_SHA, "bytes": len(PHOTO)}]}
    rows = _chain([ref] * 30)
    assert _both(rows, photos, []).photos == 1
    wrong = _chain([ref] * 5 + [{"photos": [{"sha256": PHOTO_SHA, "bytes": 3}]}] * 2)
    result = _both(wrong, photos, [])
    assert result.failure is not None and (result.failure.code, result.failure.seq) == (
        "photo_mismatch",
        5,
    )
    missing = _chain([{"photos": [{"sha256": "0" * 64, "bytes": 1}]}])
    result = _both(missing, photos, [])
    assert result.failure is not None and result.failure.code == "photo_missing"


@pytest.mark.parametrize(
    "note, canonical_form",
    [
        (b"\\u0008", False),  # JCS writes \b
        (b"\\u0009", False),
        (b"\\u000a", False),
        (b"\\u000c", False),
        (b"\\u000d", False),
        (b"\\u00e9", False),  # needless escape of a printable character
        (b"\\u0041", False),
        (b"\\u001F", False),  # uppercase hex
        (b"\\/", False),
        (b'\\u0000\\u001f\\b\\t\\n\\f\\r\\"\\\\', True),
        (b"\x7f\xe2\x80\xa8\xc3\xa9\xf0\x9f\x98\x80", True),  # DEL, U+2028, e-acute, emoji
        (b"\xc0\xa9", False),  # overlong
        (b"\xed\xa0\x80", False),  # a surrogate
        (b"\xf4\x90\x80\x80", False),  # above U+10FFFF
        (b"\t", False),  # a raw control character
    ],
)
def test_scan_takes_exactly_the_canonical_escapes(note: bytes, canonical_form: bool) -> None:
    assert native is not None
    raw = _entry(0, bytes(32), {"note": "NOTE"}).replace(b"NOTE", note)
    rows: list[Row] = [(0, raw, _leaf(raw))]
    taken, *_ = native.scan(rows, 0, 0, bytes(32), [], 0, (), 0, {}, None, True)
    assert taken == (1 if canonical_form else 0)
    ref = scan_rows_reference(rows, 0, [], None)
    assert (ref.failure is None) == canonical_form, ref.failure


# --------------------------------------------------------------------------- appends

_items = st.lists(
    st.tuples(
        st.sampled_from(["item.checked_in", "case.opened", "", "报告", 7]),
        st.dictionaries(_key, _value, max_size=5)
        | _body
        | st.just({"seq": 1})
        | st.just([("a", 1)])
        | st.dictionaries(_key, _value, max_size=2).map(OrderedDict),
        st.sampled_from(["clerk:wang", "lockerd", "", None]),
    ),
    min_size=0,
    max_size=12,
)


@pytest.fixture(scope="module")
def open_ledger(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from custody.ledger import Ledger
    from tests.ledger_support import ledger_clock, make_station

    data = make_station(tmp_path_factory.mktemp("speedups"), 37)
    with Ledger.open(data, clock=ledger_clock()) as ledger:
        yield ledger


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(items=_items)
def test_append_batch_is_the_reference_or_declines(open_ledger: Any, items: list[Any]) -> None:
    """37 entries in the tree (peaks at three levels), then a random batch: the accelerator
    builds exactly the reference's bytes, leaves, stored nodes and peaks, or declines."""
    assert native is not None
    ledger = open_ledger
    ts = "2026-11-28T09:30:00.123Z"
    try:
        want: Any = ledger._rows_reference(items, ledger.size, ts)
    except Exception as exc:  # the reference's refusal, whatever it is
        assert isinstance(exc, InvalidEntryError), exc
        want = None
    peaks = list(ledger._peaks)
    try:
        raws, leaves, nodes = native.append_batch(
            items, ledger.size, ledger._last_leaf, ts, peaks, 4
        )
    except native.Unsupported:
        return
    assert want is not None, f"the accelerator built a batch the reference refuses: {items!r}"
    assert (raws, leaves, nodes, peaks) == want


def test_appends_through_the_accelerator_verify_and_prove(tmp_path: Path) -> None:
    """A ledger written through the accelerator (crossing level-4 node boundaries) gives
    the roots and proofs the reference-written one gives, entry for entry."""
    from custody.ledger import Ledger, merkle
    from custody.ledger.verify import verify_data_dir
    from tests.ledger_support import ledger_clock, make_station

    roots = []
    for name, use in (("fast", native), ("reference", None)):
        data = make_station(tmp_path / name, 0)
        saved = accel.NATIVE
        accel.NATIVE = use
        try:
            with Ledger.open(data, clock=ledger_clock()) as ledger:
                for b in range(0, 70, 9):
                    ledger.append_many(
                        [
                            ("item.checked_in", {"item": f"EV-2026-{i:07d}-K", "n": i}, "clerk")
                            for i in range(b, b + 9)
                        ]
                    )
                proof = ledger.inclusion_proof(33, 72)
                roots.append((ledger.root(), ledger.root(48), proof))
                merkle.verify_inclusion(33, 72, ledger.entry(33).leaf_hash, proof, ledger.root(72))
        finally:
            accel.NATIVE = saved
        assert verify_data_dir(data).ok
    assert roots[0] == roots[1]
