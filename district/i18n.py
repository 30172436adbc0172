"""The screen's words, Simplified Chinese (default) and English."""

from __future__ import annotations

LANGS = ("zh_CN", "en")

_T: dict[str, tuple[str, str]] = {
    "title": ("区法制部门 · 涉案财物监督", "District legal section · evidence supervision"),
    "signin": ("登录", "Sign in"),
    "token": ("令牌", "Token"),
    "signout": ("退出", "Sign out"),
    "bad_token": ("令牌无效或已吊销", "Unknown or revoked token"),
    "stations": ("各派出所", "Stations"),
    "station": ("派出所", "Station"),
    "checkpoint_age": ("最新检查点距今", "Last checkpoint age"),
    "cosigned": ("已见证大小", "Last cosigned size"),
    "lag": ("镜像滞后", "Mirror lag"),
    "size": ("日志大小", "Log size"),
    "status": ("状态", "State"),
    "ok": ("正常", "ok"),
    "fork": ("分叉", "FORK"),
    "silent": ("静默", "silent"),
    "failing": ("镜像失败", "mirror failing"),
    "escalations": ("逾期与升级事项", "Overdue items and open escalations"),
    "case": ("案件", "Case"),
    "item": ("物品", "Item"),
    "officer": ("民警", "Officer"),
    "deadline": ("期限", "Deadline"),
    "ladder": ("升级记录", "Ladder history"),
    "rule": ("规则", "Rule"),
    "missing": ("缺少升级通知", "escalation missing"),
    "case_deadlines": ("案件办理期限", "Case-stage deadlines"),
    "stage": ("办案环节", "Stage"),
    "next_step": ("下一步", "Next step"),
    "ladder_step": ("升级级别", "Ladder step"),
    "overdue": ("已逾期", "overdue"),
    "district_alarms": ("区级告警", "District alarms"),
    "station_alarms": ("派出所告警", "Station alarms"),
    "kind": ("类型", "Kind"),
    "detail": ("详情", "Detail"),
    "raised": ("时间", "Raised"),
    "search": ("搜索", "Search"),
    "search_hint": ("案件编号或物品标签", "case number or item label"),
    "results": ("结果", "Results"),
    "chain": ("保管链", "Chain of custody"),
    "seq": ("序号", "Seq"),
    "time": ("时间", "Time"),
    "entry": ("记录", "Entry"),
    "actor": ("操作人", "Actor"),
    "photos": ("照片", "Photos"),
    "none": ("无", "none"),
    "page": ("页", "page"),
    "prev": ("上一页", "previous"),
    "next": ("下一页", "next"),
    "sent": ("已发", "sent"),
    "not_sent": ("未发", "not sent"),
    "description": ("描述", "Description"),
    "state": ("状态", "State"),
    "title_case": ("案件名称", "Case title"),
    "forbidden": ("无权查看该派出所", "You may not read this station"),
    "role_legal": ("法制部门", "legal section"),
    "role_supervisor": ("所领导", "supervisor"),
    "dashboard": ("总览", "Overview"),
    "language": ("English", "中文"),
}


def translator(lang: str) -> dict[str, str]:
    """Every word in ``lang`` (``zh_CN`` or ``en``)."""
    i = 1 if lang == "en" else 0
    return {k: v[i] for k, v in _T.items()}
