"""PIN hashes: the one format of the config's ``pin_hash`` (``locker config hash-pin``).

A PIN is never stored in clear: ``scrypt$N$r$p$salthex$hashhex`` (what :func:`hash_pin`
writes), or ``pbkdf2_sha256$rounds$salthex$hashhex`` (accepted from other tools).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from custody.errors import ConfigError

#: How a stored PIN hash starts, one prefix per accepted scheme.
PIN_HASH_SCHEMES: tuple[str, ...] = ("scrypt$", "pbkdf2_sha256$")

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """A PIN hash for the config: ``scrypt$N$r$p$salthex$hashhex``."""
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ConfigError("a PIN is 4 to 12 digits")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        pin.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches a stored hash (scrypt or pbkdf2_sha256); constant-time."""
    parts = stored.split("$")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, want = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
            got = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=len(want))
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            rounds, salt, want = int(parts[1]), bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
            got = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, rounds, dklen=len(want))
        else:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(got, want)
