"""The daemon's notices in the station's language.

The custody service writes each notice (``notice.sent``) with an English subject and text
and machine-readable ``refs``. Before a notice goes out (MQTT ``notify/<role>/<person>``,
then an SMS gateway), the daemon can put it into the reader's language::

    from terminal.i18n.notices import localise_notice
    subject, text = localise_notice(notice, "zh_CN", zone=ZoneInfo("Asia/Shanghai"))

Known notices (the ladders of the 24-hour handover and the daily return, the complainant's
progress notices, the handover-discrepancy flag) are rebuilt from their refs with the
``notice.*`` texts of the translation files; any other notice (a catalogue risk point) keeps
its own subject and text, with a translated prefix naming its escalation step.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from custody.domain.roles import NOTICE_ROLES
from custody.ports import Notice
from terminal.i18n import translate


def _local(deadline: str, zone: ZoneInfo) -> str:
    try:
        moment = datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    except ValueError:
        return deadline
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


def localise_notice(
    notice: Notice, lang: str, *, zone: ZoneInfo | None = None
) -> tuple[str, str]:
    """(subject, text) of a notice in ``lang``."""
    refs = notice.refs
    zone = zone or ZoneInfo("Asia/Shanghai")
    rule = refs.get("rule")
    if rule in ("handover", "return") and "item" in refs:
        params = {
            "item": refs["item"], "case": refs.get("case", ""),
            "deadline": _local(refs.get("deadline", ""), zone), "step": refs.get("step", ""),
            "role": translate(f"notice.role.{notice.role}", lang)
            if notice.role in NOTICE_ROLES else notice.role,
        }
        return (translate(f"notice.{rule}.subject", lang, **params),
                translate(f"notice.{rule}.text", lang, **params))
    stage = refs.get("stage")
    if notice.role == "complainant" and stage in ("received", "handed_over", "disposed",
                                                         "released"):
        params = {"case": refs.get("case", ""), "name": refs.get("name", "")}
        return (translate(f"notice.progress.{stage}.subject", lang, **params),
                translate(f"notice.progress.{stage}.text", lang, **params))
    if "handover_seq" in refs:
        params = {"case": refs.get("case", "")}
        return (translate("notice.discrepancy.subject", lang, **params),
                translate("notice.discrepancy.text", lang, **params) + "\n" + notice.text)
    step = refs.get("step")
    if step:
        prefix = translate("notice.step_prefix", lang, step=step)
        return f"{prefix} {notice.subject}", notice.text
    return notice.subject, notice.text
