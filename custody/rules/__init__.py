"""Custody rules: deadlines in the station's time zone, the risk-point catalogue and the
escalation ladder (see ``docs/custody.md``)."""

from __future__ import annotations

from custody.rules.catalogue import (
    STARTER_PATH,
    Catalogue,
    Category,
    LadderStep,
    RiskPoint,
    load_catalogue,
    parse_catalogue,
)
from custody.rules.deadlines import ReturnCalendar, handover_due
from custody.rules.durations import parse_duration, parse_duration_ms
from custody.rules.engine import Matter, RulesEngine, builtin_points

__all__ = [
    "STARTER_PATH",
    "Catalogue",
    "Category",
    "LadderStep",
    "Matter",
    "ReturnCalendar",
    "RiskPoint",
    "RulesEngine",
    "builtin_points",
    "handover_due",
    "load_catalogue",
    "parse_catalogue",
    "parse_duration",
    "parse_duration_ms",
]
