"""The SMS channel's state on the kiosk's status line (issue #15).

``lockerd`` hands the kiosk the SMS service's last status (``TerminalStation.sms_status``:
the same dict as ``/v1/health`` ``sms`` and the retained MQTT topic ``status/sms``:
``channel``, ``ready``, ``registered``, ``registration``, ``rssi``, ``dbm``,
``last_error``, ``queue``); :func:`sms_json` says it in the person's language, e.g.
"短信: 已注册 -71 dBm" / "SMS: registered -71 dBm", or "SMS: not registered".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from terminal.i18n import translate

#: queue states of notices not sent yet (notify.queue)
WAITING_STATES = ("queued", "sending")


def sms_json(status: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The status as the kiosk shows it: the fields, ``text`` and ``ok`` (False when
    notices cannot go out as things are: no modem answer, not registered, an error)."""
    queue = status.get("queue") or {}
    waiting = sum(int(queue.get(s, 0)) for s in WAITING_STATES)
    error = str(status.get("error") or status.get("last_error") or "")
    ok = True
    if not status:
        text = translate("sms.checking", lang)
    elif status.get("channel") == "modem" or "registered" in status:
        if not status.get("ready"):
            text, ok = translate("sms.not_ready", lang), False
        elif status.get("registered") is True:
            dbm = status.get("dbm")
            text = (translate("sms.registered", lang, dbm=dbm) if dbm is not None
                    else translate("sms.registered_no_signal", lang))
        elif status.get("registered") is False:
            text, ok = translate("sms.not_registered", lang,
                                 registration=status.get("registration") or "-"), False
        else:
            text = translate("sms.checking", lang)
    else:  # an HTTP gateway: only its last error tells
        text, ok = translate("sms.gateway", lang), not error
    if waiting:
        text += " · " + translate("sms.waiting", lang, count=waiting)
    if error and not ok:
        text += " · " + translate("sms.last_error", lang, error=error)
    return {
        "channel": status.get("channel"), "ready": status.get("ready"),
        "registered": status.get("registered"), "registration": status.get("registration"),
        "rssi": status.get("rssi"), "dbm": status.get("dbm"),
        "last_error": status.get("last_error"), "queue": dict(queue), "waiting": waiting,
        "ok": ok, "text": text,
    }
