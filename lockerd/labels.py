"""Label printing at the station: the service the registration and handover flows call.

:class:`LabelDesk` prints an item's label (its code with check character as text, Code 128
and QR; the case number, the description, the registration date, the station, the officer
in charge) on the station's :class:`custody.ports.LabelPrinter` and records it in the ledger
(``label.printed``, :mod:`custody.label_prints`). A printer fault raises a
:class:`printer.errors.PrinterError` whose message the kiosk shows as is; nothing is recorded
then, and the same call prints the label again.

Where the flows call it (the step service):

- after a registration: ``await labels.print_items(labels, reason="registration",
  actor=officer)``;
- at a handover: ``await labels.print_missing(case_id, actor=clerk)`` prints every item of
  the case that has no label yet;
- on request (kiosk button; ``locker label print`` without the daemon):
  ``await labels.print_items([label], reason="reprint", actor=who)``.

(``labels = RuntimeLabels(rt)``; the same calls without ``await`` on a :class:`LabelDesk`.)

:class:`LabelDesk` is synchronous (the CLI, tests); in the daemon, :class:`RuntimeLabels`
reads and records on the custody thread and drives the printer off it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from custody.errors import UsageError
from custody.label_prints import LABEL_PRINTED, REASONS
from custody.ports import LabelPrinter, PrintedLabel
from custody.projection import Projection
from custody.settings import PersonSettings

if TYPE_CHECKING:
    from lockerd.config import StationConfig
    from lockerd.runtime import Runtime

Append = Callable[[str, Mapping[str, Any], str], Any]  # (kind, body, actor) -> entry


@dataclass(frozen=True)
class PrintOutcome:
    """What one print call did: the labels printed and the ledger entries recording them."""

    printed: tuple[str, ...]
    seqs: tuple[int, ...]


class LabelDesk:
    """Prints labels and records them. ``projection`` gives the custody state, up to date
    with the ledger (the items' details, and which items have had a label printed)."""

    def __init__(
        self,
        printer: LabelPrinter,
        *,
        projection: Callable[[], Projection],
        append: Append,
        station: str,
        timezone: str,
        people: Sequence[PersonSettings],
        printer_name: str,
        language: str,
    ) -> None:
        self.printer = printer
        self._projection = projection
        self._append = append
        self.station = station
        self.zone = ZoneInfo(timezone)
        self._names = {p.id: p.name for p in people}
        self.printer_name = printer_name
        self.language = language

    def label_for(self, code: str) -> PrintedLabel:
        """What the label of item ``code`` shows."""
        projection = self._projection()
        item = projection.items.get(code)
        if item is None:
            raise UsageError(f"no item {code!r} is registered: nothing to print")
        case = projection.cases[item.case_id]
        registered = case.registered_at.astimezone(self.zone)
        return PrintedLabel(
            code=item.label,
            case_id=item.case_id,
            description=item.description,
            date=f"{registered:%Y-%m-%d}",
            station=self.station,
            officer=self._names.get(case.officer, case.officer),
        )

    def print_items(
        self, codes: Sequence[str], *, reason: str, actor: str, copies: int = 1
    ) -> PrintOutcome:
        """Print the labels of ``codes`` in order, recording each once printed. A fault
        stops at that label (the ones before stay printed and recorded)."""
        if reason not in REASONS:
            raise UsageError(f"print reason {reason!r}: expected one of {', '.join(REASONS)}")
        labels = [self.label_for(c) for c in codes]  # all known before anything prints
        printed, seqs = [], []
        for label in labels:
            self.printer.print_label(label, copies)
            printed.append(label.code)
            seqs.append(self.record(label, reason, actor, copies))
        return PrintOutcome(tuple(printed), tuple(seqs))

    def record(self, label: PrintedLabel, reason: str, actor: str, copies: int) -> int:
        """Append the ``label.printed`` entry of a label just printed; its seq."""
        entry = self._append(LABEL_PRINTED, {
            "item": label.code, "case": label.case_id, "reason": reason,
            "printer": self.printer_name, "language": self.language, "copies": copies,
        }, actor)
        return int(entry.seq)

    def missing(self, case_id: str) -> list[str]:
        """The items of a case that have had no label printed yet."""
        case = self._projection().cases.get(case_id)
        if case is None:
            raise UsageError(f"no case {case_id!r} is registered")
        done = self._projection().labels_printed
        return [x for x in case.items if x not in done]

    def print_missing(self, case_id: str, *, actor: str) -> PrintOutcome:
        """At a handover: print the label of every item of the case that has none yet."""
        return self.print_items(self.missing(case_id), reason="handover", actor=actor)


def printer_for(url: str, language: str, *, timeout: float, label_language: str) -> LabelPrinter:
    """The station's label printer for a ``[printer]`` url and language."""
    from printer.client import NetworkLabelPrinter

    return NetworkLabelPrinter(url, language, timeout=timeout, lang=label_language)


def desk_for(
    cfg: StationConfig,
    *,
    projection: Callable[[], Projection],
    append: Append,
    printer: LabelPrinter | None = None,
) -> LabelDesk:
    """The label desk of a station config (``[printer]``, ``[station]``, ``[[people]]``);
    ``printer`` overrides the configured one (tests, the demo's simulated printer)."""

    p = cfg.printer
    if printer is None and not p.url:
        raise UsageError("no label printer: set [printer] url in the station config")
    return LabelDesk(
        printer or printer_for(p.url, p.language, timeout=p.timeout_s,
                               label_language=p.label_language),
        projection=projection,
        append=append,
        station=cfg.station.name or cfg.station.station_id,
        timezone=cfg.station.timezone,
        people=cfg.people,
        printer_name=p.url or "injected",
        language=p.language,
    )


def _caught_up(rt: Runtime) -> Projection:
    """The custody state with every entry folded in (the desk appends ``label.printed``
    itself, so the custody service catches up before the desk reads it)."""
    rt.custody.catch_up()
    return rt.custody.projection


class RuntimeLabels:
    """The label desk of a running station, for the step service and the kiosk.

    ``await labels.print_items(...)`` / ``await labels.print_missing(...)``: the label's
    content is read and its ``label.printed`` entry appended on the custody thread (like
    every other write); the printer is driven off it, so a slow or silent printer never
    holds up custody steps. Faults raise :class:`printer.errors.PrinterError`.
    """

    def __init__(self, rt: Runtime, printer: LabelPrinter | None = None) -> None:
        self.rt = rt
        self.desk = desk_for(
            rt.cfg,
            projection=lambda: _caught_up(rt),
            append=lambda kind, body, actor: rt.ledger.append(kind, body, actor=actor),
            printer=printer,
        )

    async def print_items(
        self, codes: Sequence[str], *, reason: str, actor: str, copies: int = 1
    ) -> PrintOutcome:
        """:meth:`LabelDesk.print_items`, with the printer driven off the custody thread."""
        if reason not in REASONS:
            raise UsageError(f"print reason {reason!r}: expected one of {', '.join(REASONS)}")
        labels = await self.rt.call(lambda: [self.desk.label_for(c) for c in codes])
        printed, seqs = [], []
        for label in labels:
            await asyncio.to_thread(self.desk.printer.print_label, label, copies)
            seq = await self.rt.call(self.desk.record, label, reason, actor, copies)
            self.rt.ledger_changed()
            printed.append(label.code)
            seqs.append(seq)
        return PrintOutcome(tuple(printed), tuple(seqs))

    async def print_missing(self, case_id: str, *, actor: str) -> PrintOutcome:
        """:meth:`LabelDesk.print_missing`: the case's items without a label yet."""
        missing = await self.rt.call(self.desk.missing, case_id)
        return await self.print_items(missing, reason="handover", actor=actor)
