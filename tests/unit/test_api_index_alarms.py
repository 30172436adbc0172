"""The API's derived index names each item of an alarm, whatever the alarm body's age."""

from __future__ import annotations

from api.index import references
from custody.alarms import alarm_body


def test_an_alarm_names_each_of_its_items() -> None:
    body = {"kind": "alarm.item_removed", "seq": 7,
            **alarm_body(compartment="A/3", items=["F2026-000001-X", "E2026-000002-Y"])}
    assert references(body).items == {"F2026-000001-X", "E2026-000002-Y"}


def test_an_old_alarm_with_comma_joined_labels_names_each_too() -> None:
    body = {"kind": "alarm.item_removed", "seq": 7, "compartment": "A/3",
            "item": "F2026-000001-X,E2026-000002-Y"}
    assert references(body).items == {"F2026-000001-X", "E2026-000002-Y"}
    assert references({"kind": "item.stored", "item": "F2026-000001-X"}).items == {
        "F2026-000001-X"}
