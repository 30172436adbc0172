"""People at the simulated station, for the demo, the simulated kiosk, the end-to-end tests
and the benchmark: who they are (:class:`StaffRecord`, written into the station's config) and
what they do at the cabinets (:class:`CabinetActor`).

A :class:`CabinetActor` watches the simulated world (``hw_sim``) the way a person at the
cabinet watches the guide LEDs: when a compartment's LED is lit and its lock released, the
person opens the door, puts an item in (the compartment was empty) or takes it out (it held
something), and shuts the door. What the person does next can be scripted with
:meth:`CabinetActor.plan`:

- ``"normal"``: as above;
- ``"walk_away"``: ignores the lit compartment (the flow times out);
- ``"forget"``: opens and closes the door without putting anything in or taking anything out;
- ``"wrong"``: opens the door, but puts the item into another released compartment;
- ``"keep"``: opens and shuts the door, putting in or taking out one of several items, so
  the occupancy sensor reads the same before and after.

Without a plan, a ``decide(unit, compartment)`` callback (e.g. :func:`step_decider`, which
asks the step service what the step at that compartment is) chooses the mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from hw_sim.cabinet_world import World, WorldError
from lockerd.config import hash_pin
from terminal.ports import BayStep

log = logging.getLogger(__name__)

MODES = ("normal", "walk_away", "forget", "wrong", "keep")


@dataclass(frozen=True)
class StaffRecord:
    """Someone on a simulated station's staff, as its config names them: badge and PIN in
    the clear (empty for no terminal use); the config gets the PIN's hash."""

    id: str
    name: str
    role: str
    badge: str = ""
    pin: str = ""
    supervisor: str | None = None


def people_toml(people: Iterable[StaffRecord]) -> list[str]:
    """The config's ``[[people]]`` tables for ``people`` (lines, each table ending blank)."""
    lines: list[str] = []
    for p in people:
        lines += ["[[people]]", f'id = "{p.id}"', f'name = "{p.name}"', f'role = "{p.role}"']
        if p.badge:
            lines.append(f'badge = "{p.badge}"')
        if p.pin:
            lines.append(f'pin_hash = "{hash_pin(p.pin)}"')
        if p.supervisor:
            lines.append(f'supervisor = "{p.supervisor}"')
        lines.append("")
    return lines


class CabinetActor:
    """A simulated person at the cabinets: acts on lit, released compartments of a simulated
    world."""

    def __init__(self, world: World, *, step_s: float = 0.02, watch_s: float = 0.005,
                 decide: Callable[[int, int], str] | None = None) -> None:
        self.world = world
        self.decide = decide
        self.step_s = step_s  # how long each movement takes
        self.watch_s = watch_s
        self._plan: deque[str] = deque()
        # each release pulse is served once: (unit, compartment, end of that pulse)
        self._served: set[tuple[int, int, float]] = set()
        self._task: asyncio.Task[None] | None = None
        self._serving: set[asyncio.Task[None]] = set()
        self.actions: list[tuple[str, int, int]] = []  # (what, unit, compartment)

    def plan(self, *modes: str) -> None:
        """What to do at the next compartments, in order (then ``normal`` again)."""
        for m in modes:
            if m not in MODES:
                raise ValueError(f"unknown mode {m!r}: one of {', '.join(MODES)}")
        self._plan.extend(modes)

    def start(self) -> None:
        """Start watching (a task on the running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="sim-person")

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._serving):
            task.cancel()

    def _released(self) -> list[tuple[int, int]]:
        out = []
        for unit, cab in self.world.cabinets.items():
            for c in cab.compartments:
                key = (unit, c.index)
                if c.led and c.door_closed and not cab.lock_engaged(c.index):
                    out.append(key)
        return out

    async def _watch(self) -> None:
        while True:
            for unit, idx in self._released():
                cab = self.world.cabinet(unit)
                mark = (unit, idx, cab.comp(idx).released_until)
                if mark in self._served:
                    continue
                self._served.add(mark)
                if self._plan:
                    mode = self._plan.popleft()
                else:
                    mode = self.decide(unit, idx) if self.decide is not None else "normal"
                if mode == "walk_away":
                    self.actions.append(("walk_away", unit, idx))
                    continue
                task = asyncio.create_task(self._serve(unit, idx, mode))
                self._serving.add(task)
                task.add_done_callback(self._serving.discard)
            await asyncio.sleep(self.watch_s)

    async def _serve(self, unit: int, idx: int, mode: str) -> None:
        w = self.world
        try:
            w.open_door(unit, idx)
            had_item = w.cabinet(unit).comp(idx).occupied  # decided on opening the door
            self.actions.append(("open", unit, idx))
            await asyncio.sleep(self.step_s)
            if mode == "normal":
                if had_item:
                    w.take_item(unit, idx)
                    self.actions.append(("take", unit, idx))
                else:
                    w.put_item(unit, idx)
                    self.actions.append(("put", unit, idx))
            elif mode == "wrong":
                other = await self._other_open(unit, idx)
                if other is not None:
                    w.put_item(*other)
                    self.actions.append(("put_wrong", *other))
            await asyncio.sleep(self.step_s)
            w.close_door(unit, idx)
            self.actions.append(("close", unit, idx))
        except WorldError as exc:
            log.warning("simulated person could not act on %s/%s: %s", unit, idx, exc)

    async def _other_open(self, unit: int, idx: int) -> tuple[int, int] | None:
        """Another compartment with its door open (waits a little for one)."""
        for _ in range(200):
            for u, cab in self.world.cabinets.items():
                for c in cab.compartments:
                    if (u, c.index) != (unit, idx) and not c.door_closed:
                        return u, c.index
            await asyncio.sleep(self.watch_s)
        return None


def step_decider(
    steps: Callable[[], Iterable[BayStep]],
    held: Callable[[str], set[str]],
    cabinet_of: Mapping[int, str],
    occupied: Callable[[int, int], bool],
) -> Callable[[int, int], str]:
    """A ``decide`` for :class:`CabinetActor` at a station driven by the step service: the
    step under way at a compartment says what the person does there. Putting into a
    compartment that already reads occupied, or taking one of several items out, leaves
    the one sensor as it was (``keep``); otherwise ``normal``."""

    def decide(unit: int, idx: int) -> str:
        where = f"{cabinet_of.get(unit, '?')}/{idx}"
        step = next((s for s in steps() if s.compartment == where and not s.done), None)
        if step is None:
            return "normal"
        if step.purpose in ("check_out", "leave"):  # taking out (a leave: for good or a while)
            return "keep" if held(where) - set(step.labels) else "normal"
        return "keep" if occupied(unit, idx) else "normal"

    return decide
