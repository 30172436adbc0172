"""Registration: a case and its manifest, and items added to it later."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from custody.domain.errors import DuplicateCaseError, InvalidInputError, NotOnCaseError
from custody.domain.people import Complainant, Role
from custody.domain.values import ItemSpec, check_text
from custody.projection import CASE_ITEMS_ADDED, CASE_REGISTERED, CaseView
from custody.services.checks import item_rows
from custody.services.core import ServiceCore

_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,63}$")


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
