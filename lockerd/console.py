"""The terminal flows on the command line: a line-oriented console over :class:`Flows`.

``locker terminal --config FILE`` runs the daemon and this console on the same loop (the
kiosk screen comes later, over the same flows). Commands::

    handover CASE CLERK      scan the case's items (Enter per item, "done" to finish), the
                             lawfulness checklist (y/n per item), a reason if anything differs
    checkin CLERK            scan one item and store it in a free compartment
    checkout                 badge and PIN, the files for today, their compartments one by one
    return CLERK             badge and PIN, scan the files brought back, their compartments
    show LABEL [LABEL...]    (simulated camera) hold these labels up to the camera
    status                   cabinets, doors and occupancy
    alarms                   alarms recorded since the console started
    help, quit

Every outcome, failures included, is printed; the ledger already has it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from custody.domain.errors import DiscrepancyReasonRequiredError
from custody.errors import LockerError
from lockerd.daemon import Daemon
from lockerd.flows import Flows, Scan

ReadLine = Callable[[str], Awaitable[str | None]]  # prompt -> line, None at end of input
Write = Callable[[str], None]

HELP = (__doc__ or "").split("Commands::", 1)[1].split("Every outcome", 1)[0].rstrip()


class Console:
    """One console session."""

    def __init__(self, daemon: Daemon, read: ReadLine, write: Write) -> None:
        self.d = daemon
        self.flows: Flows = daemon.flows
        self.read = read
        self.write = write

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
            except LockerError as exc:
                self.write(f"refused: {exc}")

    async def dispatch(self, cmd: str, args: list[str]) -> None:
        """Run one command."""
        handlers: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "handover": self.handover,
            "checkin": self.checkin,
            "checkout": self.checkout,
            "return": self.return_files,
            "show": self.show,
            "status": self.status,
            "alarms": self.alarms,
            "help": self.help,
        }
        handler = handlers.get(cmd)
        if handler is None:
            self.write(f"unknown command {cmd!r}; type help")
            return
        await handler(args)

    async def help(self, args: list[str]) -> None:
        self.write(HELP)

    def _need(self, args: list[str], n: int, usage: str) -> bool:
        if len(args) < n:
            self.write(f"usage: {usage}")
            return False
        return True

    async def _ask(self, prompt: str) -> str:
        line = await self.read(prompt)
        return "" if line is None else line.strip()

    async def _scan_many(self, actor: str, step: str) -> list[Scan]:
        scans: list[Scan] = []
        while True:
            answer = await self._ask(f"scan item {len(scans) + 1} (Enter) or 'done': ")
            if answer.lower() == "done":
                return scans
            try:
                scan = await self.flows.scan(actor=actor, step=step)
            except LockerError as exc:
                self.write(f"  not read: {exc}")
                continue
            scans.append(scan)
            self.write(f"  read {scan.label} (photo {scan.photo.sha256[:12]})")

    async def handover(self, args: list[str]) -> None:
        if not self._need(args, 2, "handover CASE CLERK"):
            return
        case_id, clerk = args[0], args[1]
        scans = await self._scan_many(clerk, "handover")
        checklist: dict[str, bool] = {}
        for item in self.d.rt.custody.settings.lawfulness_checklist:
            checklist[item] = (await self._ask(f"  {item}? [y/n] ")).lower() in ("y", "yes")
        try:
            result = await self.flows.handover(case_id, clerk=clerk, scans=scans,
                                               checklist=checklist)
        except DiscrepancyReasonRequiredError as exc:
            self.write(f"  {exc}")
            reason = await self._ask("  reason: ")
            result = await self.flows.handover(case_id, clerk=clerk, scans=scans,
                                               checklist=checklist, reason=reason)
        self.write(f"handed over {', '.join(result.items)} (entry {result.seq})"
                   + (f"; missing {', '.join(result.missing)}" if result.missing else "")
                   + (f"; extra {', '.join(result.extra)}" if result.extra else ""))

    async def checkin(self, args: list[str]) -> None:
        if not self._need(args, 1, "checkin CLERK"):
            return
        step = await self.flows.check_in(args[0])
        self.write(f"{step.label} stored in {step.compartment} (entry {step.seqs[-1]})")

    async def _sign_in(self) -> str | None:
        badge = await self._ask("badge: ")
        pin = await self._ask("PIN: ")
        person = await self.flows.identify(badge, pin)
        self.write(f"signed in: {person.name}")
        return person.id

    async def checkout(self, args: list[str]) -> None:
        officer = await self._sign_in()
        if officer is None:
            return
        files = self.flows.files_for(officer)
        if not files:
            self.write("no files to take today")
            return
        for f in files:
            self.write(f"  {f.label}  {f.description}  in {f.compartment}")
        report = await self.flows.check_out(officer)
        for s in report.done:
            self.write(f"taken: {s.label} from {s.compartment} (entry {s.seqs[-1]})")
        for err in report.failed:
            self.write(f"FAILED: {err}")

    async def return_files(self, args: list[str]) -> None:
        if not self._need(args, 1, "return CLERK"):
            return
        officer = await self._sign_in()
        if officer is None:
            return
        for f in self.flows.files_out(officer):
            self.write(f"  out: {f.label} due {f.due_back}")
        scans = await self._scan_many(officer, "return")
        if not scans:
            return
        report = await self.flows.return_files(officer, scans, clerk=args[0])
        for s in report.done:
            self.write(f"back: {s.label} in {s.compartment} (entries {s.seqs})")
        for err in report.failed:
            self.write(f"FAILED: {err}")

    async def show(self, args: list[str]) -> None:
        cam = self.d.rt.camera
        show = getattr(cam, "show", None)
        if show is None:
            self.write("show works with the simulated camera only")
            return
        show(*args)
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
