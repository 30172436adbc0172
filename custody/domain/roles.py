"""Roles: the one list of who can be who at a station, and which role may do what.

Every package takes its role names from here: the people list of the config
(``[[people]] role``), the custody core (who may register, hand over, be told), the kiosk
(who may sign in), the read API's tokens (``locker token create --role``) and the notices.
Values are stable: they are written into ledger entries, notices, tokens and configs.

Adding a role is one line in :class:`Role` plus its place in the sets below. A role that no
person holds (a machine's role, e.g. an off-site mirror reading the log) goes into
:class:`Role` and :data:`TOKEN_ROLES` but not into :data:`STAFF_ROLES`.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """A role at the station. Values appear in ledger entries, notices, tokens, configs."""

    OFFICER = "officer"
    CLERK = "clerk"
    SUPERVISOR = "supervisor"
    LEGAL = "legal"
    AUDITOR = "auditor"
    MIRROR = "mirror"  # an off-site mirror (`locker mirror`): reads /log/ and nothing else
    #: the station's case-management system: posts case stages to the kiosk's write
    #: endpoint (``POST /case-system/stages``) and nothing else
    CASE_SYSTEM = "case_system"


#: Roles a person in the config's ``[[people]]`` may hold.
STAFF_ROLES: tuple[Role, ...] = (
    Role.OFFICER, Role.CLERK, Role.SUPERVISOR, Role.LEGAL, Role.AUDITOR,
)

#: Roles that may sign in at the kiosk (an auditor or the legal section has nothing to do
#: at the cabinets).
TERMINAL_ROLES: tuple[Role, ...] = (Role.CLERK, Role.OFFICER, Role.SUPERVISOR)

#: Roles an escalation ladder may name (the built-in ladders and the risk-point catalogue).
LADDER_ROLES: tuple[Role, ...] = (Role.OFFICER, Role.SUPERVISOR, Role.LEGAL, Role.CLERK)

#: Roles that may hold a read-API token.
TOKEN_ROLES: tuple[Role, ...] = (
    Role.AUDITOR, Role.CLERK, Role.SUPERVISOR, Role.OFFICER, Role.LEGAL, Role.MIRROR,
    Role.CASE_SYSTEM,
)

#: Roles that may read personal contact details: a case's complainant's contact and staff
#: phone numbers (reports and anything else that shows them). Clerks handle the exhibits,
#: not the people: they see names and roles only; a mirror reads no custody state at all.
CONTACT_ROLES: tuple[Role, ...] = (Role.AUDITOR, Role.SUPERVISOR, Role.OFFICER, Role.LEGAL)

#: Who a notice may be addressed to: a ladder role, or a case's complainant (not staff,
#: so not a :class:`Role`).
COMPLAINANT = "complainant"
NOTICE_ROLES: tuple[str, ...] = (*LADDER_ROLES, COMPLAINANT)


def parse_role(text: str, allowed: tuple[Role, ...] = STAFF_ROLES) -> Role:
    """The role named ``text`` (case and blanks ignored), if it is one of ``allowed``;
    a :class:`ValueError` naming the valid ones otherwise."""
    name = text.strip().lower()
    for role in allowed:
        if role.value == name:
            return role
    raise ValueError(f"unknown role {text!r}: expected one of {', '.join(allowed)}")
