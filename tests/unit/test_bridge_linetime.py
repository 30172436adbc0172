"""The RS-485 line-time model's arithmetic."""

from __future__ import annotations

import pytest

from hw_sim.linetime import LineTime, rtu_frame_sizes
from locker_firmware_bridge.line import rtu_gap_s


def test_48_input_read_at_9600_takes_about_30_ms() -> None:
    req, resp = rtu_frame_sizes(2, 48)
    assert (req, resp) == (8, 11)
    assert LineTime(9600).transaction_s(req, resp) == pytest.approx(0.0298, abs=0.0005)


def test_gap_is_3_5_chars_up_to_19200_then_fixed() -> None:
    assert LineTime(9600).gap_s == pytest.approx(3.5 * 11 / 9600)
    assert LineTime(19200).gap_s == pytest.approx(3.5 * 11 / 19200)
    assert LineTime(115200).gap_s == 0.00175
    for baud in (9600, 19200, 115200):
        assert rtu_gap_s(baud) == LineTime(baud).gap_s


@pytest.mark.parametrize(
    ("fc", "count", "sizes"),
    [(1, 8, (8, 6)), (2, 248, (8, 36)), (4, 3, (8, 11)), (5, 1, (8, 8)), (16, 2, (13, 8))],
)
def test_frame_sizes(fc: int, count: int, sizes: tuple[int, int]) -> None:
    assert rtu_frame_sizes(fc, count) == sizes
