"""The console's leave commands (``locker terminal``), over ``StepService.leave``::

    leave LABEL KIND         (officer in charge, or a supervisor) ask for an item to leave:
                             reason, decision number, receiving unit (KIND: see ``kinds``)
    kinds                    the station's kinds of leaving
    leaves                   requests waiting for a decision or a clerk, and items out
    approve REQ / refuse REQ (supervisor, own badge and PIN) decide, with a reason
    carryout REQ             (clerk) open the item's compartment, take it out, the recipient
                             (name, ID number, unit), photograph the signed receipt; a second
                             clerk signs in with badge and PIN for cash and valuables
    comeback REQ             (clerk or officer) a temporary leave is back (then: store CASE)
    hold CASE [LABEL]        (officer on the case, or supervisor) hold a case or an item
    lift CASE [LABEL]        (officer or supervisor) lift it; a supervisor approves with
                             their own badge and PIN
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from custody.leaving import Recipient
from terminal.errors import RoleRefusedError

if TYPE_CHECKING:
    from lockerd.console import Console

Handler = Callable[[list[str]], Awaitable[None]]
HELP = (__doc__ or "").split("::", 1)[1].rstrip()


class LeaveCommands:
    """The leave commands of one console session."""

    def __init__(self, console: Console) -> None:
        self.c = console
        self.leave = console.steps.leave

    def handlers(self) -> dict[str, Handler]:
        return {"leave": self.ask, "kinds": self.kinds, "leaves": self.in_progress,
                "approve": self.approve, "refuse": self.refuse, "carryout": self.carry_out,
                "comeback": self.come_back, "hold": self.hold, "lift": self.lift}

    def _request(self, args: list[str], usage: str) -> int | None:
        if not args or not args[0].isdigit():
            self.c.write(f"usage: {usage}")
            return None
        return int(args[0])

    async def _other(self, what: str, role: str) -> str:
        """Another person's badge and PIN, checked now (a second clerk, an approver)."""
        badge = await self.c._ask(f"{what}'s badge: ")
        pin = await self.c._ask(f"{what}'s PIN: ")
        session = await self.c.steps.sign_in(badge, pin)
        self.c.steps.sessions.sign_out(session.token)
        if session.person.role != role:
            raise RoleRefusedError(f"{session.person.name} is not a {role}")
        return session.person.id

    async def kinds(self, args: list[str]) -> None:
        for k in self.c.d.rt.custody.leaving.kinds:
            due = "" if k.due_ms is None else f", out for up to {k.due_ms // 3_600_000} h"
            docs = ", ".join(sorted(k.documents)) or "none"
            self.c.write(f"{k.id}: {k.name_zh} / {k.name_en} ({'final' if k.final else 'temporary'}"
                         f"{due}; documents: {docs})")

    async def ask(self, args: list[str]) -> None:
        if not self.c._need(args, 2, "leave LABEL KIND"):
            return
        person = self.c._who("officer", "supervisor").person.id
        reason = await self.c._ask("reason: ")
        decision = await self.c._ask("decision number (Enter: none): ")
        unit = await self.c._ask("receiving unit (Enter: none): ")
        record = await self.leave.ask(person, args[0], kind=args[1], reason=reason,
                                      documents={"decision_no": decision,
                                                 "receiving_unit": unit})
        due = f", due back {record.due:%Y-%m-%d %H:%M}Z" if record.due else ""
        self.c.write(f"leave request {record.request}: {record.item} {record.kind}{due};"
                     " waiting for a supervisor")

    async def in_progress(self, args: list[str]) -> None:
        found = self.leave.requests()
        if not found:
            self.c.write("no leave requests in progress")
        for r in found:
            extra = f", due {r.due:%Y-%m-%d %H:%M}Z" if r.due else ""
            self.c.write(f"request {r.request}: {r.item} ({r.case_id}) {r.kind} {r.status}"
                         f" (asked by {r.requested_by}{extra})")

    async def _decide(self, args: list[str], approve: bool) -> None:
        request = self._request(args, "approve REQ" if approve else "refuse REQ")
        if request is None:
            return
        person = self.c._who("supervisor").person.id
        reason = await self.c._ask("reason: ")
        record = await self.leave.decide(person, request, approve=approve, reason=reason)
        self.c.write(f"leave request {request} {record.status} by {person}")

    async def approve(self, args: list[str]) -> None:
        await self._decide(args, True)

    async def refuse(self, args: list[str]) -> None:
        await self._decide(args, False)

    async def carry_out(self, args: list[str]) -> None:
        request = self._request(args, "carryout REQ")
        if request is None:
            return
        clerk = self.c._who("clerk").person.id
        record = self.leave.request(request)
        item = self.c.steps.item(record.item)
        second = None
        if item.category in self.c.d.rt.custody.leaving.two_clerks:
            self.c.write(f"{item.label} is {item.category}: a second clerk signs in")
            second = await self._other("second clerk", "clerk")
        step = await self.leave.open(clerk, request, second)
        self.c.write(f"open {step.compartment} now: take {item.label} out, then shut the door")
        self.c.write("waiting for the door ...")
        await self.c.steps.wait_door(clerk)
        name = await self.c._ask("recipient's name: ")
        id_number = await self.c._ask("recipient's ID number: ")
        unit = await self.c._ask("recipient's unit (Enter: the request's): ")
        self.leave.recipient(clerk, Recipient(name, id_number, unit))
        await self.c._ask("hold the signed receipt up to the camera, then Enter: ")
        await self.leave.receipt(clerk)
        done = await self.leave.finish(clerk)
        self.c.write(f"{done.item} left custody ({done.kind}) to {name}: entry "
                     f"{done.seqs[-1]}" + (f", due back {done.due:%Y-%m-%d %H:%M}Z"
                                           if done.due else ""))

    async def come_back(self, args: list[str]) -> None:
        request = self._request(args, "comeback REQ")
        if request is None:
            return
        person = self.c._who("clerk", "officer").person.id
        record = await self.leave.come_back(person, request)
        self.c.write(f"{record.item} is back{' (late)' if record.late else ''}; store it with"
                     f" 'store {record.case_id}'")

    async def hold(self, args: list[str]) -> None:
        if not self.c._need(args, 1, "hold CASE [LABEL]"):
            return
        person = self.c._who("officer", "supervisor").person.id
        reason = await self.c._ask("reason (under investigation, evidence for trial): ")
        await self.leave.hold(person, args[0], reason, args[1] if len(args) > 1 else None)
        self.c.write(f"hold placed on {' '.join(args)}")

    async def lift(self, args: list[str]) -> None:
        if not self.c._need(args, 1, "lift CASE [LABEL]"):
            return
        person = self.c._who("officer", "supervisor").person.id
        reason = await self.c._ask("reason: ")
        approver = await self._other("approving supervisor", "supervisor")
        await self.leave.lift(person, approver, args[0], reason,
                              args[1] if len(args) > 1 else None)
        self.c.write(f"hold on {' '.join(args)} lifted (approved by {approver})")
