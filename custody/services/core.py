"""The custody service's core: the state it holds and how a command writes one entry.

:class:`ServiceCore` owns the lock, the projection and the rules engine, and the bookkeeping
every command shares: fold in what others appended, append and fold one entry, record and
send a notice once (the complainant's progress notices too), and look up a case or an item
by its id or label.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from custody.domain.errors import InvalidInputError, UnknownCaseError, UnknownItemError
from custody.domain.people import Directory
from custody.labels import parse_label
from custody.ports import Clock, Notice, Notifier, SystemClock
from custody.projection import NOTICE_SENT, CaseView, ItemView, Projection
from custody.rules.catalogue import Catalogue, load_catalogue
from custody.rules.deadlines import ReturnCalendar
from custody.rules.engine import RulesEngine
from custody.rules.leaving import LeaveCatalogue, load_leaving
from custody.services.notices import SYSTEM_ACTOR, notice_body, progress_notice
from custody.settings import RulesSettings
from custody.sink import EntrySink

# The name the service logged under before it was split into files: log settings that
# filter on it keep working.
log = logging.getLogger("custody.services.custody")


class ServiceCore:
    """The lock, the projection, the rules engine, and the append/fold/emit bookkeeping."""

    def __init__(
        self,
        sink: EntrySink,
        directory: Directory,
        settings: RulesSettings | None = None,
        *,
        notifier: Notifier,
        clock: Clock | None = None,
        catalogue: Catalogue | None = None,
        leaving: LeaveCatalogue | None = None,
    ) -> None:
        self.settings = (settings or RulesSettings()).check()
        self.directory = directory
        self.lock = threading.RLock()
        #: keys of notices recorded in the ledger whose Notifier call failed
        self.undelivered: list[str] = []
        self._sink = sink
        self._notifier = notifier
        self._clock = clock or SystemClock()
        self._calendar = ReturnCalendar(self.settings)
        self._zone = self.settings.zone
        self.catalogue = catalogue if catalogue is not None else load_catalogue(
            self.settings.catalogue
        )
        self.leaving = leaving if leaving is not None else load_leaving(self.settings.leaving)
        self.engine = RulesEngine(self.settings, self.catalogue, self.leaving.point())
        self.projection = Projection.rebuild(sink.entries())
        self.engine.rebuild(self.projection)

    def catch_up(self) -> None:
        """Fold in entries other writers appended to the ledger since the last command (a
        reader that wants them in the projection calls this, then reads under the lock)."""
        with self.lock:
            self._sync()

    def _sync(self) -> None:
        """Fold in entries others appended since we last looked (other kinds, other writers)."""
        if self._sink.size > self.projection.size:
            for entry in self._sink.entries(self.projection.size):
                self._fold(entry.body)

    def _fold(self, body: Mapping[str, Any]) -> None:
        for label in self.projection.apply(body):
            self.engine.refresh(self.projection.items[label])

    def _append(self, kind: str, body: Mapping[str, Any], actor: str) -> Mapping[str, Any]:
        entry = self._sink.append(kind, body, actor=actor)
        if entry.seq == self.projection.size:
            self._fold(entry.body)
        else:  # someone else appended in between: fold theirs first, in order
            self._sync()
        return entry.body

    def _emit(self, notice: Notice) -> bool:
        """Record and send one notice, unless its key was already sent.

        The command that caused the notice has already happened (its entry is written), so
        a Notifier failure does not undo it or hide it behind an exception: the failure is
        logged and the key kept in :attr:`undelivered`, for the daemon to re-deliver from
        the ledger (:func:`custody.services.notice_from_body`).
        """
        if notice.key in self.projection.notices:
            return False
        self._append(NOTICE_SENT, notice_body(notice), SYSTEM_ACTOR)
        try:
            self._notifier.send(notice)
        except Exception as exc:  # any delivery failure: the record stands, delivery retried
            log.warning("notice %s to %s recorded but not delivered: %s",
                        notice.key, notice.person, exc)
            self.undelivered.append(notice.key)
        return True

    def _tell_complainant(self, case: CaseView, stage: str, key: str, detail: str) -> None:
        """Send the case's complainant, if it has one, a progress notice (``stage``)."""
        if case.complainant is not None:
            self._emit(progress_notice(case, case.complainant, stage, key, detail))

    def _now(self) -> datetime:
        now = self._clock.now()
        if now.tzinfo is None:
            raise InvalidInputError("the clock returned a time without a time zone")
        return now

    def _item(self, label: str) -> ItemView:
        text = parse_label(label).text
        item = self.projection.items.get(text)
        if item is None:
            raise UnknownItemError(f"no item with label {text} has been registered")
        return item

    def _case(self, case_id: str) -> CaseView:
        case = self.projection.cases.get(case_id)
        if case is None:
            raise UnknownCaseError(f"no case {case_id!r} has been registered")
        return case
