"""What can go wrong at a label printer: each says what to do, and the label can be printed
again once it is put right."""

from __future__ import annotations

from custody.errors import LockerError, UsageError


class PrinterError(LockerError):
    """Root of the label printer's failures."""


class PrinterOfflineError(PrinterError):
    """The printer does not answer (switched off, unplugged, wrong address)."""


class PaperOutError(PrinterError):
    """The printer is out of labels (or ribbon): load them and print again."""


class JobRefusedError(PrinterError):
    """The printer took the job but did not print it (paused, head open, an error)."""


class PrinterSetupError(UsageError):
    """The printer's address or language is not one this adapter knows."""
