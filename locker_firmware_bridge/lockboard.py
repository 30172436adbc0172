"""A serial lock-board driver (Kerong CU16/CU48 style) behind the cabinet interface.

Frames (all bytes; SUM is the low byte of the sum of every byte before it)::

    request   02 ADDR LOCK CMD 03 SUM                 (6 bytes)
    CMD 0x30  read status        LOCK = 0
    CMD 0x31  unlock one lock    LOCK = compartment + 1
    CMD 0x32  guide LED on       LOCK = compartment + 1   (our extension)
    CMD 0x33  guide LED off      LOCK = compartment + 1   (our extension)

    reply to 0x31/0x32/0x33: the request echoed (6 bytes)
    reply to 0x30: 02 ADDR N 30 LOCKS[B] IR[B] DOORS[B] 03 SUM    with B = ceil(N / 8)

Bit ``i % 8`` of byte ``i // 8`` of each field belongs to compartment ``i`` (0-based).
LOCKS are the lock feedback bits (which value means "locked" is the ``lock_bit_locked``
setting, as boards differ), IR the occupancy sensors (1 = item present), DOORS the door
switches (1 = closed). Such a board keeps no door-event counter: the driver counts the
edges it sees, so edges between two polls cannot be detected on a lock board.

pyserial is blocking: each transaction runs in a worker thread (``asyncio.to_thread``)
under the port's lock, so the event loop never waits on the wire.
"""

from __future__ import annotations

import asyncio
import threading

import serial

from custody.ports import CabinetStatus, CompartmentState
from locker_firmware_bridge.errors import (
    CabinetConfigError,
    CabinetOfflineError,
    CabinetProtocolError,
    CabinetTimeoutError,
    CompartmentError,
)

STX = 0x02
ETX = 0x03
CMD_STATUS = 0x30
CMD_UNLOCK = 0x31
CMD_LED_ON = 0x32
CMD_LED_OFF = 0x33
REQUEST_LEN = 6


def checksum(data: bytes) -> int:
    """Low byte of the sum of the bytes."""
    return sum(data) & 0xFF


def build_request(addr: int, lock: int, cmd: int) -> bytes:
    """A 6-byte request frame."""
    body = bytes([STX, addr & 0xFF, lock & 0xFF, cmd, ETX])
    return body + bytes([checksum(body)])


def field_bytes(n: int) -> int:
    """Bytes per bit field for N locks."""
    return (n + 7) // 8


def status_reply_len(n: int) -> int:
    """Length of a status reply for N locks."""
    return 4 + 3 * field_bytes(n) + 2


def build_status_reply(addr: int, locks: list[bool], ir: list[bool], doors: list[bool]) -> bytes:
    """A status reply frame (used by the simulator and the tests)."""
    n = len(locks)
    body = bytes([STX, addr & 0xFF, n & 0xFF, CMD_STATUS])
    body += pack_bits(locks) + pack_bits(ir) + pack_bits(doors) + bytes([ETX])
    return body + bytes([checksum(body)])


