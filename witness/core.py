"""The witness's one operation, ``add-checkpoint`` (C2SP tlog-witness v1.0.0), as a function
from a request body to an answer: every status follows from the spec.

Request body: ``old <size>``, zero to 63 base64 consistency-proof lines, an empty line, then
the signed checkpoint note. Answers, in the order the checks run:

- 400: the body is malformed, or the old size is above the checkpoint's size;
- 404: the checkpoint's origin is not a log this witness follows;
- 403: no signature by a key trusted for the origin verifies (or a trusted key's does not);
- 409 ``text/x.tlog.size``: the old size is not the size this witness last cosigned (the
  body is that size and a newline: the log retries from it);
- 409: same size as the last cosigned checkpoint, different root (a fork);
- 422: the consistency proof does not verify (or is not empty from size 0);
- 200: the cosignature line(s), after the new state is committed.

The check and the update run in one ``BEGIN IMMEDIATE`` transaction, so two submissions can
never roll the witness back. Every refusal of a validly signed checkpoint is kept.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from custody.ledger import merkle
from custody.ledger.checkpoint import Checkpoint, CheckpointError
from custody.ledger.cosign import Cosigner
from custody.ledger.ledger import format_ts
from custody.ledger.note import NoteError, open_note, split_note
from custody.ports import Clock, SystemClock
from witness.store import WitnessStore

MAX_BODY = 16 << 10
MAX_PROOF = 63
SIZE_TYPE = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]{0,19})")


@dataclass(frozen=True)
class Answer:
    """What to send back."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


class BadRequest(Exception):
    """The body is not a well-formed add-checkpoint request (400)."""


@dataclass(frozen=True)
class Request:
    old_size: int
    proof: list[bytes]
    note: str


def parse_request(body: bytes) -> Request:
    """Parse an add-checkpoint body; raises :class:`BadRequest`."""
    if len(body) > MAX_BODY:
        raise BadRequest(f"request body over {MAX_BODY} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise BadRequest("no empty line before the checkpoint")
    lines = head.split("\n")
    m = _OLD.fullmatch(lines[0])
    if m is None:
        raise BadRequest("the first line must be 'old <size>'")
    if len(lines) - 1 > MAX_PROOF:
        raise BadRequest(f"more than {MAX_PROOF} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            h = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("a consistency proof line is not base64") from None
        if len(h) != merkle.HASH_SIZE:
            raise BadRequest("a consistency proof hash is not 32 bytes")
        proof.append(h)
    return Request(int(m.group(1)), proof, note)


class Witness:
    """One witness: its store, its key and its clock."""

    def __init__(self, store: WitnessStore, *, clock: Clock | None = None) -> None:
        self.store = store
        self.cosigner: Cosigner = store.cosigner()
        self.clock = clock or SystemClock()

    def add_checkpoint(self, body: bytes) -> Answer:
        """Handle one ``POST /add-checkpoint`` body."""
        try:
            req = parse_request(body)
            text, _sigs = split_note(req.note)
            cp = Checkpoint.parse(text)
        except (BadRequest, NoteError, CheckpointError) as exc:
            return Answer(400, f"{exc}\n".encode())
        verifiers = self.store.log_keys(cp.origin)
        if not verifiers:
            return Answer(404, b"unknown log origin\n")
        try:
            open_note(req.note, verifiers)
        except NoteError as exc:
            return Answer(403, f"{exc}\n".encode())
        now = self.clock.now()
        stamp = format_ts(now)
        proof_text = "".join(base64.b64encode(h).decode() + "\n" for h in req.proof)
        with self.store.transaction():
            latest = self.store.latest(cp.origin)
            size, root = (latest.size, latest.root) if latest else (0, merkle.EMPTY_ROOT)
            answer = self._judge(req, cp, size, root)
            if answer is not None:
                self.store.add_refused(
                    cp.origin, req.old_size, proof_text, req.note, answer.status,
                    answer.body.decode().strip(), stamp,
                )
                return answer
            line = self.cosigner.cosign(text, int(now.timestamp()))
            self.store.set_latest(cp.origin, cp.size, cp.root, req.note + line, stamp)
        return Answer(200, line.encode())

    @staticmethod
    def _judge(req: Request, cp: Checkpoint, size: int, root: bytes) -> Answer | None:
        """The refusal for a validly signed checkpoint, or None to cosign it."""
        if req.old_size > cp.size:
            why = f"old size {req.old_size} is above the checkpoint's {cp.size}\n"
            return Answer(400, why.encode())
        if req.old_size != size:
            return Answer(409, f"{size}\n".encode(), SIZE_TYPE)
        if cp.size == 0 and cp.root != merkle.EMPTY_ROOT:
            return Answer(422, b"a checkpoint of size 0 must have the empty tree's root\n")
        if size == 0:
            if req.proof:
                return Answer(422, b"the consistency proof from size 0 must be empty\n")
            return None
        if cp.size == size:
            if cp.root != root:
                return Answer(409, f"a different root at size {size} was cosigned\n".encode())
            if req.proof:
                return Answer(422, b"the consistency proof between equal sizes must be empty\n")
            return None
        try:
            merkle.verify_consistency(size, cp.size, root, cp.root, req.proof)
        except merkle.ProofError as exc:
            return Answer(422, f"consistency proof from size {size}: {exc}\n".encode())
        return None
