"""Why a text did not go, split into *transient* (retry with backoff) and *permanent*.

``+CMS ERROR: <n>`` codes are 3GPP TS 27.005 §3.2.5: 0-127 are the network's RP causes
(TS 24.011 annex E), 128-255 the TP failure causes (TS 23.040 §9.2.3.22), 300-500 the
modem's own. A code not in the table is transient (the retry budget bounds it).
"""

from __future__ import annotations

from custody.errors import LockerError


class SendError(LockerError):
    """A text could not be handed to the network. ``transient``: try again later."""

    def __init__(self, reason: str, *, transient: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.code = code


class ModemError(SendError):
    """The modem refused a command or stopped answering."""


class ModemTimeout(ModemError):
    """No final result from the modem in time (it stalled, or the line is dead)."""

    def __init__(self, command: str, seconds: float) -> None:
        super().__init__(f"the modem did not answer {command!r} within {seconds:g} s",
                         transient=True)


# code: (reason, transient)
CMS_REASONS: dict[int, tuple[str, bool]] = {
    1: ("unassigned (unallocated) number", False),
    8: ("operator determined barring", False),
    10: ("call barred", False),
    21: ("short message transfer rejected", False),
    27: ("destination out of service", True),
    28: ("unidentified subscriber", False),
    29: ("facility rejected", False),
    30: ("unknown subscriber", False),
    38: ("network out of order", True),
    41: ("temporary failure", True),
    42: ("congestion", True),
    47: ("resources unavailable", True),
    50: ("requested facility not subscribed", False),
    69: ("requested facility not implemented", False),
    81: ("invalid short message transfer reference value", True),
    95: ("invalid message", False),
    96: ("invalid mandatory information", False),
    97: ("message type non-existent or not implemented", False),
    98: ("message not compatible with the short message protocol state", True),
    99: ("information element non-existent or not implemented", False),
    111: ("protocol error", True),
    127: ("interworking error", True),
    128: ("telematic interworking not supported", False),
    143: ("unsupported TP-PID", False),
    144: ("data coding scheme (alphabet) not supported", False),
    159: ("unspecified TP-DCS error", False),
    176: ("TPDU not supported", False),
    192: ("SC busy", True),
    193: ("no SC subscription", False),
    194: ("SC system failure", True),
    195: ("invalid SME address", False),
    196: ("destination SME barred", False),
    197: ("SM rejected: duplicate SM", False),
    300: ("ME failure", True),
    301: ("SMS service of ME reserved", True),
    302: ("operation not allowed", True),
    303: ("operation not supported", False),
    304: ("invalid PDU mode parameter", False),
    305: ("invalid text mode parameter", False),
    310: ("SIM not inserted", False),
    311: ("SIM PIN required", False),
    312: ("PH-SIM PIN required", False),
    313: ("SIM failure", False),
    314: ("SIM busy", True),
    315: ("SIM wrong", False),
    316: ("SIM PUK required", False),
    320: ("memory failure", True),
    322: ("memory full", True),
    330: ("SMSC address unknown", False),
    331: ("no network service", True),
    332: ("network timeout", True),
    340: ("no +CNMA acknowledgement expected", True),
    500: ("unknown error", True),
}


def cms_error(code: int) -> ModemError:
    """The error for ``+CMS ERROR: <code>``, with its reason and whether to retry."""
    reason, transient = CMS_REASONS.get(code, (f"modem error {code}", True))
    return ModemError(f"+CMS ERROR {code}: {reason}", transient=transient, code=code)
