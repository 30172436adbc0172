"""C2SP tlog-checkpoint bodies (c2sp.org/tlog-checkpoint).

A checkpoint is the text of a signed note::

    <origin>
    <tree size, decimal, no leading zeros>
    <base64 of the 32-byte RFC 6962 root>
    [<extension line>...]
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from custody.errors import LockerError

_SIZE = re.compile(r"^(0|[1-9][0-9]*)$")


class CheckpointError(LockerError):
    """A checkpoint body is malformed."""


@dataclass(frozen=True)
class Checkpoint:
    """The tree head a checkpoint commits to."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = field(default=())

    def body(self) -> str:
        """The checkpoint text (what the station signs)."""
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("checkpoint origin must be one non-empty line")
        if len(self.root) != 32:
            raise CheckpointError("checkpoint root must be 32 bytes")
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        lines.extend(self.extensions)
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint text; raises :class:`CheckpointError` when malformed."""
        if not body.endswith("\n"):
            raise CheckpointError("checkpoint must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint needs origin, size and root lines")
        origin, size, root_b64, *ext = lines
        if not origin:
            raise CheckpointError("checkpoint origin is empty")
        if not _SIZE.match(size):
            raise CheckpointError(f"checkpoint size {size!r} is not a decimal number")
        try:
            root = base64.b64decode(root_b64, validate=True)
        except (binascii.Error, ValueError):
            raise CheckpointError("checkpoint root is not base64") from None
        if len(root) != 32:
            raise CheckpointError(f"checkpoint root is {len(root)} bytes, not 32")
        if any(not line for line in ext):
            raise CheckpointError("checkpoint extension lines must not be empty")
        return cls(origin, int(size), root, tuple(ext))
