"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.

The formats are those of Go's ``golang.org/x/mod/sumdb/note``, so standard tools verify our
checkpoints unchanged:

- verifier key: ``<name>+<hex key id>+<base64(0x01 || 32-byte public key)>``
- signer key:   ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>``
- key id:       the first 4 bytes of ``SHA-256(<name> || "\\n" || 0x01 || public key)``
- a note:       the text (non-empty lines, each ending in ``\\n``), a blank line, then one
  or more lines ``— <name> <base64(key id || signature)>``; the signature covers the text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custody.errors import LockerError

ALG_ED25519 = 1
SIG_PREFIX = "\u2014 "  # em dash and a space
MAX_SIGNATURES = 100


class NoteError(LockerError):
    """A signed note or key is malformed, or no trusted signature verifies."""


# str.isspace() and re's \s agree (both are Py_UNICODE_ISSPACE); a regex scans in C.
_SPACE = re.compile(r"\s")
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")


def valid_name(name: str) -> bool:
    """Whether ``name`` can name a key: non-empty, no spaces, no '+'."""
    return bool(name) and "+" not in name and _SPACE.search(name) is None


def key_id(name: str, public_key: bytes, alg: int = ALG_ED25519) -> int:
    """The 32-bit key id of a public key under a name: the first 4 bytes of
    ``SHA-256(name || "\\n" || alg || key)`` (``alg`` 0x01 for note signatures, 0x04 for
    tlog-cosignature v1)."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()
    value: int = struct.unpack(">I", digest[:4])[0]
    return value


def b64decode(text: str, what: str) -> bytes:
    """Strict standard base64; raises :class:`NoteError` naming ``what``."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64") from None


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    for ch in text:
        if ord(ch) < 0x20 and ch != "\n":
            raise NoteError("note text holds a control character")
    if "\n\n" in text or text.startswith("\n"):
        raise NoteError("note text must not contain blank lines")


@dataclass(frozen=True)
class Verifier:
    """A trusted public key, as parsed from its verifier-key text."""

    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse ``name+hexid+base64key``; raises :class:`NoteError` when malformed."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("verifier key must be name+keyid+key")
        name, hex_id, b64 = parts
        if not valid_name(name) or len(hex_id) != 8:
            raise NoteError(f"malformed verifier key for {name!r}")
        try:
            kid = int(hex_id, 16)
        except ValueError:
            raise NoteError("verifier key id is not hexadecimal") from None
        raw = b64decode(b64, "verifier key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key")
        if key_id(name, raw[1:]) != kid:
            raise NoteError("verifier key id does not match its key")
        return cls(name, kid, raw[1:])

    @property
    def vkey(self) -> str:
        """The verifier-key text."""
        b64 = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{b64}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


class Signer:
    """An Ed25519 signing key with its name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not valid_name(name):
            raise NoteError(f"{name!r} is not a valid key name (no spaces, no '+')")
        self.name = name
        self._key = private_key
        pub = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = Verifier(name, key_id(name, pub), pub)

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse ``PRIVATE+KEY+name+hexid+base64(0x01||seed)``."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise NoteError("signer key must be PRIVATE+KEY+name+keyid+key")
        _, _, name, hex_id, b64 = parts
        raw = b64decode(b64, "signer key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if f"{signer.verifier.key_id:08x}" != hex_id.lower():
            raise NoteError("signer key id does not match its key")
        return signer

    @property
    def vkey(self) -> str:
        return self.verifier.vkey

    @property
    def skey(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        b64 = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id:08x}+{b64}"

    def signature_line(self, text: str) -> str:
        """The ``— name base64`` line signing ``text``."""
        _check_text(text)
        sig = self._key.sign(text.encode())
        blob = struct.pack(">I", self.verifier.key_id) + sig
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(blob).decode()}\n"

    def sign(self, text: str) -> str:
        """The full signed note for ``text`` (which must end with a newline)."""
        return f"{text}\n{self.signature_line(text)}"


def generate_signer(name: str) -> tuple[str, str]:
    """A new Ed25519 key: ``(signer key text, verifier key text)``."""
    signer = Signer(name, Ed25519PrivateKey.generate())
    return signer.skey, signer.vkey


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: int
    signature: bytes


def split_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a note into its text and its signature lines, checking the format only."""
    if _CONTROL.search(note) is not None:
        raise NoteError("note holds a control character")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed note: no blank line before the signatures")
    text, sigs = note[: split + 1], note[split + 2 :]
    if not sigs or not sigs.endswith("\n"):
        raise NoteError("malformed note: no signature lines")
    out: list[NoteSignature] = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise NoteError("malformed note: a signature line must start with an em dash")
        name, sep, b64 = line[len(SIG_PREFIX) :].partition(" ")
        if not sep or not b64 or not valid_name(name):
            raise NoteError("malformed signature line")
        blob = b64decode(b64, "signature")
        if len(blob) < 5:
            raise NoteError("signature too short")
        out.append(NoteSignature(name, struct.unpack(">I", blob[:4])[0], blob[4:]))
        if len(out) > MAX_SIGNATURES:
            raise NoteError("too many signatures")
    return text, out


def open_note(note: str, verifiers: Iterable[Verifier]) -> str:
    """Verify a note against trusted keys and return its text.

    At least one trusted key must have signed it; a signature by a trusted key that does not
    verify is an error; signatures by unknown keys are ignored (they may be witnesses').
    """
    text, sigs = split_note(note)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified = 0
    for sig in sigs:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            continue
        if not v.verify(text.encode(), sig.signature):
            raise NoteError(f"invalid signature by {sig.name}")
        verified += 1
    if verified == 0:
        raise NoteError("note has no signature by a trusted key")
    return text
