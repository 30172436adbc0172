"""Who is at the terminal: sign-in with badge and PIN, lockout, idle lock, sessions.

A person signs in with the barcode on their badge (scanned by the terminal's keyboard-wedge
scanner, or typed) and their PIN. After ``pin_max_attempts`` wrong PINs in a row the badge
is locked for ``pin_lockout_s`` seconds: even the right PIN is refused meanwhile. A session
ends when the person signs out or after ``idle_lock_s`` seconds without an action (status
polls by the page do not count as actions, so an unattended screen locks itself).

Every action the terminal takes is attributed to the session's person (``actor`` in the
ledger). Time comes from the injectable clock, so tests move it instead of waiting.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from custody.domain.roles import TERMINAL_ROLES
from custody.errors import LockerError
from custody.ports import Clock
from custody.settings import TerminalSettings as TerminalSettings  # [terminal]

log = logging.getLogger("terminal.sessions")

class SignInError(LockerError):
    """Sign-in refused. ``key`` and ``params`` name the translated message to show."""

    key = "signin.failed"

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.params = params


class UnknownBadgeError(SignInError):
    """No person carries this badge."""

    key = "signin.unknown_badge"


class WrongPinError(SignInError):
    """The PIN does not match; ``params['left']`` tries remain before the lockout."""

    key = "signin.wrong_pin"


class LockedOutError(SignInError):
    """Too many wrong PINs: the badge is locked until ``params['until']``."""

    key = "signin.locked"


class NotAllowedHereError(SignInError):
    """The person's role has nothing to do at the terminal (e.g. an auditor)."""

    key = "signin.role_not_allowed"


class SessionExpiredError(LockerError):
    """The session ended (idle lock, sign-out, or an unknown token): sign in again."""


@dataclass(frozen=True)
class BadgeHolder:
    """A person who may sign in: id, name, role, badge text and PIN hash."""

    id: str
    name: str
    role: str
    badge: str
    pin_hash: str


@dataclass
class Session:
    """One signed-in person at the terminal."""

    token: str
    person: BadgeHolder
    started: datetime
    last_action: datetime
    language: str


@dataclass
class _Tries:
    wrong: int = 0
    locked_until: datetime | None = None


@dataclass
class Sessions:
    """The badge list, the PIN check and the live sessions of one terminal app."""

    people: Iterable[BadgeHolder]
    clock: Clock
    settings: TerminalSettings
    check_pin: Callable[[str, str], bool]
    #: told when a badge gets locked (person, wrong tries): the station records it
    on_lockout: Callable[[BadgeHolder, int], None] | None = None
    #: told when a session ends (idle lock or sign-out): the person's step is abandoned
    on_end: Callable[[BadgeHolder], None] | None = None
    _by_badge: dict[str, BadgeHolder] = field(init=False)
    _sessions: dict[str, Session] = field(init=False, default_factory=dict)
    _tries: dict[str, _Tries] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._by_badge = {
            p.badge.strip().upper(): p for p in self.people if p.badge.strip() and p.pin_hash
        }

    def holder(self, badge: str) -> BadgeHolder:
        """The person carrying ``badge``; :class:`UnknownBadgeError` if nobody does."""
        person = self._by_badge.get(badge.strip().upper())
        if person is None:
            raise UnknownBadgeError(f"no one carries badge {badge.strip()!r}")
        if person.role not in TERMINAL_ROLES:
            raise NotAllowedHereError(
                f"{person.id} is a {person.role}: nothing to do at the terminal",
                role=person.role,
            )
        return person

    def check_badge(self, badge: str) -> BadgeHolder:
        """The badge's holder, refused while the badge is locked out."""
        person = self.holder(badge)
        self._refuse_if_locked(person)
        return person

    def _refuse_if_locked(self, person: BadgeHolder) -> None:
        tries = self._tries.get(person.id)
        now = self.clock.now()
        if tries is not None and tries.locked_until is not None:
            if now < tries.locked_until:
                left = tries.locked_until - now
                minutes = max(1, -(-int(left.total_seconds()) // 60))
                raise LockedOutError(
                    f"badge of {person.id} locked after {self.settings.pin_max_attempts} "
                    f"wrong PINs; try again in {minutes} min",
                    minutes=minutes,
                )
            self._tries.pop(person.id, None)

    def sign_in(self, badge: str, pin: str, language: str) -> Session:
        """Check badge and PIN and open a session; raises a :class:`SignInError`."""
        person = self.check_badge(badge)
        if not self.check_pin(pin, person.pin_hash):
            tries = self._tries.setdefault(person.id, _Tries())
            tries.wrong += 1
            left = self.settings.pin_max_attempts - tries.wrong
            log.warning("wrong PIN for badge of %s (%d in a row)", person.id, tries.wrong)
            if left <= 0:
                tries.locked_until = self.clock.now() + timedelta(
                    seconds=self.settings.pin_lockout_s
                )
                minutes = max(1, -(-self.settings.pin_lockout_s // 60))
                if self.on_lockout is not None:
                    self.on_lockout(person, tries.wrong)
                raise LockedOutError(
                    f"wrong PIN {tries.wrong} times: badge of {person.id} locked for "
                    f"{minutes} min",
                    minutes=minutes,
                )
            raise WrongPinError(f"wrong PIN ({left} tries left)", left=left)
        self._tries.pop(person.id, None)
        now = self.clock.now()
        session = Session(secrets.token_urlsafe(24), person, now, now, language)
        self._sessions[session.token] = session
        log.info("%s (%s) signed in", person.id, person.role)
        return session

    def get(self, token: str | None, *, touch: bool = False) -> Session:
        """The live session for a cookie token; idle or unknown: :class:`SessionExpiredError`.

        ``touch`` marks an action by the person (it restarts the idle time).
        """
        session = self._sessions.get(token or "")
        if session is None:
            raise SessionExpiredError("not signed in")
        now = self.clock.now()
        if now - session.last_action >= timedelta(seconds=self.settings.idle_lock_s):
            self._sessions.pop(session.token, None)
            log.info("%s's session locked after %d s idle", session.person.id,
                     self.settings.idle_lock_s)
            if self.on_end is not None:
                self.on_end(session.person)
            raise SessionExpiredError("the screen locked itself after a while without use")
        if touch:
            session.last_action = now
        return session

    def peek(self, token: str | None) -> Session | None:
        """The live session or None (for screens that show either state)."""
        try:
            return self.get(token)
        except SessionExpiredError:
            return None

    def sign_out(self, token: str | None) -> None:
        """End the session (idempotent)."""
        session = self._sessions.pop(token or "", None)
        if session is not None:
            log.info("%s signed out", session.person.id)
            if self.on_end is not None:
                self.on_end(session.person)
