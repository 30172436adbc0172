"""Driving the simulated cabinets by hand: a person's commands, as text.

``locker sim --console`` reads them from stdin and ``locker sim --control HOST:PORT`` takes
them from a small web page, so that a person can play the part of whoever stands at the
cabinets while the station's kiosk or console (``locker terminal``) drives them::

    open A 3      pull the door of compartment A/3 open (its lock must be released)
    close A 3     shut it (the latch catches)
    put A 3       put an item into the open compartment
    take A 3      take the item out
    force A 3     pry a locked door open (a tamper: the station raises an alarm)
    status [A]    doors, locks, items and guide LEDs
    help

A cabinet is named by letter (``A`` is Modbus unit 1, ``B`` unit 2, ... as ``locker demo``
names them) or by unit number; compartments count from 0, as the station names them
(``A/0``, ``A/1``, ...). ``A/3`` is accepted for ``A 3``. What the station does to the
cabinets (a lock released, a guide LED lit or put out) is reported by :meth:`HandControl.changes`
so the person knows which door to open.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

from custody.errors import LockerError
from hw_sim.cabinet_world import World, WorldError

HELP = """\
commands (a cabinet is a letter, A = unit 1, or a unit number; compartments from 0):
  open A 3     pull the door of A/3 open (only while the station has its lock released)
  close A 3    shut the door of A/3
  put A 3      put an item into open compartment A/3
  take A 3     take the item out of open compartment A/3
  force A 3    pry the locked door of A/3 open (a tamper)
  status [A]   doors, locks, items and guide LEDs
  help         this text"""


class CommandError(LockerError):
    """A hand command that cannot be understood or carried out (the message says why)."""


@dataclass(frozen=True)
class Slot:
    """What a person sees of one compartment."""

    name: str  # "A/3"
    door_closed: bool
    locked: bool
    occupied: bool
    led: bool

    def describe(self) -> str:
        door = "closed" if self.door_closed else "OPEN"
        lock = "locked" if self.locked else "RELEASED"
        item = "item" if self.occupied else "empty"
        led = ", LED on" if self.led else ""
        return f"{self.name}: door {door}, {lock}, {item}{led}"


class HandControl:
    """Runs a person's text commands on a simulated :class:`~hw_sim.cabinet_world.World`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._seen: dict[str, tuple[bool, bool]] = {}  # name -> (locked, led) last reported
        self.changes()  # the starting state is not news

    # ------------------------------------------------------------------ names

    def cabinet_name(self, unit: int) -> str:
        """``A`` for unit 1, ..., else the unit number."""
        return string.ascii_uppercase[unit - 1] if 1 <= unit <= 26 else str(unit)

    def unit_of(self, name: str) -> int:
        """The unit a cabinet name stands for; :class:`CommandError` if none."""
        text = name.strip().upper()
        unit = int(text) if text.isdigit() else string.ascii_uppercase.find(text) + 1
        if (len(text) != 1 and not text.isdigit()) or unit not in self.world.cabinets:
            last = self.cabinet_name(len(self.world.cabinets))
            raise CommandError(f"no cabinet {name!r} (A..{last}, or unit 1..)")
        return unit

    def slots(self, unit: int | None = None) -> list[Slot]:
        """Every compartment (of one cabinet, or of all), as a person sees it."""
        out = []
        for u, cab in self.world.cabinets.items():
            if unit is not None and u != unit:
                continue
            for c in cab.compartments:
                out.append(Slot(f"{self.cabinet_name(u)}/{c.index}", c.door_closed,
                                cab.lock_engaged(c.index), c.occupied, c.led))
        return out

    # ------------------------------------------------------------------ commands

    def run(self, line: str) -> str:
        """Carry out one command line; returns what to show. Raises :class:`CommandError`."""
        words = line.replace("/", " ").split()
        if not words:
            return ""
        verb, args = words[0].lower(), words[1:]
        if verb in ("help", "?"):
            return HELP
        if verb == "status":
            if len(args) > 1:
                raise CommandError("status takes at most a cabinet: status [A]")
            unit = self.unit_of(args[0]) if args else None
            return "\n".join(s.describe() for s in self.slots(unit))
        actions: dict[str, Callable[[int, int], None]] = {
            "open": self.world.open_door,
            "close": self.world.close_door,
            "shut": self.world.close_door,
            "put": self.world.put_item,
            "take": self.world.take_item,
            "force": self.world.force_door,
        }
        action = actions.get(verb)
        if action is None:
            raise CommandError(f"unknown command {verb!r} (try: help)")
        if len(args) != 2 or not args[1].isdigit():
            raise CommandError(f"{verb} needs a cabinet and a compartment, e.g. {verb} A 3")
        unit, index = self.unit_of(args[0]), int(args[1])
        name = f"{self.cabinet_name(unit)}/{index}"
        try:
            cab = self.world.cabinet(unit)
            cab.comp(index)
            if verb == "open" and cab.comp(index).door_closed and cab.lock_engaged(index):
                raise CommandError(
                    f"{name}: the door is locked (wait until the station releases it; "
                    f"'force {self.cabinet_name(unit)} {index}' pries it open)"
                )
            action(unit, index)
        except WorldError as exc:
            raise CommandError(f"{name}: {_person_words(exc)}") from None
        return self.slots(unit)[index].describe()

    def changes(self) -> list[str]:
        """What the station did to the cabinets since the last call: locks released or
        engaged again, guide LEDs lit or put out (one line each)."""
        out = []
        for slot in self.slots():
            now = (slot.locked, slot.led)
            before = self._seen.get(slot.name)
            self._seen[slot.name] = now
            if before is None or before == now:
                continue
            if before[0] != slot.locked:
                out.append(f"{slot.name}: lock {'engaged' if slot.locked else 'RELEASED'}")
            if before[1] != slot.led:
                out.append(f"{slot.name}: LED {'on' if slot.led else 'off'}")
        return out


def _person_words(exc: WorldError) -> str:
    # the world's message starts with "cabinet U compartment I: "; the caller names it A/I
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text
