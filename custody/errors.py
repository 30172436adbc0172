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
