"""The ledger's errors: one subclass of :class:`LedgerError` per failure a caller handles."""

from __future__ import annotations

from custody.errors import ConfigError, LockerError, UsageError


class LedgerError(LockerError):
    """Root of the ledger's errors."""


class InvalidEntryError(LedgerError):
    """An entry body was refused (nothing was written)."""


class ReservedKeyError(InvalidEntryError):
    """The body uses a key the ledger sets itself (``v``, ``seq``, ``prev``, ``ts``,
    ``kind``, ``actor``)."""


class EntryTooLargeError(InvalidEntryError):
    """An entry's bytes exceed 65,535: a tlog-tiles entry bundle cannot hold it."""


class LedgerLockedError(LedgerError):
    """Another process holds the ledger's writer lock (only one process may append)."""


class LedgerReadOnlyError(LedgerError):
    """The ledger was opened read-only, or has no signing key, and was asked to write."""


class LedgerCorruptError(LedgerError):
    """The stored tree state does not match the stored entries (run ``locker audit verify``)."""


class NoSuchEntryError(LedgerError, UsageError):
    """A sequence number or tree size outside the ledger was asked for."""


class StationExistsError(LedgerError, UsageError):
    """``init`` was asked to create a station where one already exists."""


class StationNotFoundError(LedgerError, ConfigError):
    """The directory is not a station data directory (no ledger, key or config)."""


class BundleError(LedgerError):
    """An audit bundle is malformed, unsafe to unpack, or cannot be written."""


class LedgerDamagedError(LedgerCorruptError):
    """The ledger's SQLite file fails its integrity check (``PRAGMA quick_check``) or the
    store's own checks: a damaged page, a missing table, a file that is not a database.
    Nothing may write to it: verify it and restore it from the off-site copy."""


class BundleUnreadableError(BundleError):
    """An audit bundle cannot be read at all: a truncated or garbage ``.tar.gz``, or a
    directory without ``bundle.json``. Not a verdict on the ledger: ask for a new copy."""
