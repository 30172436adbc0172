"""C2SP tlog-proof@v1 (c2sp.org/tlog-proof): one file that proves one entry offline.

::

    c2sp.org/tlog-proof@v1
    extra <base64 of the entry's exact bytes>
    index <seq>
    <base64 proof hash, leaf's sibling first>
    ...

    <the signed checkpoint note, verbatim>

The ``extra`` line is not authenticated by itself: a verifier hashes it as a leaf and checks
the inclusion proof against the signed checkpoint, which is what binds it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from custody.errors import LockerError
from custody.ledger.checkpoint import Checkpoint
from custody.ledger.merkle import leaf_hash, verify_inclusion
from custody.ledger.note import Verifier, open_note

HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"^index (0|[1-9][0-9]*)$")


class TlogProofError(LockerError):
    """A tlog-proof text is malformed or does not verify."""


@dataclass(frozen=True)
class TlogProof:
    index: int
    proof: list[bytes]
    extra: bytes | None
    checkpoint_note: str


def format_tlog_proof(
    index: int, proof: list[bytes], checkpoint_note: str, extra: bytes | None
) -> str:
    """The proof text."""
    lines = [HEADER]
    if extra is not None:
        lines.append(f"extra {base64.b64encode(extra).decode()}")
    lines.append(f"index {index}")
    lines.extend(base64.b64encode(h).decode() for h in proof)
    return "\n".join(lines) + "\n\n" + checkpoint_note


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise TlogProofError(f"{what} is not valid base64") from None


def parse_tlog_proof(text: str) -> TlogProof:
    """Parse a proof text (format only; see :func:`verify_tlog_proof`)."""
    head, sep, note = text.partition("\n\n")
    if not sep or not note:
        raise TlogProofError("tlog-proof has no checkpoint after a blank line")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise TlogProofError(f"not a tlog-proof: first line must be {HEADER}")
    pos = 1
    extra = None
    if pos < len(lines) and lines[pos].startswith("extra "):
        extra = _b64(lines[pos][len("extra ") :], "extra data")
        pos += 1
    if pos >= len(lines) or not (m := _INDEX.match(lines[pos])):
        raise TlogProofError("tlog-proof needs an 'index N' line")
    index = int(m.group(1))
    proof = []
    for line in lines[pos + 1 :]:
        h = _b64(line, "proof hash")
        if len(h) != 32:
            raise TlogProofError(f"proof hash is {len(h)} bytes, not 32")
        proof.append(h)
    return TlogProof(index, proof, extra, note)


def verify_tlog_proof(
    text: str, verifiers: Iterable[Verifier], origin: str | None = None
) -> tuple[TlogProof, Checkpoint]:
    """Verify a proof: the checkpoint's signature, then the inclusion of the ``extra`` bytes
    at ``index``. Raises a LockerError subclass on any failure."""
    proof = parse_tlog_proof(text)
    if proof.extra is None:
        raise TlogProofError("tlog-proof carries no entry bytes (extra line)")
    body = open_note(proof.checkpoint_note, verifiers)
    cp = Checkpoint.parse(body)
    if origin is not None and cp.origin != origin:
        raise TlogProofError(f"checkpoint is for log {cp.origin!r}, not {origin!r}")
    verify_inclusion(proof.index, cp.size, leaf_hash(proof.extra), proof.proof, cp.root)
    return proof, cp
