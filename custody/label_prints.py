"""Printed labels in the ledger: the ``label.printed`` entry and which items have a label.

Every label the station prints is recorded (``label.printed``: ``item``, ``case``,
``reason`` = registration, handover or reprint, ``printer``, ``language``, ``copies``), so a
reprint is visible in the item's chain of custody. The projection keeps which items have had
a label printed (``Projection.labels_printed``), so a handover prints labels only for the
items that have none yet.
"""

from __future__ import annotations

LABEL_PRINTED = "label.printed"
REASONS = ("registration", "handover", "reprint")
