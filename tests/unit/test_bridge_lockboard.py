"""Lock-board frames as bytes, and the driver against the simulated board on a pty."""

from __future__ import annotations

import asyncio
import os
import pty
import tty

import pytest

from hw_sim.cabinet_world import ManualTime, World
from hw_sim.lockboard_sim import LockBoardSim
from locker_firmware_bridge.errors import CabinetProtocolError, CabinetTimeoutError
from locker_firmware_bridge.lockboard import (
    LockBoardCabinet,
    LockBoardPort,
    build_request,
    build_status_reply,
    check_frame,
    pack_bits,
    status_reply_len,
    unpack_bits,
)


def test_request_frames_byte_for_byte() -> None:
    # unlock lock 4 on board 1: 02 01 04 31 03 SUM, SUM = 0x02+0x01+0x04+0x31+0x03 = 0x3B
    assert build_request(1, 4, 0x31) == bytes.fromhex("02 01 04 31 03 3b")
    # status of board 0 (Kerong's documented example: 02 00 00 30 03 35)
    assert build_request(0, 0, 0x30) == bytes.fromhex("02 00 00 30 03 35")
    # the sum keeps only its low byte
    assert build_request(0xF0, 0x30, 0x31)[-1] == (0x02 + 0xF0 + 0x30 + 0x31 + 0x03) & 0xFF


def test_status_reply_layout() -> None:
    locks = [True] * 10
    locks[9] = False
    ir = [False] * 10
    ir[0] = True
    doors = [True] * 10
    frame = build_status_reply(2, locks, ir, doors)
    assert len(frame) == status_reply_len(10) == 4 + 3 * 2 + 2
    assert frame[:4] == bytes([0x02, 2, 10, 0x30])
    assert frame[4:6] == bytes([0xFF, 0x01])  # lock 9 (bit 1 of byte 1) released
    assert frame[6:8] == bytes([0x01, 0x00])
    assert frame[8:10] == bytes([0xFF, 0x03])
    check_frame(frame)
    assert unpack_bits(pack_bits(locks), 10) == locks


@pytest.mark.parametrize(
    "frame",
    ["02 01 04 31 03 3c", "03 01 04 31 03 3b", "02 01 04 31 02 3a", "02 01 03"],
)
def test_bad_frames_are_refused(frame: str) -> None:
    with pytest.raises(CabinetProtocolError):
        check_frame(bytes.fromhex(frame))


def test_inverted_lock_polarity_is_a_setting() -> None:
    async def main() -> None:
        world = World(1, 12, now=ManualTime())
        sim = LockBoardSim(world, lock_bit_locked=0)
        sim.start()
        port = LockBoardPort(sim.path, timeout_s=0.5)
        try:
            right = LockBoardCabinet("L", port, 1, 12, lock_bit_locked=0)
            st = await right.read_status()
            assert all(c.locked for c in st.compartments)
            await right.release(11)
            st = await right.read_status()
            assert [c.locked for c in st.compartments] == [True] * 11 + [False]
            # the same board read with the wrong polarity setting shows everything inverted
            wrong = LockBoardCabinet("W", port, 1, 12, lock_bit_locked=1)
            st = await wrong.read_status()
            assert [c.locked for c in st.compartments] == [False] * 11 + [True]
            await wrong.close()
            await right.close()
        finally:
            sim.close()

    asyncio.run(main())


def test_wrong_board_answer_and_silence_are_errors() -> None:
    async def main() -> None:
        # a peer that answers every request with another board's status
        master, slave = pty.openpty()
        tty.setraw(slave)
        loop = asyncio.get_running_loop()

        def answer() -> None:
            os.read(master, 64)
            os.write(master, build_status_reply(7, [True] * 4, [False] * 4, [True] * 4))

        loop.add_reader(master, answer)
        port = LockBoardPort(os.ttyname(slave), timeout_s=0.3)
        cab = LockBoardCabinet("X", port, 1, 4)
        try:
            with pytest.raises(CabinetProtocolError, match="board 7"):
                await cab.read_status()
            loop.remove_reader(master)
            with pytest.raises(CabinetTimeoutError):
                await cab.read_status()
        finally:
            await cab.close()
            os.close(master)
            os.close(slave)

    asyncio.run(main())
