"""The step service's label printing (issue #16): after a registration, at a handover, and a
reprint on request, through :class:`lockerd.labels.RuntimeLabels`.

Printing comes after the custody step is recorded and never undoes or fails it: a printer
fault (no paper, offline, a refused job) is caught and answered as a :class:`LabelRun`
whose ``error`` the kiosk and the console show as is; the labels not printed are listed and
can be printed again (a reprint). Each label printed is recorded (``label.printed``) by the
label desk. With no ``[printer] url`` nothing is printed and every run is empty.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from custody.errors import UsageError
from lockerd.labels import PrintOutcome, RuntimeLabels
from lockerd.runtime import Runtime
from printer.errors import PrinterError
from terminal.ports import LabelRun

log = logging.getLogger(__name__)


class StepLabels:
    """The station's label printing as the step service calls it."""

    def __init__(self, rt: Runtime) -> None:
        self.desk = RuntimeLabels(rt) if rt.cfg.printer.url else None

    @property
    def enabled(self) -> bool:
        """Whether the station has a label printer (``[printer] url``)."""
        return self.desk is not None

    async def _each(
        self, codes: Sequence[str], one: Callable[[str], Awaitable[PrintOutcome]]
    ) -> LabelRun:
        """Print one label at a time; at a fault stop, listing what was not printed."""
        printed: list[str] = []
        for i, code in enumerate(codes):
            try:
                printed.extend((await one(code)).printed)
            except PrinterError as exc:
                log.warning("label %s not printed: %s", code, exc)
                return LabelRun(True, tuple(printed), tuple(codes[i:]), str(exc))
        return LabelRun(True, tuple(printed))

    async def registered(self, codes: Sequence[str], actor: str) -> LabelRun:
        """The new items' labels, after their registration is recorded (never raises)."""
        if self.desk is None:
            return LabelRun(False)
        desk = self.desk
        try:
            return await self._each(codes, lambda c: desk.print_items(
                [c], reason="registration", actor=actor))
        except Exception as exc:  # the registration stands whatever the printing did
            log.exception("labels after the registration of %s", ", ".join(codes))
            return LabelRun(True, (), tuple(codes), str(exc))

    async def handed_over(self, case_id: str, actor: str) -> LabelRun:
        """The labels of the case's items that have none yet, after a handover is recorded
        (never raises)."""
        if self.desk is None:
            return LabelRun(False)
        desk = self.desk
        try:
            missing = await desk.rt.call(desk.desk.missing, case_id)
            return await self._each(missing, lambda c: desk.print_items(
                [c], reason="handover", actor=actor))
        except Exception as exc:
            log.exception("labels at the handover of %s", case_id)
            return LabelRun(True, (), (), str(exc))

    async def reprint(self, label: str, actor: str) -> LabelRun:
        """Print an item's label again on request. An unknown item or no printer is refused
        (:class:`~custody.errors.UsageError`); a printer fault is answered, not raised."""
        if self.desk is None:
            raise UsageError("no label printer: set [printer] url in the station config")
        desk = self.desk
        return await self._each([label], lambda c: desk.print_items(
            [c], reason="reprint", actor=actor))
