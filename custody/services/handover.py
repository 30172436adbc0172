"""The handover check: the clerk's scanned labels against the case's manifest.

Items awaiting handover that were not scanned are *missing*; scanned labels that are not
awaiting handover in the case are *extra*. Either needs the clerk's written reason and is
flagged to the case officer's supervisor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from custody.domain.errors import DiscrepancyReasonRequiredError, NothingToHandOverError
from custody.domain.people import Role
from custody.domain.states import Action, ItemState
from custody.domain.values import check_photos, check_text
from custody.labels import parse_label
from custody.ports import PhotoRef
from custody.projection import CASE_HANDED_OVER
from custody.services.checks import refuse_transition, signed_checklist
from custody.services.core import ServiceCore
from custody.services.notices import discrepancy_notice


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


class Handover(ServiceCore):
    """The handover command: officer to evidence centre, checked item by item."""

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
            self._tell_complainant(
                case, "handed_over", f"progress:{case_id}:handed_over:{seq}",
                f"{len(result.items)} item(s) were handed over to the evidence centre.",
            )
            return result
