"""The custody services: every command validates, then appends one ledger entry.

A command refuses bad input and illegal transitions with a
:class:`~custody.domain.errors.CustodyError` (or :class:`~custody.labels.LabelError`) *before*
anything is written, so a refused command leaves the ledger unchanged. After the append, the
entry is folded into :attr:`CustodyService.projection` (exactly as a rebuild would fold it)
and the rules engine refreshes the items it touched. Notices follow their command as their
own ``notice.sent`` entries.

Commands are serialised by :attr:`CustodyService.lock` (a re-entrant lock): readers in other
threads (the API) should hold it while they walk the projection.

The commands live in files named for what they do, each a class over the shared
:class:`~custody.services.core.ServiceCore` (state and bookkeeping): ``registration``,
``handover``, ``movements`` (store, check out, return, dispose), ``leaving`` (leave
requests, decisions, carrying out, returns; holds), ``escalation`` (ladder
notices and acknowledgements), ``delivery`` (what became of a notice), ``reconcile`` and
``alarms`` (raise, acknowledge). This module puts them together.
"""

from __future__ import annotations

from custody.services.alarms import Alarms
from custody.services.delivery import Delivery
from custody.services.escalation import Escalation
from custody.services.handover import Handover, HandoverResult
from custody.services.leaving import Leaving
from custody.services.movements import Movements
from custody.services.reconcile import Reconciliation
from custody.services.registration import Registration

__all__ = ["CustodyService", "HandoverResult"]


class CustodyService(
    Registration, Handover, Movements, Leaving, Delivery, Escalation, Reconciliation, Alarms
):
    """Registration, handover, storage, check-out, return, disposal, leaving custody
    (requests, decisions, carrying out, holds), notices (and what became of them), rules and
    alarms."""
