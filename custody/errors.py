"""The project's error hierarchy.

Every failure a caller is expected to handle is a subclass of :class:`LockerError`, so the
CLI, the daemon and the API can catch one root and show its message. Packages outside
``custody`` define their own subclasses next to the code that raises them (for example the
cabinet bridge's ``CabinetOfflineError``) but always derive from this root.
"""

from __future__ import annotations


class LockerError(Exception):
    """Root of every error this project raises on purpose. The message is shown to users."""


class ConfigError(LockerError):
    """A configuration file or setting is missing, malformed or inconsistent."""


class UsageError(LockerError):
    """The caller asked for something that makes no sense (bad arguments, bad ids)."""


class SettingError(ConfigError, ValueError):
    """One setting has a value its settings class refuses; ``key`` names it.

    Also a :class:`ValueError`, so that when pydantic validates a config file into a settings
    dataclass, the refusal becomes a validation error that the config loader places at the
    key's file and line."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class PathError(UsageError):
    """A path given by the user is missing, of the wrong kind (a file for a folder), or
    cannot be written. Exit code 2, like every usage and environment error."""


class FileDecodeError(UsageError):
    """A file is not in the form it must be: not UTF-8 text, binary, empty, or not an image.

    The message names the file and the fix (for a config: save it as UTF-8)."""


class DiskFullError(LockerError):
    """The disk (or the user's quota) is full: nothing was written, or what was begun was
    rolled back. The work can be retried as it is once space is freed."""


class NotVerifiedError(LockerError):
    """Something the user asked to verify does not verify (the ledger, a proof, a bundle's
    content). The only failure that exits with code 1."""