def pack_bits(bits: list[bool]) -> bytes:
    """Pack bits LSB-first into ceil(N/8) bytes."""
    out = bytearray(field_bytes(len(bits)))
    for i, b in enumerate(bits):
        if b:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def unpack_bits(data: bytes, n: int) -> list[bool]:
    """The first N bits, LSB-first."""
    return [bool(data[i // 8] >> (i % 8) & 1) for i in range(n)]


def check_frame(frame: bytes) -> None:
    """Raise :class:`CabinetProtocolError` unless STX, ETX and SUM are right."""
    if len(frame) < REQUEST_LEN or frame[0] != STX or frame[-2] != ETX:
        raise CabinetProtocolError(f"lock board: malformed frame {frame.hex(' ')}")
    if checksum(frame[:-1]) != frame[-1]:
        raise CabinetProtocolError(f"lock board: bad checksum in {frame.hex(' ')}")


class LockBoardPort:
    """One serial port (an RS-485 line) with one or more lock boards on it."""

    def __init__(self, device: str, *, baud: int = 9600, timeout_s: float = 0.5) -> None:
        self.device = device
        self.baud = baud
        self.timeout_s = timeout_s
        self._serial: serial.Serial | None = None
        self._lock = asyncio.Lock()
        self._io_lock = threading.Lock()
        self._users = 0

    def attach(self) -> None:
        """One more board uses this port."""
        self._users += 1

    async def detach(self) -> None:
        """A board is done; the last one closes the port."""
        self._users = max(0, self._users - 1)
        if self._users == 0:
            async with self._lock:
                await asyncio.to_thread(self._close_sync)

    async def transact(self, request: bytes, reply_len: int) -> bytes:
        """Send one frame and read a reply of ``reply_len`` bytes (off the event loop)."""
        async with self._lock:
            return await asyncio.to_thread(self._transact_sync, request, reply_len)

    def _transact_sync(self, request: bytes, reply_len: int) -> bytes:
        with self._io_lock:
            try:
                if self._serial is None:
                    # serial_for_url gives a Serial for paths and socket:// alike
                    self._serial = serial.serial_for_url(
                        self.device, baudrate=self.baud, timeout=self.timeout_s
                    )
                port = self._serial
                port.reset_input_buffer()  # drop late bytes of an earlier, timed-out answer
                port.write(request)
                reply = bytes(port.read(reply_len))
            except (serial.SerialException, OSError) as exc:
                self._close_sync_locked()
                raise CabinetOfflineError(f"lock board port {self.device}: {exc}") from exc
        if len(reply) < reply_len:
            raise CabinetTimeoutError(
                f"lock board on {self.device}: {len(reply)} of {reply_len} bytes before timeout"
            )
        return reply

    def _close_sync(self) -> None:
        with self._io_lock:
            self._close_sync_locked()

    def _close_sync_locked(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            finally:
                self._serial = None


class LockBoardCabinet:
    """A cabinet driven by one lock board (address ``addr``) on a :class:`LockBoardPort`."""

    def __init__(
        self,
        cabinet_id: str,
        port: LockBoardPort,
        addr: int,
        compartments: int,
        *,
        lock_bit_locked: int = 1,
    ) -> None:
        if not 0 <= addr <= 255:
            raise CabinetConfigError(f"cabinet {cabinet_id}: board address {addr} not in 0..255")
        if not 1 <= compartments <= 255:
            raise CabinetConfigError(f"cabinet {cabinet_id}: {compartments} locks not in 1..255")
        if lock_bit_locked not in (0, 1):
            raise CabinetConfigError(f"cabinet {cabinet_id}: lock_bit_locked must be 0 or 1")
        self._id = cabinet_id
        self.port = port
        self.addr = addr
        self.n = compartments
        self.lock_bit_locked = bool(lock_bit_locked)
        self._counter = 0
        self._last_doors: list[bool] | None = None
        port.attach()

    @property
    def cabinet_id(self) -> str:
        """The station's name for this cabinet."""
        return self._id

    async def compartment_count(self) -> int:
        """From the config (a lock board cannot tell)."""
        return self.n

    async def release(self, compartment: int) -> None:
        """Send the unlock command for one lock."""
        await self._command(compartment, CMD_UNLOCK)

    async def set_led(self, compartment: int, on: bool) -> None:
        """Switch a compartment's guide LED."""
        await self._command(compartment, CMD_LED_ON if on else CMD_LED_OFF)

    async def _command(self, compartment: int, cmd: int) -> None:
        if not 0 <= compartment < self.n:
            raise CompartmentError(
                f"cabinet {self._id} has no compartment {compartment} (0..{self.n - 1})"
            )
        request = build_request(self.addr, compartment + 1, cmd)
        reply = await self.port.transact(request, REQUEST_LEN)
        check_frame(reply)
        if reply != request:
            raise CabinetProtocolError(
                f"cabinet {self._id}: board answered {reply.hex(' ')} to {request.hex(' ')}"
            )

    async def read_status(self) -> CabinetStatus:
        """One status transaction: lock, IR and door bits."""
        reply = await self.port.transact(
            build_request(self.addr, 0, CMD_STATUS), status_reply_len(self.n)
        )
        check_frame(reply)
        if reply[1] != self.addr or reply[3] != CMD_STATUS or reply[2] != self.n:
            raise CabinetProtocolError(
                f"cabinet {self._id}: status reply for board {reply[1]} with {reply[2]} locks, "
                f"expected board {self.addr} with {self.n}"
            )
        b = field_bytes(self.n)
        locks = unpack_bits(reply[4 : 4 + b], self.n)
        ir = unpack_bits(reply[4 + b : 4 + 2 * b], self.n)
        doors = unpack_bits(reply[4 + 2 * b : 4 + 3 * b], self.n)
        if self._last_doors is not None:
            self._counter += sum(a != c for a, c in zip(doors, self._last_doors, strict=True))
        self._last_doors = doors
        comps = tuple(
            CompartmentState(
                index=i,
                door_closed=doors[i],
                occupied=ir[i],
                locked=locks[i] == self.lock_bit_locked,
            )
            for i in range(self.n)
        )
        return CabinetStatus(self._id, comps, door_event_counter=self._counter % 65536)

    async def close(self) -> None:
        """Stop using the port (closed when no board uses it)."""
        await self.port.detach()
