"""Errors raised by the cabinet bridge.

Each failure a caller handles has its own class; all derive from
:class:`custody.errors.LockerError` so the daemon and CLI catch one root.
"""

from __future__ import annotations

from custody.errors import ConfigError, LockerError, SettingError


class CabinetError(LockerError):
    """A cabinet controller could not do what was asked."""


class CabinetOfflineError(CabinetError):
    """The controller (or its line) cannot be reached: connection refused, port missing."""


class CabinetTimeoutError(CabinetOfflineError):
    """The controller did not answer in time (silent unit, broken wire, corrupted frames)."""


class CabinetProtocolError(CabinetError):
    """The controller answered, but with an exception code or a malformed frame."""


class CompartmentError(CabinetError):
    """A compartment number outside 0..N-1 was asked for (nothing is sent to the wire)."""


class CabinetConfigError(ConfigError):
    """A cabinet's settings or register map are inconsistent (overlapping blocks, bad keys)."""


class CabinetSettingError(CabinetConfigError, SettingError):
    """One key of a cabinet's settings has a value the bridge refuses (``key`` names it)."""


__all__ = [
    "CabinetConfigError",
    "CabinetError",
    "CabinetOfflineError",
    "CabinetProtocolError",
    "CabinetSettingError",
    "CabinetTimeoutError",
    "CompartmentError",
]
