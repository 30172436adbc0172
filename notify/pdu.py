"""SMS PDUs (3GPP TS 23.040): SMS-SUBMIT out, SMS-STATUS-REPORT in, and their parts.

Only what a station needs: it *sends* SMS-SUBMIT (7-bit default alphabet when the text
allows, UCS2 otherwise; long texts as concatenated parts with an 8-bit-reference UDH,
IEI 0x00) with the status-report request bit set, and it *reads* SMS-STATUS-REPORT. The
simulated modem needs the other direction (decode a SUBMIT, encode a STATUS-REPORT), so
both live here, one codec tested on published byte vectors.

A PDU as the modem takes it (TS 27.005 PDU mode) is the SMSC address (``00`` = use the one
stored in the modem) followed by the TPDU; ``AT+CMGS=<n>`` counts the TPDU's octets only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from custody.errors import LockerError
from notify import gsm7

DCS_GSM7 = 0x00
DCS_UCS2 = 0x08
GSM7_SINGLE, GSM7_PART = 160, 153  # septets
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units
MAX_PARTS = 255


class PduError(LockerError):
    """A PDU is malformed, or a text or number cannot be encoded."""


@dataclass(frozen=True)
class Encoded:
    """One part, ready for ``AT+CMGS``: the hex PDU (SMSC + TPDU) and the TPDU's length."""

    hex: str
    tpdu_length: int


@dataclass(frozen=True)
class Submit:
    """A decoded SMS-SUBMIT (what the simulated modem reads)."""

    number: str
    text: str
    status_report: bool
    reference: int  # TP-MR as sent (the modem fills in its own)
    concat: tuple[int, int, int] | None  # (reference, total, seq) of a concatenated part
    dcs: int


@dataclass(frozen=True)
class StatusReport:
    """A decoded SMS-STATUS-REPORT: which message (TP-MR) and what became of it."""

    reference: int
    number: str
    status: int
    discharged: datetime | None

    @property
    def delivered(self) -> bool:
        """TP-ST 0x00-0x1F: the short message was received by the phone (TS 23.040 §9.2.3.15)."""
        return self.status < 0x20

    @property
    def final(self) -> bool:
        """False for 0x20-0x3F ("still trying"): the SC sends another report later."""
        return not 0x20 <= self.status < 0x40


def status_text(status: int) -> str:
    """A clear reason for a TP-ST value."""
    known = {
        0x00: "received by the recipient",
        0x01: "forwarded, delivery not confirmed",
        0x02: "replaced by the service centre",
        0x20: "congestion, still trying",
        0x21: "recipient busy, still trying",
        0x22: "no response from the recipient, still trying",
        0x23: "service rejected, still trying",
        0x24: "quality of service not available, still trying",
        0x25: "error in the recipient's phone, still trying",
        0x40: "remote procedure error",
        0x41: "incompatible destination",
        0x42: "connection rejected by the recipient",
        0x43: "not obtainable",
        0x44: "quality of service not available",
        0x45: "no interworking available",
        0x46: "validity period expired",
        0x47: "deleted by the sender",
        0x48: "deleted by the service centre",
        0x49: "message does not exist",
        0x60: "congestion, gave up",
        0x61: "recipient busy, gave up",
        0x62: "no response from the recipient, gave up",
        0x63: "service rejected, gave up",
        0x64: "quality of service not available, gave up",
        0x65: "error in the recipient's phone, gave up",
    }
    return known.get(status, f"status 0x{status:02X}")


# --------------------------------------------------------------------------- addresses


def encode_address(number: str) -> bytes:
    """A TP-DA/TP-RA: digit count, type (0x91 international with ``+``, else 0x81),
    semi-octets swapped, padded with F."""
    international = number.startswith("+")
    digits = number[1:] if international else number
    if not digits or not digits.isdigit() or len(digits) > 20:
        raise PduError(f"not a phone number: {number!r}")
    return bytes([len(digits), 0x91 if international else 0x81]) + _semi_octets(digits)


def encode_smsc(number: str) -> bytes:
    """The SMSC address field (its length counts octets, type included); ``""`` gives 00."""
    if not number:
        return b"\x00"
    body = encode_address(number)[1:]
    return bytes([len(body)]) + body


def _semi_octets(digits: str) -> bytes:
    padded = digits + ("F" if len(digits) % 2 else "")
    return bytes.fromhex("".join(padded[i + 1] + padded[i] for i in range(0, len(padded), 2)))


def _digits(data: bytes, count: int) -> str:
    text = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in data)
    return text[:count]


