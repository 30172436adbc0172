"""Risk points keyed on case stages: a statutory deadline that a recorded stage starts.

In the catalogue a point with ``stage`` (rather than an item ``state``) is a case point::

    [[category.point]]
    id = "arrest_application"
    name = "提请批准逮捕"
    stage = "detained"                 # the stage that starts the clock
    resolved_by = ["arrest_applied", "released", "bail", "surveillance"]
    deadline = "3d"                    # after the start stage took effect ("12mo": months)
    extensions = [                     # each an extension stage, itself recorded
      { stage = "detention_ext_7", deadline = "7d", approval = "县级以上公安机关负责人批准" },
    ]
    next_step = "制作提请批准逮捕书，报县级以上公安机关负责人批准后送同级人民检察院"
    article = "《刑事诉讼法》第九十一条"
    ladder = [ { role = "officer", at = "-1d" }, { role = "supervisor", at = "0" } ]

The point opens when its start stage is recorded and closes when any ``resolved_by`` stage
is; a recorded extension stage replaces the deadline by its own (counted from the same
start), so the deadline moves to exactly start + the extension's duration, and the ladder
starts again against it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from custody.errors import ConfigError
from custody.rules.durations import parse_duration_ms
from custody.stages import StageSet

if TYPE_CHECKING:  # the catalogue module imports this one
    from custody.rules.catalogue import LadderStep

_MONTHS = re.compile(r"^(\d{1,3})mo$")
_ID = re.compile(r"^[a-z0-9_]{1,64}$")
CASE_POINT_KEYS = {
    "id", "name", "description", "stage", "resolved_by", "deadline", "extensions",
    "next_step", "article", "ladder",
}


@dataclass(frozen=True)
class Span:
    """A deadline's length: whole calendar months (in the station's zone) or milliseconds."""

    months: int = 0
    ms: int = 0

    def after(self, start: datetime, zone: ZoneInfo) -> datetime:
        """The moment this span after ``start`` (months counted on the station's calendar;
        a day past the end of a short month becomes its last day)."""
        if not self.months:
            return start + _ms(self.ms)
        local = start.astimezone(zone)
        month0 = local.month - 1 + self.months
        year, month = local.year + month0 // 12, month0 % 12 + 1
        day = min(local.day, _month_days(year, month))
        return local.replace(year=year, month=month, day=day).astimezone(UTC)


def _ms(ms: int) -> timedelta:
    return timedelta(milliseconds=ms)


def _month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def parse_span(text: str) -> Span:
    """``"3d"``, ``"24h"``, ``"12mo"``: a positive span; a :class:`ConfigError` otherwise."""
    m = _MONTHS.match(text.strip())
    if m is not None:
        months = int(m.group(1))
        if months <= 0:
            raise ConfigError(f"a deadline must be longer than zero, got {text!r}")
        return Span(months=months)
    ms = parse_duration_ms(text)
    if ms <= 0 or text.strip().startswith(("+", "-")):
        raise ConfigError(f"a deadline must be a positive duration like '24h', '3d' or '12mo',"
                          f" got {text!r}")
    return Span(ms=ms)


@dataclass(frozen=True)
class Extension:
    """A recorded extension stage and the deadline it gives (from the point's start)."""

    stage: str
    span: Span
    approval: str


@dataclass(frozen=True)
class CasePoint:
    """A watched statutory deadline of a case. ``id`` is ``category.point``."""

    id: str
    category: str
    name: str
    stage: str
    resolved_by: tuple[str, ...]
    span: Span
    extensions: tuple[Extension, ...]
    next_step: str
    article: str
    ladder: tuple[LadderStep, ...]
    description: str = ""


def parse_case_point(category: str, raw: Mapping[str, Any], where: str,
                     stages: StageSet, ladder: Any) -> CasePoint:
    """Check one case point against the catalogue's stages; ``ladder`` parses its ladder."""
    unknown = set(raw) - CASE_POINT_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    pid = raw.get("id")
    if not isinstance(pid, str) or not _ID.match(pid):
        raise ConfigError(f"{where}: id {pid!r} must be lowercase letters, digits, _")
    where = f"{where} ({category}.{pid})"

    def text(key: str, default: str | None = None) -> str:
        value = raw.get(key, default)
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise ConfigError(f"{where}: '{key}' must be text")
        return value

    def known(stage: str, what: str) -> str:
        if stage not in stages:
            raise ConfigError(f"{where}: {what} names unknown stage {stage!r}")
        return stage

    start = known(text("stage"), "stage")
    resolved = raw.get("resolved_by")
    if not isinstance(resolved, list) or not resolved or not all(
        isinstance(s, str) for s in resolved
    ):
        raise ConfigError(f"{where}: 'resolved_by' must be a non-empty list of stage ids")
    for s in resolved:
        known(s, "resolved_by")
        if s == start:
            raise ConfigError(f"{where}: stage {s!r} cannot both start and resolve the point")
    try:
        span = parse_span(text("deadline"))
    except ConfigError as exc:
        raise ConfigError(f"{where}: deadline: {exc}") from None
    extensions: list[Extension] = []
    raw_ext = raw.get("extensions", [])
    if not isinstance(raw_ext, list):
        raise ConfigError(f"{where}: 'extensions' must be a list of tables")
    for i, ext in enumerate(raw_ext):
        if not isinstance(ext, dict) or set(ext) - {"stage", "deadline", "approval"}:
            raise ConfigError(f"{where}: extension {i} must be a table of stage, deadline,"
                              " approval")
        stage = ext.get("stage")
        approval = ext.get("approval")
        deadline = ext.get("deadline")
        if not (isinstance(stage, str) and isinstance(approval, str) and approval.strip()
                and isinstance(deadline, str)):
            raise ConfigError(f"{where}: extension {i} needs stage, deadline and approval text")
        known(stage, f"extension {i}")
        if stage == start or stage in resolved:
            raise ConfigError(f"{where}: extension {i} stage {stage!r} starts or resolves it")
        try:
            ext_span = parse_span(deadline)
        except ConfigError as exc:
            raise ConfigError(f"{where}: extension {i} deadline: {exc}") from None
        extensions.append(Extension(stage, ext_span, approval))
    return CasePoint(
        id=f"{category}.{pid}",
        category=category,
        name=text("name"),
        description=text("description", ""),
        stage=start,
        resolved_by=tuple(resolved),
        span=span,
        extensions=tuple(extensions),
        next_step=text("next_step"),
        article=text("article"),
        ladder=ladder(raw.get("ladder"), where),
    )
