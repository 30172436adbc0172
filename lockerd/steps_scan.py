"""The step service's reading, camera, registration and handover part (:class:`StepScans`,
the base of :class:`lockerd.steps.StepService`): cases and items from the custody state, the
doors as the poller last read them, one camera capture at a time (the live view shares it),
label scans (typed or read, a wrong check character refused), registrations, and handover
drafts committed as ``case.handed_over`` through the runtime's one writer. Labels are
printed after a registration, at a handover for items without one, and on request
(:mod:`lockerd.steps_labels`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence

from custody import queries
from custody.domain.errors import UnknownCaseError, UnknownItemError
from custody.domain.people import Complainant, Role
from custody.domain.values import ItemSpec, ManifestLine, manifest_line
from custody.labels import LabelError, parse_label
from custody.ports import CompartmentState, PhotoRef
from custody.projection import CaseView, ItemView
from custody.queries import ScanStatus
from lockerd.runtime import Runtime
from lockerd.steps_labels import StepLabels
from scanner.photostore import photo_meta
from scanner.pipeline import check_reads
from terminal.camera_view import Shot
from terminal.errors import NoLabelInViewError, WrongCheckCharacterError
from terminal.ports import HandedOver, HandoverDraft, LabelRun, Registered, ScanOutcome
from terminal.station import CompartmentNameError


class StepScans:
    """Reading, the camera and the handover drafts of one station."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.drafts: dict[tuple[str, str], HandoverDraft] = {}
        self._camera = asyncio.Lock()
        self.labels = StepLabels(rt)

    def _require(self, person: str, *roles: Role) -> None:
        self.rt.custody.directory.require(person, *roles)

    # ------------------------------------------------------------------ reading

    def case(self, case_id: str) -> tuple[CaseView, list[ItemView]]:
        """A case and its items (UnknownCaseError if absent)."""
        with self.rt.custody.lock:
            proj = self.rt.custody.projection
            case = proj.cases.get(case_id)
            if case is None:
                raise UnknownCaseError(f"no case {case_id!r} has been registered")
            return case, [proj.items[lb] for lb in case.items]

    def item(self, label: str) -> ItemView:
        """The item of a label (raises for malformed or unknown labels)."""
        text = parse_label(label).text
        with self.rt.custody.lock:
            item = self.rt.custody.projection.items.get(text)
        if item is None:
            raise UnknownItemError(f"no item with label {text} has been registered")
        return item

    async def compartment_state(self, name: str) -> CompartmentState:
        """A compartment's door and sensor as the poller last read them."""
        cab, _, number = name.rpartition("/")
        if cab not in self.rt.cabinets or not number.isdigit():
            raise CompartmentNameError(f"no compartment {name!r} at this station")
        idx = int(number)
        status = self.rt.poller.last_status(cab)
        if status is None:
            status = await self.rt.cabinets[cab].read_status()
        if idx >= len(status.compartments):
            raise CompartmentNameError(f"no compartment {name!r} at this station")
        return status.compartments[idx]

    # ------------------------------------------------------------------ camera

    def _shoot_now(self) -> Shot:
        image = self.rt.camera.capture()
        return Shot(image, tuple(self.rt.reader.read(image.data)))

    async def shoot(self) -> Shot:
        """One frame and its reads, one capture at a time, off the loop."""
        async with self._camera:
            return await asyncio.to_thread(self._shoot_now)

    async def keep(self, shot: Shot, *, step: str, actor: str,
                   compartment: str | None = None) -> PhotoRef:
        """Store a shot in the photo store (before any entry names it)."""
        meta = photo_meta(shot.image, shot.reads, compartment=compartment,
                          extra={"step": step, "actor": actor})
        return await asyncio.to_thread(self.rt.photos.put, shot.image.data, meta)

    async def identify(self, typed: str | None) -> tuple[list[str], Shot]:
        """The labels of a scan: the typed (scanner) text, else what the camera reads.

        Always photographs; takes up to ``[scanner] attempts`` frames when reading. A wrong
        check character: :class:`WrongCheckCharacterError`; nothing in view:
        :class:`NoLabelInViewError`."""
        attempts = 1 if typed else self.rt.cfg.scanner.attempts
        for attempt in range(1, attempts + 1):
            shot = await self.shoot()
            if typed is not None and typed.strip():
                try:
                    return [parse_label(typed).text], shot
                except LabelError as exc:
                    raise WrongCheckCharacterError(str(exc), label=typed.strip().upper()) from exc
            scan = check_reads(shot.reads)
            if scan.valid:
                return [label.text for label in scan.labels], shot
            if attempt < attempts:
                continue
            if scan.rejected:
                bad = scan.rejected[0]
                raise WrongCheckCharacterError(bad.reason, label=bad.read.text)
        raise NoLabelInViewError("no barcode in view")

    # ------------------------------------------------------------------ registration

    async def register_case(
        self, case_id: str, *, title: str, officer: str, items: Sequence[ItemSpec],
        complainant: Complainant | None = None, officers: Iterable[str] = (),
    ) -> Registered:
        """Register a case and its manifest (the custody service checks it), then print
        the new items' labels (a printer fault is in the answer; the case stands)."""
        case = await self.rt.call(self.rt.custody.register_case, case_id, title=title,
                                  officer=officer, items=items, complainant=complainant,
                                  officers=tuple(officers))
        self.rt.ledger_changed()
        return Registered(case, await self.labels.registered(list(case.items), officer))

    def manifest_line(self, kind: str, description: str, quantity: str, seized_at: str, *,
                      seized_from: str = "", category: str = "") -> ManifestLine:
        """A manifest line from typed or posted text (:func:`custody.domain.values.
        manifest_line`; times in the station's zone, empty for now)."""
        return manifest_line(kind, description, quantity, seized_at, seized_from=seized_from,
                             category=category, zone=self.rt.custody.settings.zone,
                             now=self.rt.clock.now())

    async def register_new_case(
        self, officer: str, *, title: str, lines: Sequence[ManifestLine],
        complainant: Complainant | None = None,
    ) -> Registered:
        """Register a case the station numbers (the next case id and labels of the year;
        the console's ``register`` and the kiosk's registration screen), then print its
        labels like :meth:`register_case`."""
        case = await self.rt.call(self.rt.custody.register_new_case, title=title,
                                  officer=officer, lines=lines, complainant=complainant)
        self.rt.ledger_changed()
        return Registered(case, await self.labels.registered(list(case.items), officer))

    # ------------------------------------------------------------------ handover

    def draft(self, person: str, case_id: str) -> HandoverDraft:
        """The handover draft of a person for a case (a fresh one the first time)."""
        return self.drafts.setdefault((person, case_id), HandoverDraft(case_id))

    async def scan_for_handover(
        self, person: str, case_id: str, typed: str | None
    ) -> list[ScanOutcome]:
        """Scan one item for a case's handover: tick its line, or list it as extra."""
        self._require(person, Role.CLERK)
        self.case(case_id)
        labels, shot = await self.identify(typed)
        ref = await self.keep(shot, step="handover", actor=person)
        draft = self.draft(person, case_id)
        outcomes = []
        with self.rt.custody.lock:
            proj = self.rt.custody.projection
            for text in labels:
                verdict = queries.handover_scan(proj, case_id, text)
                if text in draft.ticked or text in draft.extra:
                    outcomes.append(ScanOutcome("already", text, ref.sha256))
                    continue
                if verdict.status is ScanStatus.HANDED_OVER:
                    # taken over before: not ticked, not an extra (the service refuses it)
                    outcomes.append(ScanOutcome("handed_over", text, ref.sha256))
                    continue
                draft.photos[ref.sha256] = ref
                if verdict.status is ScanStatus.ON_MANIFEST:
                    draft.ticked[text] = ref.sha256
                    outcomes.append(ScanOutcome("ticked", text, ref.sha256))
                else:
                    draft.extra[text] = ref.sha256
                    outcomes.append(ScanOutcome("extra", text, ref.sha256))
        return outcomes

    def drop_extra(self, person: str, case_id: str, label: str) -> None:
        """Set an extra item aside (it is not handed over and not recorded)."""
        self.draft(person, case_id).extra.pop(label, None)

    async def commit_handover(
        self, person: str, case_id: str, checklist: Mapping[str, bool], reason: str
    ) -> HandedOver:
        """Record the handover (the custody service checks the checklist and the reason),
        then print the labels of the case's items that have none (a printer fault is in
        the answer's ``labels``; the handover stands)."""
        draft = self.draft(person, case_id)
        used = set(draft.ticked.values()) | set(draft.extra.values())
        result = await self.rt.call(
            self.rt.custody.handover, case_id, clerk=person,
            scanned=sorted(draft.ticked) + sorted(draft.extra), checklist=dict(checklist),
            photos=[draft.photos[sha] for sha in sorted(used)], reason=reason,
        )
        self.rt.ledger_changed()
        self.drafts.pop((person, case_id), None)
        return HandedOver.of(result, await self.labels.handed_over(case_id, person))

    async def reprint(self, person: str, label: str) -> LabelRun:
        """Print an item's label again on request (a clerk or an officer); a printer fault
        is in the answer, the label can be printed again."""
        self._require(person, Role.CLERK, Role.OFFICER)
        return await self.labels.reprint(self.item(label).label, person)
