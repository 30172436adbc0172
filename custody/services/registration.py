"""Registration: a case and its manifest, and items added to it later."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from custody.domain.errors import DuplicateCaseError, InvalidInputError, NotOnCaseError
from custody.domain.people import Complainant, Role
from custody.domain.values import ItemSpec, ManifestLine, check_text
from custody.labels import LETTER_BY_KIND, make_label, parse_label
from custody.projection import CASE_ITEMS_ADDED, CASE_REGISTERED, CaseView
from custody.services.checks import item_rows
from custody.services.core import ServiceCore

_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,63}$")
#: the case ids the station gives (``register_new_case``): ``K2026-0001``, numbered by year
_NEW_CASE_ID = re.compile(r"^K(\d{4})-(\d{4,})$")


class Registration(ServiceCore):
    """The commands that open a case and extend its manifest."""

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
            self._tell_complainant(
                case, "received", f"progress:{case_id}:received",
                f"registered with {len(rows)} item(s); officer {officer} is in charge.",
            )
            return case

    def register_new_case(
        self,
        *,
        title: str,
        officer: str,
        lines: Sequence[ManifestLine],
        complainant: Complainant | None = None,
    ) -> CaseView:
        """Register a case the station numbers: the next case id of the year
        (``K2026-0001``) and the next free label serial of the year for each line, in
        order; then :meth:`register_case` checks and records it like any other."""
        with self.lock:
            self._sync()
            year = self._now().year
            numbers = [int(m.group(2)) for m in map(_NEW_CASE_ID.match, self.projection.cases)
                       if m is not None and int(m.group(1)) == year]
            case_id = f"K{year}-{max(numbers, default=0) + 1:04d}"
            serials = [lb.serial for lb in map(parse_label, self.projection.items)
                       if lb.year == year]
            serial = max(serials, default=0)
            specs = []
            for line in lines:
                if line.kind not in LETTER_BY_KIND:
                    raise InvalidInputError(
                        f"item kind {line.kind!r}: expected case_file or exhibit")
                serial += 1
                specs.append(ItemSpec(make_label(line.kind, year, serial).text, line.kind,
                                      line.description, line.quantity, line.seized_at,
                                      seized_from=line.seized_from, category=line.category))
            return self.register_case(case_id, title=title, officer=officer, items=specs,
                                      complainant=complainant)

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
