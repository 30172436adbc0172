"""The notices of case stages: a case deadline's ladder step, and the complainant's progress.

A ladder notice is in zh-CN (the catalogue's texts are): the case, its current stage, the
deadline in the station's time, and the next step (which document to submit, and to whom).
Its refs carry ``case_stage`` so the SMS texts (``notify.texts``) render it as a case notice.

A complainant's notice says only the case, its progress (accepted, filed, not filed with the
notice of the reason and its number, closed) and nothing internal: no officer, no stage
detail, no deadline.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from custody.domain.people import Complainant
from custody.domain.values import utc_text
from custody.ports import Notice
from custody.projection import CaseView
from custody.rules.case_matters import CaseMatter
from custody.stages import StageDef, StageRecord

#: what a complainant reads for each progress kind (zh-CN; the SMS texts have both)
PROGRESS_TEXT = {
    "accepted": "您的报案已受理",
    "filed": "已决定立案侦查",
    "not_filed": "经审查决定不予立案",
    "closed": "案件已办结",
}
_ROLE_TEXT = {
    "officer": "经办民警", "supervisor": "主管领导", "legal": "法制部门", "clerk": "保管员",
}


def case_ladder_notice(matter: CaseMatter, step: int, role: str, person: str,
                       stage_name: str, zone: ZoneInfo) -> Notice:
    """The notice for one ladder step of one case deadline to one person."""
    point = matter.point
    local = f"{matter.deadline.astimezone(zone):%Y-%m-%d %H:%M}"
    rung = point.ladder[step]
    state = "将于" if rung.at_ms < 0 else "已于"
    text = (
        f"案件{matter.case_id}，当前环节：{stage_name}。{point.name}期限{state}{local}届满"
        f"（依据：{point.article}）。下一步：{point.next_step}。"
        f"第{step + 1}级提醒（共{len(point.ladder)}级，{_ROLE_TEXT.get(role, role)}）。"
    )
    return Notice(
        key=f"{matter.key}:{step + 1}:{person}",
        role=role,
        person=person,
        subject=f"{point.name}：案件{matter.case_id}",
        text=text,
        refs={
            "rule": point.id,
            "rule_name": point.name,
            "case": matter.case_id,
            "case_stage": stage_name,
            "deadline": utc_text(matter.deadline),
            "step": str(step + 1),
            "next_step": point.next_step,
        },
    )


def stage_progress_notice(case: CaseView, complainant: Complainant, stage: StageDef,
                          record: StageRecord) -> Notice:
    """The complainant's notice of a stage that concerns them (``stage.complainant``)."""
    kind = stage.complainant
    text = f"{complainant.name}您好，案件{case.case_id}：{PROGRESS_TEXT[kind]}。"
    refs = {"case": case.case_id, "stage": kind, "name": complainant.name}
    if kind == "not_filed":
        # the notice of the reason is the complainant's own document: name it and its number
        text += f"不予立案的原因见《{record.document}》（{record.number}），如不服可申请复议。"
        refs["document"] = f"{record.document}（{record.number}）"
    # a complainant was told "received" when the case was registered (the registration is
    # the acceptance at this station): an accepted stage shares that notice's key, so they
    # are not told twice
    key = (f"progress:{case.case_id}:received" if kind == "accepted"
           else f"progress:{case.case_id}:{stage.id}")
    return Notice(
        key=key,
        role="complainant",
        person=complainant.contact,
        subject=f"案件进展（{case.case_id}）：{PROGRESS_TEXT[kind]}",
        text=text,
        refs=refs,
    )


def deadline_text(moment: datetime, zone: ZoneInfo) -> str:
    """A case deadline as the screens show it (station time)."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"
