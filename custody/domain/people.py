"""People: officers, clerks, supervisors, the legal section, auditors (their roles are
:mod:`custody.domain.roles`).

The station's config lists them until a directory is wired in. Every officer has exactly
one supervisor, who must be listed with the ``supervisor`` role. Complainants are not staff:
each case carries its own complainant contact (:class:`Complainant`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from custody.domain.errors import RoleError, UnknownPersonError
from custody.domain.roles import Role
from custody.errors import ConfigError

__all__ = ["Complainant", "Directory", "Person", "Role"]


@dataclass(frozen=True)
class Person:
    """One member of staff. ``supervisor`` is the person id of an officer's supervisor."""

    id: str
    name: str
    role: Role
    supervisor: str | None = None
    contact: str = ""


@dataclass(frozen=True)
class Complainant:
    """The person who reported the matter; receives progress notices about the case."""

    name: str
    contact: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "contact": self.contact}


class Directory:
    """The people list, checked once: unique ids, known roles, every officer supervised."""

    def __init__(self, people: Iterable[Person]) -> None:
        self._by_id: dict[str, Person] = {}
        for person in people:
            if not person.id or not person.id.strip():
                raise ConfigError("a person in the people list has an empty id")
            if person.id in self._by_id:
                raise ConfigError(f"person id {person.id!r} is listed twice")
            self._by_id[person.id] = person
        for person in self._by_id.values():
            if person.role is Role.OFFICER:
                boss = self._by_id.get(person.supervisor or "")
                if boss is None or boss.role is not Role.SUPERVISOR:
                    raise ConfigError(
                        f"officer {person.id!r} needs a supervisor listed with role"
                        f" 'supervisor' (got {person.supervisor!r})"
                    )

    def __iter__(self) -> Iterator[Person]:
        return iter(self._by_id.values())

    def __contains__(self, person_id: object) -> bool:
        return person_id in self._by_id

    def get(self, person_id: str) -> Person:
        """The person, or :class:`UnknownPersonError`."""
        try:
            return self._by_id[person_id]
        except KeyError:
            raise UnknownPersonError(f"no person {person_id!r} in the station's people list")\
                from None

    def require(self, person_id: str, *roles: Role) -> Person:
        """The person, checked to hold one of ``roles``; raises :class:`RoleError` if not."""
        person = self.get(person_id)
        if person.role not in roles:
            wanted = " or ".join(r.value for r in roles)
            raise RoleError(
                f"{person_id!r} is a {person.role.value}; this step needs a {wanted}"
            )
        return person

    def supervisor_of(self, person_id: str) -> Person | None:
        """The supervisor of an officer (None for people who have none)."""
        person = self._by_id.get(person_id)
        if person is None or person.supervisor is None:
            return None
        return self._by_id.get(person.supervisor)

    def with_role(self, role: Role) -> list[Person]:
        """Everyone holding ``role``, in list order."""
        return [p for p in self._by_id.values() if p.role is role]
