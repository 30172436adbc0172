"""The custody services: every command validates, then appends one ledger entry.

A command refuses bad input and illegal transitions with a
:class:`~custody.domain.errors.CustodyError` (or :class:`~custody.labels.LabelError`) *before*
anything is written, so a refused command leaves the ledger unchanged. After the append, the
entry is folded into :attr:`CustodyService.projection` (exactly as a rebuild would fold it)
and the rules engine refreshes the items it touched. Notices follow their command as their
own ``notice.sent`` entries.

Commands are serialised by :attr:`CustodyService.lock` (a re-entrant lock): readers in other
threads (the API) should hold it while they walk the projection.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from custody.domain.errors import (
    AlreadyAcknowledgedError,
    CompartmentInUseError,
    DiscrepancyReasonRequiredError,
    DuplicateCaseError,
    InvalidInputError,
    NothingToHandOverError,
    NotOnCaseError,
    NotRecipientError,
    UnknownCaseError,
    UnknownItemError,
    UnknownNoticeError,
)
from custody.domain.people import Complainant, Directory, Role
from custody.domain.states import Action, DisposalKind, ItemState
from custody.domain.values import (
    ItemSpec,
    check_compartment,
    check_photos,
    check_text,
    millis,
    utc_text,
)
from custody.labels import parse_label
from custody.ports import Clock, Notice, Notifier, PhotoRef, SystemClock
from custody.projection import (
    CASE_HANDED_OVER,
    CASE_ITEMS_ADDED,
    CASE_REGISTERED,
    ITEM_CHECKED_OUT,
    ITEM_DISPOSED,
    ITEM_RETURNED,
    ITEM_STORED,
    NOTICE_ACKNOWLEDGED,
    NOTICE_SENT,
    CaseView,
    ItemView,
    NoticeRecord,
    Projection,
    ReconciliationRecord,
)
from custody.rules.catalogue import Catalogue, load_catalogue
from custody.rules.deadlines import ReturnCalendar
from custody.rules.engine import Matter, RulesEngine
from custody.services.checks import item_rows, refuse_transition, signed_checklist
from custody.services.notices import (
    SYSTEM_ACTOR,
    discrepancy_notice,
    ladder_notice,
    notice_body,
    progress_notice,
    reconciliation_notice,
)
from custody.services.reconcile import reconciliation_body
from custody.settings import RulesSettings
from custody.sink import EntrySink

log = logging.getLogger(__name__)
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,63}$")


@dataclass(frozen=True)
class HandoverResult:
    """What a handover did: the items taken over, and the discrepancies listed."""

    seq: int
    items: tuple[str, ...]
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        """True when the supervisor was told about missing or extra items."""
        return bool(self.missing or self.extra)


class CustodyService:
    """Registration, handover, storage, check-out, return, disposal, notices and rules."""

    def __init__(
        self,
        sink: EntrySink,
        directory: Directory,
        settings: RulesSettings | None = None,
        *,
        notifier: Notifier,
        clock: Clock | None = None,
        catalogue: Catalogue | None = None,
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
        self.engine = RulesEngine(self.settings, self.catalogue)
        self.projection = Projection.rebuild(sink.entries())
        self.engine.rebuild(self.projection)

    # ------------------------------------------------------------------ plumbing

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

    # ------------------------------------------------------------------ registration

    def register_case(
        self,
        case_id: str,
        *,
        title: str,
        officer: str,
        items: Sequence[ItemSpec],
        complainant: Complainant | None = None,
        officers: Iterable[str] = (),
    ) -> CaseView:
        """Register a case and its manifest. ``officer`` leads; ``officers`` also work it.

        The complainant (if any) is told the case was received.
        """
        with self.lock:
            self._sync()
            if not isinstance(case_id, str) or not _CASE_ID.match(case_id):
                raise InvalidInputError(
                    f"case id {case_id!r} must be 1-64 letters, digits, '_', '.', '/', '-'"
                )
            if case_id in self.projection.cases:
                raise DuplicateCaseError(f"case {case_id!r} is already registered")
            self.directory.require(officer, Role.OFFICER)
            team = [officer]
            for other in officers:
                self.directory.require(other, Role.OFFICER)
                if other not in team:
                    team.append(other)
            rows = item_rows(items, team, officer, projection=self.projection,
                             directory=self.directory, settings=self.settings,
                             now=self._now())
            body: dict[str, Any] = {
                "case": case_id,
                "title": check_text(title, "case title"),
                "officer": officer,
                "officers": team,
                "complainant": None,
                "items": rows,
            }
            if complainant is not None:
                body["complainant"] = {
                    "name": check_text(complainant.name, "complainant name"),
                    "contact": check_text(complainant.contact, "complainant contact"),
                }
            self._append(CASE_REGISTERED, body, officer)
            case = self.projection.cases[case_id]
            if case.complainant is not None:
                self._emit(
                    progress_notice(
                        case, case.complainant, "received", f"progress:{case_id}:received",
                        f"registered with {len(rows)} item(s); officer {officer} is in charge.",
                    )
                )
            return case

    def add_items(self, case_id: str, items: Sequence[ItemSpec], *, officer: str) -> CaseView:
        """Add items to a registered case's manifest (an officer on the case does it)."""
        with self.lock:
            self._sync()
            case = self._case(case_id)
            self.directory.require(officer, Role.OFFICER)
            if officer not in case.officers:
                raise NotOnCaseError(f"officer {officer!r} is not on case {case_id!r}")
            rows = item_rows(items, case.officers, officer, projection=self.projection,
                             directory=self.directory, settings=self.settings,
                             now=self._now())
            self._append(CASE_ITEMS_ADDED, {"case": case_id, "items": rows}, officer)
            return case

    # ------------------------------------------------------------------ handover

    def handover(
        self,
        case_id: str,
        *,
        clerk: str,
        scanned: Sequence[str],
        checklist: Mapping[str, bool],
        photos: Sequence[PhotoRef],
        reason: str = "",
    ) -> HandoverResult:
        """The clerk takes over a case's items: scanned labels against the manifest.

        Items of the case awaiting handover that were not scanned are *missing* (they stay
        registered and their deadline keeps running); scanned labels that are not awaiting
        handover in this case are *extra*. Either needs the clerk's written ``reason`` and
        is flagged to the case officer's supervisor. Scanning an item of the case that was
        already handed over is refused.
        """
        with self.lock:
            self._sync()
            case = self._case(case_id)
            self.directory.require(clerk, Role.CLERK)
            photo_json = check_photos(photos, "a handover")
            signed = signed_checklist(checklist, self.settings.lawfulness_checklist)
            matched: set[str] = set()
            extra: set[str] = set()
            for raw in scanned:
                text = parse_label(raw).text
                item = self.projection.items.get(text)
                if item is None or item.case_id != case_id:
                    extra.add(text)
                    continue
                refuse_transition(item, Action.HANDOVER)
                matched.add(text)
            pending = {
                label for label in case.items
                if self.projection.items[label].state is ItemState.REGISTERED
            }
            missing = pending - matched
            if not matched:
                raise NothingToHandOverError(
                    f"none of the scanned labels is an item of case {case_id!r} awaiting"
                    " handover"
                )
            why = check_text(reason, "reason", allow_empty=True)
            if (missing or extra) and not why:
                raise DiscrepancyReasonRequiredError(
                    f"handover of case {case_id!r} has "
                    + "; ".join(
                        part for part in (
                            "missing " + ", ".join(sorted(missing)) if missing else "",
                            "extra " + ", ".join(sorted(extra)) if extra else "",
                        ) if part
                    )
                    + ": the clerk must write the reason"
                )
            items_t, missing_t, extra_t = (
                tuple(sorted(matched)), tuple(sorted(missing)), tuple(sorted(extra))
            )
            body = {
                "case": case_id,
                "clerk": clerk,
                "items": list(items_t),
                "missing": list(missing_t),
                "extra": list(extra_t),
                "checklist": signed,
                "reason": why,
                "photos": photo_json,
            }
            seq = int(self._append(CASE_HANDED_OVER, body, clerk)["seq"])
            result = HandoverResult(seq, items_t, missing_t, extra_t)
            if result.flagged:
                boss = self.directory.supervisor_of(case.officer)
                if boss is not None:
                    self._emit(discrepancy_notice(case, boss.id, seq, result.missing,
                                                  result.extra, clerk, why))
            if case.complainant is not None:
                self._emit(
                    progress_notice(
                        case, case.complainant, "handed_over",
                        f"progress:{case_id}:handed_over:{seq}",
                        f"{len(result.items)} item(s) were handed over to the evidence centre.",
                    )
                )
            return result

    # ------------------------------------------------------------------ storage and daily use

    def store(
        self, label: str, *, compartment: str, photos: Sequence[PhotoRef], clerk: str
    ) -> ItemView:
        """Lock a handed-over or returned item in a compartment (``cabinet/n``)."""
        with self.lock:
            self._sync()
            item = self._item(label)
            self.directory.require(clerk, Role.CLERK)
            where = check_compartment(compartment)
            photo_json = check_photos(photos, "storing an item")
            refuse_transition(item, Action.STORE)
            held = self.projection.compartments.get(where, set())
            others = {self.projection.items[o].case_id for o in held} - {item.case_id}
            if others:
                raise CompartmentInUseError(
                    f"compartment {where} holds items of case(s) {', '.join(sorted(others))};"
                    " cases are never mixed in one compartment"
                )
            body = {"item": item.label, "case": item.case_id, "compartment": where,
                    "photos": photo_json}
            self._append(ITEM_STORED, body, clerk)
            return self.projection.items[item.label]

    def check_out(
        self, label: str, *, officer: str, photos: Sequence[PhotoRef], actor: str | None = None
    ) -> ItemView:
        """Check a stored item out to an officer on its case, due back at the return time."""
        with self.lock:
            self._sync()
            item = self._item(label)
            self.directory.require(officer, Role.OFFICER)
            who = actor or officer
            self.directory.require(who, Role.OFFICER, Role.CLERK)
            case = self._case(item.case_id)
            if officer not in case.officers:
                raise NotOnCaseError(
                    f"officer {officer!r} is not on case {case.case_id!r}, so cannot check out"
                    f" {item.label}"
                )
            photo_json = check_photos(photos, "a check-out")
            refuse_transition(item, Action.CHECK_OUT)
            due = self._calendar.due_back(self._now())
            body = {"item": item.label, "case": item.case_id, "officer": officer,
                    "due": utc_text(due), "photos": photo_json}
            self._append(ITEM_CHECKED_OUT, body, who)
            return self.projection.items[item.label]

    def return_item(self, label: str, *, photos: Sequence[PhotoRef], actor: str) -> ItemView:
        """Take back a checked-out item (it then awaits storage); records whether it was late."""
        with self.lock:
            self._sync()
            item = self._item(label)
            self.directory.require(actor, Role.OFFICER, Role.CLERK)
            photo_json = check_photos(photos, "a return")
            refuse_transition(item, Action.RETURN)
            assert item.due_back is not None and item.holder is not None
            body = {"item": item.label, "case": item.case_id, "officer": item.holder,
                    "due": utc_text(item.due_back), "late": self._now() > item.due_back,
                    "photos": photo_json}
            self._append(ITEM_RETURNED, body, actor)
            return self.projection.items[item.label]

    def dispose(
        self,
        label: str,
        *,
        disposal: DisposalKind | str,
        approved_by: str,
        actor: str,
        reference: str = "",
        photos: Sequence[PhotoRef] = (),
    ) -> ItemView:
        """End an item's custody (to its owner, the prosecutor, the court, or destroyed).

        A supervisor approves; the complainant is told.
        """
        with self.lock:
            self._sync()
            item = self._item(label)
            try:
                how = DisposalKind(disposal)
            except ValueError:
                raise InvalidInputError(
                    f"disposal {disposal!r} is not one of "
                    + ", ".join(k.value for k in DisposalKind)
                ) from None
            self.directory.require(approved_by, Role.SUPERVISOR)
            self.directory.require(actor, Role.CLERK, Role.SUPERVISOR)
            photo_json = check_photos(photos, "a disposal", required=False)
            refuse_transition(item, Action.DISPOSE)
            body = {"item": item.label, "case": item.case_id, "disposal": how.value,
                    "approved_by": approved_by,
                    "reference": check_text(reference, "reference", allow_empty=True),
                    "photos": photo_json}
            self._append(ITEM_DISPOSED, body, actor)
            case = self._case(item.case_id)
            if case.complainant is not None:
                self._emit(
                    progress_notice(
                        case, case.complainant, "disposed",
                        f"progress:{case.case_id}:disposed:{item.label}",
                        f"item {item.label} ({item.description}): {how.value.replace('_', ' ')}.",
                    )
                )
            return self.projection.items[item.label]

    # ------------------------------------------------------------------ notices and rules

    def acknowledge(self, key: str, *, person: str) -> NoticeRecord:
        """Record that the person a notice went to has acknowledged it."""
        with self.lock:
            self._sync()
            notice = self.projection.notices.get(key)
            if notice is None:
                raise UnknownNoticeError(f"no notice with key {key!r} has been sent")
            if person != notice.person:
                raise NotRecipientError(
                    f"notice {key!r} went to {notice.person!r}; {person!r} cannot acknowledge it"
                )
            if notice.acknowledged_seq is not None:
                raise AlreadyAcknowledgedError(
                    f"notice {key!r} was already acknowledged (entry {notice.acknowledged_seq})"
                )
            self._append(NOTICE_ACKNOWLEDGED, {"key": key, "person": person}, person)
            return self.projection.notices[key]

    def _recipients(self, role: str, item: ItemView) -> list[str]:
        case = self.projection.cases[item.case_id]
        if item.state is ItemState.CHECKED_OUT and item.holder is not None:
            officer = item.holder
        elif item.state is ItemState.REGISTERED:
            officer = item.seizing_officer
        else:
            officer = case.officer
        if role == "officer":
            return [officer] if officer in self.directory else []
        if role == "supervisor":
            boss = self.directory.supervisor_of(officer)
            return [boss.id] if boss is not None else []
        if role == "legal":
            return [p.id for p in self.directory.with_role(Role.LEGAL)]
        if item.clerk is not None and item.clerk in self.directory:
            return [item.clerk]
        return [p.id for p in self.directory.with_role(Role.CLERK)]

    def tick(self, now: datetime | None = None) -> list[Notice]:
        """Send every ladder step that is due at ``now`` and not sent yet; returns them.

        Steps that fell due while the daemon was down all go out at the next tick, in
        ladder order; a step whose notices are already in the ledger is not sent again.
        """
        with self.lock:
            self._sync()
            moment = now or self._now()
            now_ms = millis(moment)
            sent: list[Notice] = []
            for matter in self.engine.due(now_ms):
                self._climb(matter, now_ms, sent)
            return sent

    def _climb(self, matter: Matter, now_ms: int, sent: list[Notice]) -> None:
        item = self.projection.items[matter.label]
        while matter.next_due_ms <= now_ms:
            step = matter.next_step
            role = matter.point.ladder[step].role
            for person in self._recipients(role, item):
                notice = ladder_notice(matter, step, role, person, item, self._zone)
                if self._emit(notice):
                    sent.append(notice)
            matter.advance()

    def reconcile(
        self, now: datetime | None = None, occupancy: Mapping[str, bool] | None = None
    ) -> ReconciliationRecord:
        """The daily reconciliation, recorded as a ``reconciliation`` entry.

        Lists files checked out and not back by their deadline, items registered and not
        handed over, and (when ``occupancy`` maps compartments ``cabinet/n`` to the sensor's
        reading) stored items whose compartment reads empty. When anything is listed, every
        supervisor is told (once per day: key ``reconciliation:<day>:<person>``).
        """
        with self.lock:
            self._sync()
            moment = now or self._now()
            body = reconciliation_body(self.projection, moment, self._zone, occupancy)
            self._append("reconciliation", body, SYSTEM_ACTOR)
            record = self.projection.reconciliations[-1]
            if not record.clean:
                for boss in self.directory.with_role(Role.SUPERVISOR):
                    self._emit(reconciliation_notice(record, boss.id))
            return record
