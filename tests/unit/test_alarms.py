"""The alarm desk: which cabinet events no flow explains."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from custody.alarms import alarm_body
from custody.ports import CabinetEvent, CabinetEventKind
from lockerd.alarms import AlarmDesk, AlarmRecord

K = CabinetEventKind
AT = datetime(2026, 11, 30, tzinfo=UTC)


def ev(kind: CabinetEventKind, comp: int | None = 3) -> CabinetEvent:
    return CabinetEvent(kind, "A", comp, AT, "detail")


def test_judgement_depends_on_claims() -> None:
    held = {"A/3": {"E2026-000002-X", "E2026-000001-X"}}
    desk = AlarmDesk(items_at=lambda where: held.get(where, set()))
    forced = desk.judge(ev(K.TAMPER))
    assert forced is not None and forced.kind == "alarm.door_forced"
    # the one alarm body: every item of the compartment, as a list
    assert forced.body == alarm_body(compartment="A/3", items=held["A/3"], event="tamper",
                                     detail="detail")
    assert forced.body["items"] == ["E2026-000001-X", "E2026-000002-X"]
    removed = desk.judge(ev(K.ITEM_REMOVED))
    assert removed is not None and removed.kind == "alarm.item_removed"
    desk.claim("A", 3, "check_out")
    assert desk.judge(ev(K.ITEM_REMOVED)) is None  # a check-out explains it
    assert desk.judge(ev(K.ITEM_PLACED)) is None
    assert desk.judge(ev(K.DOOR_OPENED)) is None
    left = desk.judge(ev(K.DOOR_LEFT_OPEN))
    assert left is not None and left.kind == "alarm.door_left_open"  # even during a flow
    desk.unclaim("A", 3)
    placed = desk.judge(ev(K.ITEM_PLACED))
    assert placed is not None and placed.kind == "alarm.item_placed"
    offline = desk.judge(ev(K.OFFLINE, None))
    assert offline is not None and offline.kind == "alarm.cabinet_offline"
    assert offline.body["compartment"] is None and offline.body["cabinet"] == "A"
    assert offline.body["items"] == []
    online = desk.judge(ev(K.ONLINE, None))
    assert online is not None and online.kind == "cabinet.online"
    assert desk.judge(ev(K.MISSED_EDGE, None)) is None


def test_records_are_written_in_order() -> None:
    async def main() -> list[str]:
        desk = AlarmDesk()
        written: list[str] = []

        async def write(rec: AlarmRecord) -> int:
            written.append(rec.kind)
            return len(written) - 1

        task = asyncio.create_task(desk.run(write))
        await desk.on_event(ev(K.TAMPER))
        await desk.on_event(ev(K.ITEM_REMOVED))
        desk.raise_alarm(AlarmRecord("alarm.wrong_compartment", {}))
        await desk.drain()
        task.cancel()
        return written

    assert asyncio.run(main()) == [
        "alarm.door_forced", "alarm.item_removed", "alarm.wrong_compartment"
    ]
