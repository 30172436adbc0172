"""Custody services: the only code that appends custody entries to the ledger."""

from __future__ import annotations

from custody.services.custody import CustodyService, HandoverResult
from custody.services.notices import notice_from_body

__all__ = ["CustodyService", "HandoverResult", "notice_from_body"]
