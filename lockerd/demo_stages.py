"""The demo's case-deadline scene: a case goes from acceptance to detention to an arrest
application that comes late, and the ladder climbs officer -> supervisor -> legal section.

It plays after the day's nightly reconciliation. The case's stages are recorded through the
one step service, taking effect when they happened (accepted and filed three days ago, the
suspect detained two nights ago at 22:30, the 24-hour duties after it done in time), so the
3-day limit of the Criminal Procedure Law art. 91 runs out tomorrow night. The clock then
jumps a day at a time: tonight the officer is reminded, tomorrow night the supervisor is
told, the night after the legal section; each notice (and its SMS, through the simulated
modem) is in Chinese and names the next step. Then the officer records the arrest
application, late, and the deadline closes.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING

from custody.domain.people import Complainant
from custody.domain.values import ItemSpec
from custody.labels import make_label
from custody.stages import StageRecord
from lockerd.sms_demo import wait_texts

if TYPE_CHECKING:  # demo.py imports this module
    from lockerd.demo import Script

POINT = "detention.arrest_application"


async def case_deadline_scene(script: Script) -> None:
    """Play the scene on ``script`` (the demo's :class:`~lockerd.demo.Script`)."""
    case = script.cast.stage_case
    if case is None:
        return
    rt, cs, steps = script.rt, script.rt.custody, script.steps
    now = script.clock.now()
    labels = [make_label(i.kind, 2026, i.serial).text for i in case.items]
    await rt.call(
        cs.register_case, case.case_id, title=case.title, officer=case.officer,
        items=[ItemSpec(lb, i.kind, i.description, 1, now - timedelta(minutes=30))
               for lb, i in zip(labels, case.items, strict=True)],
        complainant=Complainant(case.complainant, case.complainant_phone),
    )
    officer = script.cast.name(case.officer)
    script.log(f"officer {officer} registers case {case.case_id} ({case.title})")
    for lb in labels:
        await script.scan(lb, "clerk-wang", case.case_id)
    checklist = dict.fromkeys(cs.settings.lawfulness_checklist, True)
    await steps.commit_handover("clerk-wang", case.case_id, checklist, "")
    await script.store("clerk-wang", case.case_id)

    # two nights ago at 22:30, station time
    detained_at = now.astimezone(cs.settings.zone).replace(
        hour=22, minute=30, second=0, microsecond=0) - timedelta(days=2)
    # (stage, document, number, when relative to the detention): the 24-hour duties after
    # a detention were done in time; the arrest application is what comes late
    history = (
        ("accepted", "受案登记表", "受案字〔2026〕301号", timedelta(hours=-30)),
        ("filed", "立案决定书", "立字〔2026〕301号", timedelta(hours=-20)),
        ("detained", "拘留证", "拘字〔2026〕301号", timedelta(0)),
        ("in_detention_house", "看守所收押回执", "收押字〔2026〕301号", timedelta(hours=2)),
        ("interrogated", "讯问笔录", "", timedelta(hours=10)),
        ("rights_informed", "讯问笔录（告知有权委托辩护人）", "", timedelta(hours=10)),
        ("family_notified", "拘留通知书", "拘通字〔2026〕301号", timedelta(hours=12)),
    )
    for stage, document, number, after in history:
        when = detained_at + after
        record: StageRecord = await steps.stages.record(
            case.officer, case.case_id, stage, document=document,
            number=number, effective_at=when)
        script.log(f"officer {officer} records stage {stage} of {case.case_id}: {document} "
                   f"{number}, effective {record.effective_at:%Y-%m-%d %H:%M}Z "
                   f"(seq {record.seq})")
    (row,) = [r for r in steps.stages.deadlines(case.officer) if r.point == POINT]
    script.log(f"case deadline: {row.point_name} by {row.deadline:%Y-%m-%d %H:%M}Z "
               f"({row.article}); next step: {row.next_step}")

    for days in (0, 1, 2):
        with contextlib.suppress(ValueError):  # never backwards
            script.clock.jump_to(detained_at + timedelta(days=2 + days, minutes=5))
        await script.tick()
        step = str(days + 1)
        sent = await rt.call(lambda step=step: [
            n for n in cs.projection.notices.values()
            if n.refs.get("rule") == POINT and n.refs.get("case") == case.case_id
            and n.refs.get("step") == step])
        for n in sent:
            script.log(f"  case notice -> {n.role} {n.person}: {n.text}")
        if not sent:
            script.problems.append(f"no step {days + 1} notice of {POINT}")

    record = await steps.stages.record(
        case.officer, case.case_id, "arrest_applied", document="提请批准逮捕书",
        number="提捕字〔2026〕301号")
    late_h = (script.clock.now() - row.deadline).total_seconds() / 3600
    script.log(f"officer {officer} records the arrest application LATE ({late_h:.0f} h after "
               f"the deadline; seq {record.seq})")
    left = [r for r in steps.stages.deadlines(case.officer) if r.point == POINT]
    script.log(f"case deadline {POINT} {'still open' if left else 'closed'}")
    # the complainant's three (received, items in custody, filed) and the ladder's three
    if script.modem is not None and not await wait_texts(script.modem, case.case_id, 6):
        script.problems.append(f"the six SMS about {case.case_id} did not all arrive")
