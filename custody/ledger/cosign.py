"""C2SP tlog-cosignature v1 (c2sp.org/tlog-cosignature): witnesses' Ed25519 cosignatures.

A cosignature is a signed-note signature line on a checkpoint::

    — <witness name> base64(key id || u64 big-endian timestamp || Ed25519 signature)

- witness verifier key: ``<name>+<hex key id>+<base64(0x04 || 32-byte public key)>``
- witness signer key:   ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x04 || 32-byte seed)>``
- key id:               the first 4 bytes of ``SHA-256(<name> || "\\n" || 0x04 || key)``
- signed message:       ``cosignature/v1\\n`` ``time <timestamp>\\n`` then the whole checkpoint
  body (the note text, with its final newline, without signature lines).

A v1 cosignature says: as of ``timestamp`` (POSIX seconds), the largest consistent tree this
witness has seen for the origin has this root. :func:`check_cosignatures` counts the
witnesses whose cosignature verifies on a note; the station's signature is ignored here
(:func:`custody.ledger.note.open_note` checks it).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from custody.ledger.note import (
    SIG_PREFIX,
    NoteError,
    NoteSignature,
    b64decode,
    key_id,
    split_note,
    valid_name,
)

ALG_COSIGNATURE_V1 = 4
HEADER = "cosignature/v1"
MAX_TIMESTAMP = (1 << 63) - 1


class CosignatureError(NoteError):
    """A witness key or cosignature is malformed, or a cosignature does not verify."""


def cosigned_message(body: str, timestamp: int) -> bytes:
    """The bytes a witness signs for the checkpoint ``body`` at ``timestamp``."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CosignatureError(f"cosignature timestamp {timestamp} is out of range")
    return f"{HEADER}\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class WitnessKey:
    """A witness's public key, as parsed from its verifier-key text."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> WitnessKey:
        """Parse ``name+hexid+base64(0x04||key)``; raises :class:`CosignatureError`."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise CosignatureError("witness key must be name+keyid+key")
        name, hex_id, b64 = parts
        if not valid_name(name) or len(hex_id) != 8:
            raise CosignatureError(f"malformed witness key for {name!r}")
        try:
            kid = int(hex_id, 16)
        except ValueError:
            raise CosignatureError("witness key id is not hexadecimal") from None
        try:
            raw = b64decode(b64, "witness key")
        except NoteError as exc:
            raise CosignatureError(str(exc)) from None
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise CosignatureError(
                "not a cosignature/v1 witness key (it must be base64 of 0x04 and an Ed25519 "
                "key; a station's verifier key starts with 0x01)"
            )
        if key_id(name, raw[1:], ALG_COSIGNATURE_V1) != kid:
            raise CosignatureError("witness key id does not match its key")
        return cls(name, kid, raw[1:])

    @property
    def vkey(self) -> str:
        b64 = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{b64}"

    def matches(self, sig: NoteSignature) -> bool:
        """Whether a signature line names this key (name and key id)."""
        return sig.name == self.name and sig.key_id == self.key_id

    def verify(self, body: str, sig: NoteSignature) -> int:
        """The timestamp of a valid cosignature of ``body``; raises :class:`CosignatureError`
        when it is malformed or does not verify."""
        if not self.matches(sig):
            raise CosignatureError(f"signature is not by witness {self.name}")
        if len(sig.signature) != 72:
            raise CosignatureError(
                f"cosignature by {self.name} is {len(sig.signature) + 4} bytes, not 76"
            )
        timestamp: int = struct.unpack(">Q", sig.signature[:8])[0]
        if timestamp > MAX_TIMESTAMP:
            raise CosignatureError(f"cosignature by {self.name} has an impossible timestamp")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                sig.signature[8:], cosigned_message(body, timestamp)
            )
        except InvalidSignature:
            raise CosignatureError(f"cosignature by {self.name} does not verify") from None
        return timestamp


class Cosigner:
    """A witness's Ed25519 signing key with its name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not valid_name(name):
            raise CosignatureError(f"{name!r} is not a valid witness name (no spaces, no '+')")
        self.name = name
        self._key = private_key
        pub = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key = WitnessKey(name, key_id(name, pub, ALG_COSIGNATURE_V1), pub)

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Cosigner:
        """Parse ``PRIVATE+KEY+name+hexid+base64(0x04||seed)``."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise CosignatureError("witness signer key must be PRIVATE+KEY+name+keyid+key")
        _, _, name, hex_id, b64 = parts
        raw = b64decode(b64, "witness signer key")
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise CosignatureError("not a cosignature/v1 witness signer key")
        cosigner = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if f"{cosigner.key.key_id:08x}" != hex_id.lower():
            raise CosignatureError("witness signer key id does not match its key")
        return cosigner

    @property
    def vkey(self) -> str:
        return self.key.vkey

    @property
    def skey(self) -> str:
        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        b64 = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key.key_id:08x}+{b64}"

    def cosign(self, body: str, timestamp: int) -> str:
        """The ``— name base64`` cosignature line for the checkpoint ``body``."""
        sig = self._key.sign(cosigned_message(body, timestamp))
        blob = struct.pack(">IQ", self.key.key_id, timestamp) + sig
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(blob).decode()}\n"


def load_witness_keys(vkeys: Iterable[str]) -> list[WitnessKey]:
    """Parse witness keys, refusing the same key twice."""
    keys = [WitnessKey.from_vkey(v) for v in vkeys]
    seen = {(k.name, k.key_id) for k in keys}
    if len(seen) != len(keys):
        raise CosignatureError("the same witness key is given twice")
    return keys


def add_signature_lines(note: str, lines: Iterable[str]) -> str:
    """``note`` with the signature ``lines`` appended, skipping any it already holds."""
    have = set(note[note.rfind("\n\n") + 2 :].splitlines(keepends=True))
    extra = [line if line.endswith("\n") else line + "\n" for line in lines]
    out = note
    for line in extra:
        if line not in have:
            out += line
            have.add(line)
    split_note(out)  # the result must still be a well-formed note
    return out


def witness_lines(note: str, key: WitnessKey) -> list[str]:
    """The signature lines of ``note`` that name the witness ``key``."""
    _text, sigs = split_note(note)
    lines = note[note.rfind("\n\n") + 2 :].splitlines(keepends=True)
    return [line for line, sig in zip(lines, sigs, strict=True) if key.matches(sig)]


@dataclass(frozen=True)
class CosignatureCheck:
    """Which witnesses validly cosigned a note, and which had a line that failed."""

    cosigned: dict[str, int]  # witness vkey -> timestamp
    invalid: dict[str, str]  # witness vkey -> why

    def quorum(self, n: int) -> bool:
        return len(self.cosigned) >= n


def check_cosignatures(note: str, witnesses: Sequence[WitnessKey]) -> CosignatureCheck:
    """Check every line of ``note`` that names one of ``witnesses``; lines of other keys
    (the station's, unknown witnesses') are ignored."""
    body, sigs = split_note(note)
    cosigned: dict[str, int] = {}
    invalid: dict[str, str] = {}
    for w in witnesses:
        for sig in sigs:
            if not w.matches(sig):
                continue
            try:
                ts = w.verify(body, sig)
            except CosignatureError as exc:
                invalid.setdefault(w.vkey, str(exc))
            else:
                cosigned[w.vkey] = max(ts, cosigned.get(w.vkey, 0))
    return CosignatureCheck(cosigned, {k: v for k, v in invalid.items() if k not in cosigned})
