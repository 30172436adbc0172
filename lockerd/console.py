"""``locker terminal``'s console: a line-oriented driver over the one step service.

The same steps as the kiosk (:class:`lockerd.steps.StepService`), one command per action,
each attributed to the person signed in with badge and PIN. Commands::

    signin                   badge, then PIN (every step needs someone signed in)
    signout
    register                 (officer) register a case: asks for its title, the
                             complainant, then each item (kind file/exhibit, description,
                             quantity, category, seized from, seized at); prints the new
                             case id, its labels and what the printer did
    handover CASE            (clerk) scan the case's items (Enter: the camera reads the one
                             in view; or type the label; "done" to finish), the lawfulness
                             checklist (y/n), a reason if anything is missing or extra
    store CASE               (clerk) store the case's waiting items in their compartment
    checkout [LABEL]         (officer) take one file, or every file of today one by one
    return                   (officer) scan each file brought back; it goes where it belongs
    reprint LABEL            (clerk, officer) print an item's label again
    show LABEL [LABEL...]    (simulated camera) hold these labels up to the camera
    status                   cabinets, doors and occupancy
    alarms                   the open alarms (not acknowledged yet)
    stage CASE STAGE         (officer, supervisor) record a case stage: asks for the
                             document and its number (lockerd.steps_stage)
    cases                    (officer, supervisor) open case deadlines, the overdue first
    help, quit

Items leaving custody: ``leave``, ``kinds``, ``leaves``, ``approve``, ``refuse``,
``carryout``, ``comeback``, ``hold``, ``lift`` (:mod:`lockerd.console_leave`).

At each compartment the console says what to do ("open A/0 now", "waiting for the door")
and why the compartment was chosen. Every outcome, failures included, is printed; the
ledger already has it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from custody.domain.errors import DiscrepancyReasonRequiredError
from custody.domain.people import Complainant
from custody.domain.states import ItemState
from custody.domain.values import ManifestLine
from custody.errors import LockerError
from lockerd.console_leave import HELP as LEAVE_HELP
from lockerd.console_leave import LeaveCommands
from lockerd.daemon import Daemon
from lockerd.steps import StepService
from terminal.errors import RoleRefusedError, StepFailedError
from terminal.ports import BayStep, LabelRun
from terminal.sessions import Session

ReadLine = Callable[[str], Awaitable[str | None]]  # prompt -> line, None at end of input
Write = Callable[[str], None]

HELP = (__doc__ or "").split("Commands::", 1)[1].split("At each compartment", 1)[0].rstrip()

#: why a store step's compartment was chosen, as the console says it (a return says its
#: custody.queries.ReturnPlace's own text)
REASON_TEXT = {
    "free_compartment": "a free compartment",
    "returned_here": "where its return put it",
    "stored_here": "where its case is stored",
}
DOING = {"store": "put the item(s) in", "check_out": "take the file out",
         "return": "put the file in"}


class Console:
    """One console session over the daemon's step service."""

    def __init__(self, daemon: Daemon, read: ReadLine, write: Write) -> None:
        self.d = daemon
        self.steps: StepService = daemon.steps
        self.read = read
        self.write = write
        self.token: str | None = None

    async def run(self) -> None:
        """Read commands until ``quit`` or the end of input."""
        self.write("evidence-locker terminal; type help")
        while True:
            line = await self.read("locker> ")
            if line is None:
                return
            words = line.split()
            if not words:
                continue
            cmd, args = words[0].lower(), words[1:]
            if cmd in ("quit", "exit"):
                return
            try:
                await self.dispatch(cmd, args)
            except StepFailedError as exc:
                self.write(f"FAILED: {exc}")
            except LockerError as exc:
                self.write(f"refused: {exc}")

    async def dispatch(self, cmd: str, args: list[str]) -> None:
        """Run one command."""
        handlers: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "signin": self.signin, "signout": self.signout, "register": self.register,
            "handover": self.handover,
            "store": self.store, "checkout": self.checkout, "return": self.return_files,
            "reprint": self.reprint, "show": self.show, "status": self.status,
            "alarms": self.alarms, "stage": self.stage, "cases": self.cases,
            "help": self.help, **LeaveCommands(self).handlers(),
        }
        handler = handlers.get(cmd)
        if handler is None:
            self.write(f"unknown command {cmd!r}; type help")
            return
        await handler(args)

    async def help(self, args: list[str]) -> None:
        self.write(HELP + "\n" + LEAVE_HELP)

    async def _ask(self, prompt: str) -> str:
        line = await self.read(prompt)
        return "" if line is None else line.strip()

    def _need(self, args: list[str], n: int, usage: str) -> bool:
        if len(args) < n:
            self.write(f"usage: {usage}")
            return False
        return True

    # ------------------------------------------------------------------ who is here

    async def signin(self, args: list[str]) -> None:
        badge = await self._ask("badge: ")
        pin = await self._ask("PIN: ")
        session = await self.steps.sign_in(badge, pin)
        self.token = session.token
        self.write(f"signed in: {session.person.name} ({session.person.role})")

    async def signout(self, args: list[str]) -> None:
        self.steps.sessions.sign_out(self.token)
        self.token = None
        self.write("signed out")

    def _who(self, *roles: str) -> Session:
        """The person signed in (the idle lock applies), in one of ``roles``."""
        session = self.steps.sessions.get(self.token, touch=True)
        if session.person.role not in roles:
            raise RoleRefusedError(f"{session.person.role} may not do this; "
                                   f"sign in as {' or '.join(roles)}")
        return session

    # ------------------------------------------------------------------ registration

    async def register(self, args: list[str]) -> None:
        officer = self._who("officer").person.id
        title = await self._ask("case title: ")
        name = await self._ask("complainant's name (Enter: none): ")
        contact = await self._ask("complainant's contact: ") if name else ""
        lines: list[ManifestLine] = []
        while True:
            kind = await self._ask(f"item {len(lines) + 1} kind (file/exhibit; Enter: "
                                   "no more items): ")
            if not kind:
                break
            description = await self._ask("  description: ")
            quantity = await self._ask("  quantity: ")
            category = await self._ask("  category (e.g. cash; Enter: none): ")
            seized_from = await self._ask("  seized from: ")
            seized_at = await self._ask("  seized at (YYYY-MM-DD HH:MM, station time; "
                                        "Enter: now): ")
            lines.append(self.steps.manifest_line(kind, description, quantity, seized_at,
                                                  seized_from=seized_from, category=category))
        done = await self.steps.register_new_case(
            officer, title=title, lines=lines,
            complainant=Complainant(name, contact) if name else None)
        self.write(f"registered case {done.case.case_id}: {', '.join(done.case.items)}")
        if not done.labels.enabled:
            self.write("  no label printer at this station: write the labels by hand")
        self._labels(done.labels)

    # ------------------------------------------------------------------ handover

    async def handover(self, args: list[str]) -> None:
        if not self._need(args, 1, "handover CASE"):
            return
        clerk = self._who("clerk").person.id
        case_id = args[0]
        self.steps.case(case_id)
        while True:
            answer = await self._ask("scan an item (Enter: camera, or type the label) "
                                     "or 'done': ")
            if answer.lower() == "done":
                break
            try:
                outcomes = await self.steps.scan_for_handover(clerk, case_id, answer or None)
            except LockerError as exc:
                self.write(f"  not read: {exc}")
                continue
            for o in outcomes:
                self.write(f"  {o.status}: {o.label} (photo {o.photo[:12]})")
        checklist: dict[str, bool] = {}
        for item in self.d.rt.custody.settings.lawfulness_checklist:
            checklist[item] = (await self._ask(f"  {item}? [y/n] ")).lower() in ("y", "yes")
        try:
            result = await self.steps.commit_handover(clerk, case_id, checklist, "")
        except DiscrepancyReasonRequiredError as exc:
            self.write(f"  {exc}")
            reason = await self._ask("  reason: ")
            result = await self.steps.commit_handover(clerk, case_id, checklist, reason)
        self.write(f"handed over {', '.join(result.items)} (entry {result.seq})"
                   + (f"; missing {', '.join(result.missing)}" if result.missing else "")
                   + (f"; extra {', '.join(result.extra)}" if result.extra else ""))
        self._labels(result.labels)

    def _labels(self, run: LabelRun) -> None:
        """Say what label printing did (nothing without a printer)."""
        if run.printed:
            self.write(f"  label(s) printed: {', '.join(run.printed)}")
        if run.error:
            self.write(f"  PRINTER: label(s) {', '.join(run.not_printed) or '-'} not printed: "
                       f"{run.error} (the step is recorded; 'reprint LABEL' once it is put "
                       "right)")

    async def reprint(self, args: list[str]) -> None:
        if not self._need(args, 1, "reprint LABEL"):
            return
        person = self._who("clerk", "officer").person.id
        run = await self.steps.reprint(person, args[0])
        self._labels(run)

    # ------------------------------------------------------------------ compartment steps

    async def _work(self, step: BayStep) -> BayStep:
        """Say where and why, wait for the door, photograph, confirm."""
        person = step.person
        why = step.place.text if step.place is not None else REASON_TEXT.get(step.reason,
                                                                           step.reason)
        self.write(f"open {step.compartment} now: {DOING[step.purpose]}, then shut the door "
                   f"({', '.join(step.labels)}; {why})")
        self.write("waiting for the door ...")
        await self.steps.wait_door(person)
        self.write(f"door of {step.compartment} shut; photographing and confirming")
        done = await self.steps.finish(person)
        what = {"store": "stored in", "check_out": "taken from", "return": "put back in"}
        self.write(f"{', '.join(done.labels)} {what[done.purpose]} {done.compartment}")
        return done

    async def store(self, args: list[str]) -> None:
        if not self._need(args, 1, "store CASE"):
            return
        clerk = self._who("clerk").person.id
        await self._work(await self.steps.open_store(clerk, args[0]))

    async def checkout(self, args: list[str]) -> None:
        officer = self._who("officer").person.id
        if args:
            await self._work(await self.steps.open_check_out(officer, args[0]))
            return
        files = self._to_take(officer)
        if not files:
            self.write("no files to take today")
            return
        self.write("to take: " + ", ".join(files))
        for label in files:
            try:
                await self._work(await self.steps.open_check_out(officer, label))
            except StepFailedError as exc:
                self.write(f"FAILED: {exc}")

    def _to_take(self, officer: str) -> list[str]:
        """Stored case files of the officer's cases, label order (exhibits stay in)."""
        rt = self.d.rt
        with rt.custody.lock:
            proj = rt.custody.projection
            return [i.label for i in proj.items_in(ItemState.STORED)
                    if officer in proj.cases[i.case_id].officers and i.kind == "case_file"]

    async def return_files(self, args: list[str]) -> None:
        officer = self._who("officer", "clerk").person.id
        while True:
            answer = await self._ask("scan a file brought back (Enter: camera, or type "
                                     "the label) or 'done': ")
            if answer.lower() == "done":
                return
            try:
                await self._work(await self.steps.open_return(officer, answer or None))
            except StepFailedError as exc:
                self.write(f"FAILED: {exc}")

    # ------------------------------------------------------------------ the station

    async def show(self, args: list[str]) -> None:
        from hw_sim.camera_sim import SimulatedCamera

        cam = self.d.rt.camera
        if not isinstance(cam, SimulatedCamera):
            self.write("show works with the simulated camera only")
            return
        cam.show(*args)
        self.write(f"in front of the camera: {', '.join(args) or 'nothing'}")

    async def status(self, args: list[str]) -> None:
        rt = self.d.rt
        for cab in rt.cabinets:
            st = rt.poller.last_status(cab)
            if st is None:
                self.write(f"cabinet {cab}: no answer yet")
                continue
            online = "online" if rt.poller.is_online(cab) else "OFFLINE"
            cells = " ".join(
                f"{c.index}:{'o' if not c.door_closed else '-'}{'#' if c.occupied else '.'}"
                for c in st.compartments
            )
            self.write(f"cabinet {cab} ({online}): {cells}")

    async def alarms(self, args: list[str]) -> None:
        # the custody projection's open alarms (folded on the custody thread)
        found = await self.d.rt.call(self.d.rt.custody.open_alarms)
        if not found:
            self.write("no alarms")
        for a in found:
            items = ", ".join(a.items) or "-"
            self.write(f"entry {a.seq}: {a.kind} at {a.where} {a.at:%Y-%m-%d %H:%M:%S}Z "
                       f"(items {items}): {a.what_to_do}")

    # ------------------------------------------------------------------ case stages

    async def stage(self, args: list[str]) -> None:
        if not self._need(args, 2, "stage CASE STAGE"):
            return
        person = self._who("officer", "supervisor").person.id
        document = await self._ask("document (e.g. 拘留证): ")
        number = await self._ask("document number: ")
        record = await self.steps.stages.record(person, args[0], args[1], document=document,
                                                number=number)
        self.write(f"recorded: case {args[0]} stage {record.stage} (entry {record.seq})")

    async def cases(self, args: list[str]) -> None:
        session = self._who("officer", "supervisor")
        officer = session.person.id if session.person.role == "officer" else None
        rows = self.steps.stages.deadlines(officer)
        if not rows:
            self.write("no open case deadlines")
        for r in rows:
            mark = "OVERDUE " if r.overdue else ""
            self.write(f"{mark}case {r.case_id} [{r.stage_name}] {r.point_name}: due "
                       f"{r.deadline:%Y-%m-%d %H:%M}Z; next: {r.next_step}")
