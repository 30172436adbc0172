"""Type stubs for the optional C accelerator (see ``_speedups.c``)."""

class Unsupported(ValueError): ...

def encode(value: object, /) -> bytes: ...
def scan(
    rows: list[tuple[int, bytes, bytes | None]],
    offset: int,
    expected: int,
    prev: bytes | None,
    stack: list[bytes],
    count: int,
    snap_at: tuple[int, ...],
    snap_i: int,
    snapshots: dict[int, list[bytes]],
    photo_ok: dict[str, int] | None,
    check: bool,
    /,
) -> tuple[int, int, int, bytes | None]: ...
def append_batch(
    items: list[tuple[str, object, str]],
    seq: int,
    prev: bytes,
    ts: str,
    peaks: list[bytes],
    stored_min: int,
    /,
) -> tuple[list[bytes], list[bytes], list[tuple[int, int, bytes]]]: ...
