"""Printed labels in the ledger: the ``label.printed`` entry and which items have a label.

Every label the station prints is recorded (``label.printed``: ``item``, ``case``,
``reason`` = registration, handover or reprint, ``printer``, ``language``, ``copies``), so a
reprint is visible in the item's chain of custody. :func:`labelled` tells which items have
had a label printed, so a handover prints labels only for the items that have none yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

LABEL_PRINTED = "label.printed"
REASONS = ("registration", "handover", "reprint")


def labelled(entries: Iterable[Mapping[str, Any]]) -> set[str]:
    """The labels of items with at least one ``label.printed`` entry (decoded entries)."""
    return {str(b["item"]) for b in entries if b.get("kind") == LABEL_PRINTED}
