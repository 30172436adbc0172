"""The register map as data: read planning, validation, another vendor's map from config."""

from __future__ import annotations

import pytest

from locker_firmware_bridge.errors import CabinetConfigError
from locker_firmware_bridge.regmap import (
    REFERENCE_MAP,
    BitBlock,
    RegisterMap,
    pack_words,
    status_words,
    unpack_words,
)


def test_reference_map_full_status_is_one_register_read() -> None:
    # count, firmware, counter at 0..2; 3 x ceil(48/16) = 9 status words right after
    assert REFERENCE_MAP.register_reads(48) == [(0, 12)]
    assert REFERENCE_MAP.status_word_span(48) == (3, 9)
    # the same bits as discrete inputs, for clients that prefer them: one read too
    assert REFERENCE_MAP.bit_reads(48) == [(0, 248)]


def test_status_words_pack_lsb_first() -> None:
    bits = [False] * 20
    bits[0] = bits[15] = bits[17] = True
    assert pack_words(bits) == [0x8001, 0x0002]
    assert unpack_words(pack_words(bits), 20) == bits
    assert status_words(16) == 1 and status_words(17) == 2


def test_blocks_too_far_apart_are_read_separately() -> None:
    m = RegisterMap.from_mapping({"occupied": 3000, "lock_engaged": 6000})
    assert m.bit_reads(16) == [(0, 16), (3000, 16), (6000, 16)]


def test_small_read_limit_splits_reads() -> None:
    m = RegisterMap.from_mapping({"max_bits_per_read": 150})
    assert m.bit_reads(48) == [(0, 148), (200, 48)]


def test_vendor_map_with_inverted_polarity_and_no_counter() -> None:
    m = RegisterMap.from_mapping(
        {
            "name": "acme",
            "release_coil": 16,
            "led_coil": 64,
            "door_closed": {"address": 10, "true_value": 0},
            "occupied": 110,
            "count_register": False,
            "door_counter_register": "none",
        }
    )
    assert m.door_closed == BitBlock(10, 0)
    assert m.door_closed.decode(False) is True
    assert m.door_closed.encode(True) is False
    assert m.count_register is None and m.door_counter_register is None
    assert m.firmware_register == 1
    assert m.register_reads(32) == [(1, 8)]  # firmware and status words: one read
    m.validate(32)


def test_unknown_key_is_rejected_with_the_known_ones() -> None:
    with pytest.raises(CabinetConfigError, match="releese_coil"):
        RegisterMap.from_mapping({"releese_coil": 3})


def test_overlapping_blocks_are_rejected() -> None:
    m = RegisterMap.from_mapping({"occupied": 40})
    m.validate(40)
    with pytest.raises(CabinetConfigError, match="overlaps"):
        m.validate(41)


@pytest.mark.parametrize(
    "bad",
    [
        {"led_coil": -1},
        {"led_coil": 70000},
        {"led_coil": "x"},
        {"door_closed": {"true_value": 1}},
        {"occupied": {"address": 5, "true_value": 2}},
    ],
)
def test_bad_values_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(CabinetConfigError):
        RegisterMap.from_mapping(bad)


def test_map_without_status_words_reads_discrete_inputs() -> None:
    m = RegisterMap.from_mapping({"status_words_register": False})
    assert m.register_reads(48) == [(0, 3)]
    assert m.status_word_span(48) is None


def test_status_words_must_not_overlap_other_registers() -> None:
    with pytest.raises(CabinetConfigError, match="overlaps"):
        RegisterMap.from_mapping({"status_words_register": 2}).validate(8)


def test_docs_table_matches_the_reference_map() -> None:
    """docs/register-map.md states the same addresses as REFERENCE_MAP (one source of truth)."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "register-map.md").read_text()
    m = REFERENCE_MAP

    def block(addr: int) -> str:
        return f"`{addr} .. N-1`" if addr == 0 else f"`{addr} .. {addr}+N-1`"

    for addr in (
        m.release_coil,
        m.led_coil,
        m.door_closed.address,
        m.occupied.address,
        m.lock_engaged.address,
    ):
        assert block(addr) in doc
    for reg, words in (
        (m.count_register, "compartment count"),
        (m.firmware_register, "firmware version"),
        (m.door_counter_register, "door-event counter"),
    ):
        assert f"| `{reg}` | {words}" in doc
    assert f"| `{m.status_words_register} .. {m.status_words_register}+W-1` |" in doc
    assert f"| `{m.unlock_pulse_ms_register}` | unlock pulse" in doc
    assert f"| `{m.door_alarm_s_register}` | door-open alarm" in doc
