"""``locker log publish``'s cosigning step: the station's ``[[witness]]`` list, read from
``DATA/config.toml``, asked to cosign the checkpoint just published (:mod:`witness.station`).

A witness that is down is reported and skipped: publishing never waits for one. An
``alarm.checkpoint_uncosigned`` found here is written to the ledger when no daemon holds
it (a running daemon writes the same alarm from its own cosign task).
"""

from __future__ import annotations

from pathlib import Path

from custody.ledger.errors import LedgerLockedError
from custody.ledger.ledger import Ledger
from lockerd import settings as conv
from lockerd.alarms import DAEMON_ACTOR
from lockerd.config import load_config
from witness.station import ALARM_UNCOSIGNED, RoundReport, gather, mark_alarmed, republish


def cosign_published(data_dir: Path) -> RoundReport | None:
    """One cosigning round for a station; ``None`` when it lists no witness."""
    config = data_dir / "config.toml"
    if not config.is_file():
        return None
    settings = conv.cosign_settings(load_config(config))
    if not settings.witnesses:
        return None
    report = gather(data_dir, settings)
    if report.alarms:
        try:
            with Ledger.open(data_dir) as ledger:
                for alarm in report.alarms:
                    ledger.append(ALARM_UNCOSIGNED, alarm.body, actor=DAEMON_ACTOR)
                    mark_alarmed(data_dir, alarm)
        except LedgerLockedError:
            pass  # the daemon is running: its cosign task writes the alarm
    if report.new_cosignatures:
        republish(data_dir)
    return report