def decode_address(data: bytes, pos: int) -> tuple[str, int]:
    """(number, next position) of an address field at ``pos``."""
    count, kind = data[pos], data[pos + 1]
    octets = (count + 1) // 2
    raw = data[pos + 2 : pos + 2 + octets]
    if len(raw) != octets:
        raise PduError("address runs past the end of the PDU")
    if kind & 0x70 == 0x50:  # alphanumeric sender (only ever seen inbound)
        text = gsm7.from_septets(gsm7.unpack(raw, count * 4 // 7))
        return text, pos + 2 + octets
    number = _digits(raw, count)
    return ("+" + number if kind & 0x70 == 0x10 else number), pos + 2 + octets


# --------------------------------------------------------------------------- splitting


def choose_dcs(text: str) -> int:
    """7-bit when every character has a GSM 7-bit code, UCS2 otherwise."""
    return DCS_GSM7 if gsm7.fits_gsm7(text) else DCS_UCS2


def split_text(text: str, dcs: int | None = None) -> list[str]:
    """The text in parts: one if it fits a single SMS, else 153 septets / 67 UCS2 units each.

    A 7-bit extension character (two septets) and a UTF-16 surrogate pair are never cut.
    """
    dcs = choose_dcs(text) if dcs is None else dcs
    if dcs == DCS_GSM7:
        cost = gsm7.septet_len
        single, part = GSM7_SINGLE, GSM7_PART
    else:
        def cost(ch: str) -> int:
            return 2 if ord(ch) > 0xFFFF else 1
        single, part = UCS2_SINGLE, UCS2_PART
    total = sum(cost(ch) for ch in text)
    if total <= single:
        return [text]
    if total == len(text):  # one unit per character: plain slices
        return [text[i : i + part] for i in range(0, len(text), part)]
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        c = cost(ch)
        if used + c > part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += c
    if current:
        parts.append("".join(current))
    return parts


def count_parts(text: str) -> int:
    """How many SMS the text takes."""
    return len(split_text(text))


# --------------------------------------------------------------------------- SMS-SUBMIT


def encode_submit(
    number: str,
    text: str,
    *,
    smsc: str = "",
    status_report: bool = True,
    concat_ref: int = 0,
    validity: int | None = 0xAA,
    reference: int = 0,
) -> list[Encoded]:
    """The SMS-SUBMIT PDUs for ``text`` to ``number`` (one per part).

    ``validity`` is a relative TP-VP octet (0xAA = 4 days; None = no validity period);
    ``concat_ref`` the 8-bit reference shared by the parts of a long text.
    """
    dcs = choose_dcs(text)
    parts = split_text(text, dcs)
    if len(parts) > MAX_PARTS:
        raise PduError(f"text needs {len(parts)} parts; at most {MAX_PARTS} can be joined")
    da = encode_address(number)
    sca = encode_smsc(smsc)
    out: list[Encoded] = []
    for seq, part in enumerate(parts, start=1):
        udh = b""
        if len(parts) > 1:
            udh = bytes([0x05, 0x00, 0x03, concat_ref & 0xFF, len(parts), seq])
        first = 0x01  # TP-MTI = SMS-SUBMIT
        if validity is not None:
            first |= 0x10  # TP-VPF = relative
        if status_report:
            first |= 0x20  # TP-SRR
        if udh:
            first |= 0x40  # TP-UDHI
        if dcs == DCS_GSM7:
            septets = gsm7.to_septets(part)
            header_septets = math.ceil(len(udh) * 8 / 7)
            fill = header_septets * 7 - len(udh) * 8
            ud = udh + gsm7.pack(septets, fill)[: math.ceil((len(septets) * 7 + fill) / 8)]
            udl = header_septets + len(septets)
        else:
            body = part.encode("utf-16-be")
            ud = udh + body
            udl = len(ud)
        tpdu = bytes([first, reference & 0xFF]) + da + bytes([0x00, dcs])
        if validity is not None:
            tpdu += bytes([validity & 0xFF])
        tpdu += bytes([udl]) + ud
        if len(ud) > 140:
            raise PduError(f"part {seq} has {len(ud)} octets of user data (140 at most)")
        out.append(Encoded((sca + tpdu).hex().upper(), len(tpdu)))
    return out


def _skip_smsc(data: bytes, tpdu_length: int | None) -> int:
    """Where the TPDU starts: after the SMSC field, unless ``tpdu_length`` says there is none."""
    if tpdu_length is not None and len(data) == tpdu_length:
        return 0
    return 1 + data[0]


def decode_submit(pdu_hex: str, tpdu_length: int | None = None) -> Submit:
    """Read an SMS-SUBMIT (SMSC field first unless the whole PDU is ``tpdu_length`` long)."""
    try:
        data = bytes.fromhex(pdu_hex)
        pos = _skip_smsc(data, tpdu_length)
        first = data[pos]
        if first & 0x03 != 0x01:
            raise PduError(f"not an SMS-SUBMIT (first octet 0x{first:02X})")
        reference = data[pos + 1]
        number, pos = decode_address(data, pos + 2)
        dcs = data[pos + 1]
        pos += 2
        vpf = (first >> 3) & 0x03
        pos += {0: 0, 2: 1, 1: 7, 3: 7}[vpf]
        udl = data[pos]
        ud = data[pos + 1 :]
        return _user_data(first, dcs, udl, ud, number, reference)
    except IndexError as exc:
        raise PduError("PDU too short") from exc
    except ValueError as exc:
        raise PduError(f"bad PDU: {exc}") from exc


def _user_data(first: int, dcs: int, udl: int, ud: bytes, number: str, reference: int) -> Submit:
    concat: tuple[int, int, int] | None = None
    header_len = 0
    if first & 0x40:
        header_len = ud[0] + 1
        i = 1
        while i < header_len:
            iei, ielen = ud[i], ud[i + 1]
            value = ud[i + 2 : i + 2 + ielen]
            if iei == 0x00 and ielen == 3:
                concat = (value[0], value[1], value[2])
            elif iei == 0x08 and ielen == 4:
                concat = ((value[0] << 8) | value[1], value[2], value[3])
            i += 2 + ielen
    alphabet = dcs & 0x0C if dcs & 0xC0 == 0 else (0x08 if dcs & 0xF0 == 0xE0 else 0)
    if alphabet == DCS_UCS2:
        text = ud[header_len:udl].decode("utf-16-be")
    elif alphabet == 0x04:
        text = ud[header_len:udl].decode("latin-1")
    else:
        header_septets = math.ceil(header_len * 8 / 7)
        fill = header_septets * 7 - header_len * 8
        septets = gsm7.unpack(ud[header_len:], udl - header_septets, fill)
        text = gsm7.from_septets(septets)
    return Submit(
        number=number,
        text=text,
        status_report=bool(first & 0x20),
        reference=reference,
        concat=concat,
        dcs=dcs,
    )


# --------------------------------------------------------------------------- STATUS-REPORT


def _timestamp(data: bytes) -> datetime:
    d = [int(f"{b & 0x0F}{b >> 4}") for b in data[:6]]
    tz = data[6]
    quarters = int(f"{tz & 0x07}{tz >> 4}")
    offset = timedelta(minutes=15 * quarters) * (-1 if tz & 0x08 else 1)
    return datetime(2000 + d[0], d[1], d[2], d[3], d[4], d[5], tzinfo=timezone(offset))


def _encode_timestamp(moment: datetime) -> bytes:
    utc = moment.astimezone(UTC)
    digits = f"{utc:%y%m%d%H%M%S}00"
    return _semi_octets(digits)


def decode_status_report(pdu_hex: str, tpdu_length: int | None = None) -> StatusReport:
    """Read a ``+CDS`` PDU (with or without its SMSC field, see :func:`decode_submit`)."""
    try:
        data = bytes.fromhex(pdu_hex)
        pos = _skip_smsc(data, tpdu_length)
        first = data[pos]
        if first & 0x03 != 0x02:
            raise PduError(f"not an SMS-STATUS-REPORT (first octet 0x{first:02X})")
        reference = data[pos + 1]
        number, pos = decode_address(data, pos + 2)
        discharged = _timestamp(data[pos + 7 : pos + 14])
        status = data[pos + 14]
        return StatusReport(reference, number, status, discharged)
    except IndexError as exc:
        raise PduError("status report too short") from exc
    except ValueError as exc:
        raise PduError(f"bad status report: {exc}") from exc


def encode_status_report(
    reference: int, number: str, status: int, at: datetime, *, smsc: str = ""
) -> Encoded:
    """An SMS-STATUS-REPORT (what the simulated modem sends as ``+CDS``)."""
    stamp = _encode_timestamp(at)
    tpdu = bytes([0x06, reference & 0xFF]) + encode_address(number) + stamp + stamp
    tpdu += bytes([status & 0xFF])
    return Encoded((encode_smsc(smsc) + tpdu).hex().upper(), len(tpdu))
