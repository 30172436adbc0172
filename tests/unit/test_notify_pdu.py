"""The SMS PDU codec on byte vectors: published PDUs, and hand-checked TS 23.040 layouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notify import gsm7, pdu

# The classic SMS-SUBMIT of the GSM 03.40 tutorials (dreamfabric.com, reproduced on many
# sites): "hellohello" to +46708251358, 7-bit, relative validity 0xAA, no status report.
HELLOHELLO = "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
# A published UCS2 SMS-SUBMIT: "快了，12 ab" to +85366525472, validity 0x01.
UCS2_MACAU = "0011000B915863565274F2000801105FEB4E86FF0C00310032002000610062"
# A published +CDS status report (no SMSC field): TP-MR 0, +20121875612, delivered.
CDS_REPORT = "06000B910221815716F2709021510121807090215101718000"


def test_default_alphabet_has_128_codes() -> None:
    assert len(gsm7.DEFAULT_ALPHABET) == 128
    assert gsm7.DEFAULT_ALPHABET[0x00] == "@" and gsm7.DEFAULT_ALPHABET[0x24] == "¤"


def test_seven_bit_vector() -> None:
    [part] = pdu.encode_submit("+46708251358", "hellohello", status_report=False)
    assert part.hex == HELLOHELLO
    assert part.tpdu_length == 23  # AT+CMGS=23: the SMSC octet is not counted
    back = pdu.decode_submit(HELLOHELLO)
    assert (back.number, back.text, back.status_report) == ("+46708251358", "hellohello", False)


def test_ucs2_vector() -> None:
    [part] = pdu.encode_submit("+85366525472", "快了，12 ab", status_report=False, validity=0x01)
    assert part.hex == UCS2_MACAU
    assert pdu.decode_submit(UCS2_MACAU).text == "快了，12 ab"


def test_status_report_request_bit_and_no_validity() -> None:
    [part] = pdu.encode_submit("+46708251358", "hellohello", validity=None)
    # first octet 0x21: SMS-SUBMIT with TP-SRR, no TP-VP
    assert part.hex == "0021000B916407281553F800000AE8329BFD4697D9EC37"
    assert pdu.decode_submit(part.hex).status_report is True


def test_one_character_outside_the_alphabet_forces_ucs2() -> None:
    [plain] = pdu.encode_submit("+8613900000001", "Case K-1 ready")
    [forced] = pdu.encode_submit("+8613900000001", "Case K-1 ready ✓")
    assert plain.hex[26:28] == "00" and forced.hex[26:28] == "08"  # TP-DCS
    # "Case K-1 ready ✓" as UTF-16BE: 16 units, 32 octets
    assert forced.hex.endswith("20" + "0043006100730065" + "0020004B002D0031" +
                               "0020007200650061006400790020" + "2713")
    assert pdu.decode_submit(forced.hex).text == "Case K-1 ready ✓"


def test_extension_table_costs_two_septets() -> None:
    [part] = pdu.encode_submit("+46708251358", "€", status_report=False)
    # ESC (0x1B) then 0x65, packed: 1B | (65 << 7) -> 9B 32; UDL 02 septets
    assert part.hex.endswith("AA029B32")
    assert pdu.decode_submit(part.hex).text == "€"
    assert pdu.split_text("{" * 80) == ["{" * 80]  # 160 septets: one SMS
    assert [len(p) for p in pdu.split_text("{" * 81)] == [76, 5]  # never cut an ESC pair


def test_concatenated_ucs2_parts_of_67() -> None:
    text = "你" * 71
    parts = pdu.encode_submit("+8613900000001", text, concat_ref=0x2A, validity=None)
    assert len(parts) == 2
    first = bytes.fromhex(parts[0].hex)
    # SMSC 00 | 0x61 (SUBMIT+SRR+UDHI) | MR | DA (2+7) | PID | DCS 08 | UDL 6+134 | UDH
    assert first[1] == 0x61 and first[12:14] == bytes([0x00, 0x08])
    assert first[14] == 6 + 2 * 67
    assert first[15:21] == bytes([0x05, 0x00, 0x03, 0x2A, 0x02, 0x01])
    decoded = [pdu.decode_submit(p.hex) for p in parts]
    assert [d.concat for d in decoded] == [(0x2A, 2, 1), (0x2A, 2, 2)]
    assert [len(d.text) for d in decoded] == [67, 4]
    assert "".join(d.text for d in decoded) == text


def test_concatenated_seven_bit_parts_of_153_with_fill_bits() -> None:
    text = "A" * 161
    parts = pdu.encode_submit("+46708251358", text, concat_ref=7, validity=None)
    first = bytes.fromhex(parts[0].hex)
    # SMSC 00 | first | MR | DA (2+6) | PID 00 | DCS 00 | UDL | UD
    assert first[11:13] == bytes([0x00, 0x00]) and first[13] == 7 + 153  # UDL in septets
    ud = first[14:]
    assert ud[:6] == bytes([0x05, 0x00, 0x03, 0x07, 0x02, 0x01])
    # one fill bit, then 'A' (0x41) from bit 1: 0x41 << 1 = 0x82
    assert ud[6] == 0x82
    assert len(ud) == 140
    assert "".join(pdu.decode_submit(p.hex).text for p in parts) == text


def test_status_report_vector() -> None:
    report = pdu.decode_status_report(CDS_REPORT, 25)
    assert (report.reference, report.number, report.status) == (0, "+20121875612", 0)
    assert report.delivered and report.final
    assert report.discharged == datetime(2007, 9, 12, 15, 10, 17,
                                         tzinfo=timezone(timedelta(hours=2)))


def test_status_report_round_trip_with_smsc() -> None:
    at = datetime(2026, 12, 6, 10, 30, 5, tzinfo=UTC)
    enc = pdu.encode_status_report(200, "+8613900000001", 0x46, at, smsc="+8613800100500")
    back = pdu.decode_status_report(enc.hex, enc.tpdu_length)
    assert (back.reference, back.number, back.status) == (200, "+8613900000001", 0x46)
    assert back.discharged == at and not back.delivered and back.final
    assert pdu.status_text(0x46) == "validity period expired"


def test_bad_input_is_refused() -> None:
    with pytest.raises(pdu.PduError):
        pdu.encode_submit("+86 139", "x")
    with pytest.raises(pdu.PduError):
        pdu.decode_submit("0011")
    with pytest.raises(pdu.PduError):
        pdu.decode_status_report(HELLOHELLO)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_text_round_trips(text: str) -> None:
    parts = pdu.encode_submit("+8613900000001", text, concat_ref=3)
    assert "".join(pdu.decode_submit(p.hex).text for p in parts) == text
    assert len(parts) == pdu.count_parts(text)
