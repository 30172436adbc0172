"""A line-time model for Modbus RTU on RS-485, so timing figures mean something.

A character on an RTU line is 11 bits (start, 8 data, parity or a second stop, stop).
Frames are separated by a silence of 3.5 characters; above 19200 baud the Modbus spec
fixes that silence at 1.75 ms. One transaction occupies the line for the request frame,
a gap, the response frame and another gap. :func:`rtu_frame_sizes` gives the byte counts
of the requests the bridge uses, so the simulator can hold each answer back until the
bytes could physically have crossed the wire, and the benchmark can state the line's limit.
"""

from __future__ import annotations

from dataclasses import dataclass

BITS_PER_CHAR = 11


@dataclass(frozen=True)
class LineTime:
    """The physical timing of one RS-485 line at a baud rate."""

    baud: int

    @property
    def char_s(self) -> float:
        """Seconds per character on the wire."""
        return BITS_PER_CHAR / self.baud

    @property
    def gap_s(self) -> float:
        """The inter-frame silence: 3.5 characters, or the spec's fixed 1.75 ms above 19200."""
        return 0.00175 if self.baud > 19200 else 3.5 * self.char_s

    def frame_s(self, nbytes: int) -> float:
        """Seconds a frame of ``nbytes`` bytes occupies the wire."""
        return nbytes * self.char_s

    def transaction_s(self, request_bytes: int, response_bytes: int) -> float:
        """Line occupancy of one request/response exchange, both gaps included."""
        return self.frame_s(request_bytes) + self.frame_s(response_bytes) + 2 * self.gap_s


def rtu_frame_sizes(function_code: int, count: int) -> tuple[int, int]:
    """(request bytes, response bytes) of an RTU transaction (address + PDU + CRC).

    Supports the function codes the bridge uses: 1/2 read bits, 3/4 read registers,
    5/6 write single, 15/16 write multiple. ``count`` is bits or registers.
    """
    if function_code in (1, 2):
        return 8, 5 + (count + 7) // 8
    if function_code in (3, 4):
        return 8, 5 + 2 * count
    if function_code in (5, 6):
        return 8, 8
    if function_code == 15:
        return 9 + (count + 7) // 8, 8
    if function_code == 16:
        return 9 + 2 * count, 8
    return 8, 8
