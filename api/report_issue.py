"""Recording an issued report in the ledger (``report.issued``).

The read API never writes custody entries; issuing a PDF report is the one thing it
records, and it does so through a :class:`ReportRecorder` it is handed: the daemon hands it
its own ledger writer (``lockerd``), ``locker api`` on its own a :class:`LedgerFileRecorder`,
which opens the station's ledger for the one append. A report whose issue cannot be
recorded is not issued: the request fails with 503 and says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from api.errors import ApiError
from api.reports import REPORT_ISSUED
from custody.ledger import Ledger
from custody.ledger.errors import LedgerLockedError, StationNotFoundError
from custody.ports import Clock


class ReportNotRecordedError(ApiError):
    """The ledger cannot record the report's issue, so the report is not issued (503)."""


class ReportRecorder(Protocol):
    """Appends the ``report.issued`` entry; returns its seq."""

    async def record(self, body: Mapping[str, Any], actor: str) -> int:
        """Record one issued report (fields of :meth:`api.report_pdf.IssuedReport.entry_body`)."""
        ...


def append_report_issued(ledger: Ledger, body: Mapping[str, Any], actor: str) -> int:
    """Append the entry with an open ledger writer (the CLI and the recorders use this)."""
    return ledger.append(REPORT_ISSUED, body, actor=actor).seq


class LedgerFileRecorder:
    """Opens the station's ledger as its writer for each issued report (``locker api``)."""

    def __init__(self, data_dir: Path, clock: Clock | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.clock = clock

    def record_sync(self, body: Mapping[str, Any], actor: str) -> int:
        try:
            ledger = Ledger.open(self.data_dir, clock=self.clock)
        except LedgerLockedError:
            raise ReportNotRecordedError(
                "another process (the station daemon) is writing this ledger: ask the "
                "daemon's API for the report, so that its issue is recorded"
            ) from None
        except StationNotFoundError as exc:
            raise ReportNotRecordedError(
                f"this copy of the station cannot record an issued report: {exc}"
            ) from None
        with ledger:
            return append_report_issued(ledger, body, actor)

    async def record(self, body: Mapping[str, Any], actor: str) -> int:
        return await asyncio.to_thread(self.record_sync, body, actor)
