"""The label scheme: round trips, and every single error a human or a scanner makes is caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody.labels import ALPHABET, LabelError, is_valid_label, make_label, parse_label


def test_known_label() -> None:
    assert make_label("exhibit", 2026, 123).text == "E2026-000123-K"
    assert parse_label(" e2026-000123-k ").serial == 123


@given(
    kind=st.sampled_from(["case_file", "exhibit"]),
    year=st.integers(2000, 2099),
    serial=st.integers(0, 999_999),
)
def test_round_trip(kind: str, year: int, serial: int) -> None:
    label = make_label(kind, year, serial)
    assert parse_label(label.text) == label


@given(serial=st.integers(0, 999_999), data=st.data())
def test_single_substitution_is_caught(serial: int, data: st.DataObject) -> None:
    text = make_label("case_file", 2026, serial).text
    positions = [i for i, c in enumerate(text) if c != "-"]
    i = data.draw(st.sampled_from(positions))
    repl = data.draw(st.sampled_from([c for c in ALPHABET if c != text[i]]))
    assert not is_valid_label(text[:i] + repl + text[i + 1 :])


def test_adjacent_transpositions_are_caught_but_for_a_few() -> None:
    """The hybrid MOD 37,36 system catches every single substitution (above) but not quite
    every adjacent transposition: over every position of every 997th serial, fewer than
    1 in 200 swaps within the payload still give a valid label (about 1 in 300)."""
    for kind in ("exhibit", "case_file"):
        swaps = missed = 0
        for serial in range(0, 1_000_000, 997):
            text = make_label(kind, 2026, serial).text.replace("-", "")
            for i in range(len(text) - 2):  # within the payload, not the check character
                if text[i] == text[i + 1]:
                    continue
                swapped = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
                swaps += 1
                missed += is_valid_label(f"{swapped[:5]}-{swapped[5:11]}-{swapped[11:]}")
        assert swaps > 9000
        assert 0 < missed < swaps / 200, (kind, missed, swaps)


def test_a_transposition_the_check_character_misses() -> None:
    # the documented example: both are valid labels, one swap of "67" apart
    assert is_valid_label("E2026-136700-I") and is_valid_label("E2026-137600-I")


@pytest.mark.parametrize(
    "bad", ["", "E2026-000123", "X2026-000123-K", "E26-000123-K", "E2026-000123-Z"]
)
def test_malformed_refused(bad: str) -> None:
    with pytest.raises(LabelError):
        parse_label(bad)
